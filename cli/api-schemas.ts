import { z } from 'zod';

/*
 * What the admin API answers (gateway/http/admin-routes.ts). Answers are checked so that a wrong
 * --url (some other server) fails loudly instead of printing nonsense; looseObject keeps fields
 * added by a newer gateway so --json passes them through.
 */

export const patientView = z.looseObject({ id: z.string(), organizationId: z.string().nullable(), createdAt: z.string() });
export type PatientMoveView = z.infer<typeof patientMoveView>;
export const patientMoveView = z.looseObject({
  id: z.string(),
  organizationId: z.string().nullable(),
  previousOrganizationId: z.string().nullable(),
  careTeamsLeft: z.array(z.string()),
  alertsMoved: z.number(),
  devicesKept: z.number(),
});
export type PatientView = z.infer<typeof patientView>;

export const assignmentView = z.looseObject({ patientId: z.string(), from: z.string(), to: z.string().nullable() });
export type AssignmentView = z.infer<typeof assignmentView>;

export const deviceView = z.looseObject({
  id: z.string(),
  kind: z.string(),
  manufacturer: z.string().nullable(),
  model: z.string().nullable(),
  serial: z.string().nullable(),
  hubId: z.string().nullable(),
  status: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
  online: z.boolean(),
  patientId: z.string().nullable(),
});
export type DeviceView = z.infer<typeof deviceView>;

export const createdDevice = deviceView.extend({ secret: z.string() });
export type CreatedDevice = z.infer<typeof createdDevice>;

export const deviceDetails = deviceView.extend({ assignments: z.array(assignmentView) });
export type DeviceDetails = z.infer<typeof deviceDetails>;

export const deviceList = z.looseObject({ devices: z.array(deviceView), next: z.string().nullable() });
export type DeviceList = z.infer<typeof deviceList>;

export const assignResult = assignmentView.extend({ attributedReadings: z.number() });
export type AssignResult = z.infer<typeof assignResult>;

export const unassignResult = z.looseObject({ ended: assignmentView.nullable() });
export type UnassignResult = z.infer<typeof unassignResult>;

export const rotateResult = z.looseObject({ id: z.string(), secret: z.string(), previousSecretValidUntil: z.string() });
export type RotateResult = z.infer<typeof rotateResult>;

export const rejection = z.looseObject({
  receivedAt: z.string(),
  transport: z.string(),
  code: z.string(),
  path: z.string().nullable(),
  message: z.string(),
  clientId: z.string().nullable(),
  payloadSha256: z.string().nullable(),
});
export const rejectionList = z.looseObject({ rejections: z.array(rejection) });
export type RejectionList = z.infer<typeof rejectionList>;

/** RFC 9457 problem details as the gateway sends them (gateway/http/problem.ts). */
export const problem = z.looseObject({ code: z.string(), detail: z.string().optional(), title: z.string().optional(), status: z.number().optional() });

export const organizationView = z.looseObject({ id: z.string(), name: z.string(), createdAt: z.string() });
export type OrganizationView = z.infer<typeof organizationView>;

export const staffView = z.looseObject({
  id: z.string(),
  email: z.string(),
  role: z.string(),
  organizationId: z.string(),
  displayName: z.string().nullable(),
  status: z.string(),
});
export type StaffView = z.infer<typeof staffView>;

/** FHIR destinations (gateway/http/fhir-admin-routes.ts); credentials are never in an answer. */
export const destinationView = z.looseObject({
  id: z.string(),
  organizationId: z.string(),
  baseUrl: z.string(),
  auth: z.looseObject({ type: z.string() }),
  patientMapping: z.looseObject({ type: z.string() }),
  kinds: z.array(z.string()),
  enabled: z.boolean(),
  batchSize: z.number().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DestinationView = z.infer<typeof destinationView>;

export const destinationList = z.looseObject({ destinations: z.array(destinationView) });
export type DestinationList = z.infer<typeof destinationList>;

export const destinationStatus = destinationView.extend({
  deliveries: z.looseObject({ pending: z.number(), failed: z.number(), delivered: z.number(), dead: z.number() }),
  oldestWaitingSince: z.string().nullable(),
  circuit: z.looseObject({ state: z.string(), consecutiveFailures: z.number(), reopensAt: z.string().nullable() }).nullable(),
  batching: z.looseObject({ configured: z.number(), current: z.number(), reason: z.string().nullable() }).nullable(),
  server: z.looseObject({ interaction: z.string(), batch: z.boolean() }).nullable(),
});
export type DestinationStatus = z.infer<typeof destinationStatus>;

export const backfillResult = z.looseObject({ queued: z.number(), kinds: z.array(z.string()) });
export type BackfillResult = z.infer<typeof backfillResult>;
const detailValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** An audit entry as /v1/admin/audit/export answers it: every field the hash covers, and the chain. */
export const auditEntry = z.looseObject({
  seq: z.number().int(),
  atMs: z.number(),
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  outcome: z.enum(['success', 'denied', 'error']),
  sourceIp: z.string().nullable(),
  details: z.record(z.string(), detailValue).nullable(),
  patientIds: z.array(z.string()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntryView = z.infer<typeof auditEntry>;
export const auditPage = z.looseObject({ entries: z.array(auditEntry), next: z.number().int().nullable() });
export type AuditPage = z.infer<typeof auditPage>;
export const auditHead = z.looseObject({ seq: z.number().int(), hash: z.string(), anchor: z.string() });
export type AuditHeadView = z.infer<typeof auditHead>;
export const fhirBundle = z.looseObject({ resourceType: z.literal('Bundle'), entry: z.array(z.unknown()).optional(), link: z.array(z.looseObject({ relation: z.string(), url: z.string() })).optional() });
export type FhirBundleView = z.infer<typeof fhirBundle>;
