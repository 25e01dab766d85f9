import { z } from 'zod';
import { READING_KINDS, type ReadingKind } from './reading-kinds.js';
import { entityId } from './registry.js';

/**
 * FHIR destinations: the EHRs an organization's readings are forwarded to, as R4 Observations.
 * One organization may have several; each chooses the reading kinds it receives.
 */

/** PKCS#8 PEM or a private JWK; checked loosely here, imported by the connector on first use. */
const privateKey = z.union([
  z
    .string()
    .max(16_384)
    .regex(/-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/, 'a PKCS#8 PEM private key'),
  z.looseObject({ kty: z.enum(['RSA', 'EC']), d: z.string().min(1) }),
]);

const httpUrl = z.url({ protocol: /^https?$/ });

/** How the gateway authenticates to the FHIR server. Secrets are write-only: no answer ever echoes them. */
export const destinationAuth = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('basic'), username: z.string().min(1).max(256), password: z.string().min(1).max(1024) }),
  z.object({ type: z.literal('bearer'), token: z.string().min(1).max(8192) }),
  z.object({
    type: z.literal('smart-backend'),
    clientId: z.string().min(1).max(256),
    /** Discovered from `{baseUrl}/.well-known/smart-configuration` when absent. */
    tokenUrl: httpUrl.optional(),
    scope: z.string().min(1).max(1024).default('system/Observation.write system/Device.write system/Device.read system/Observation.read system/Patient.read'),
    /** SMART Backend Services requires servers to support RS384 and ES384. */
    alg: z.enum(['RS384', 'ES384']),
    privateKey,
    keyId: z.string().min(1).max(256).optional(),
  }),
]);
export type DestinationAuth = z.infer<typeof destinationAuth>;

/** A FHIR identifier system: a URI (`urn:oid:…`, `https://…/mrn`). */
const identifierSystem = z.string().min(1).max(256).regex(/^[a-z][a-z0-9+.-]*:\S+$/i, 'a URI, e.g. urn:oid:1.2.36.146.595.217.0.1 or https://ehr.example.org/mrn');

/**
 * How our (opaque) patient becomes the EHR's Patient in `subject` and `performer`. The value
 * looked up under `system` is the patient's identifier at this destination (its MRN) when an
 * admin set one (`PUT …/patients/{patientId}`), else our patient id. An admin-set reference
 * (`Patient/{id}`) wins in every mode.
 */
export const patientMapping = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('reference'),
    /** `{patientId}` is replaced by our patient id, e.g. `Patient/{patientId}`. */
    template: z
      .string()
      .max(256)
      .regex(/^Patient\/[A-Za-z0-9.-]*\{patientId\}[A-Za-z0-9.-]*$/, 'Patient/…{patientId}…')
      .default('Patient/{patientId}'),
  }),
  z.object({
    type: z.literal('identifier'),
    /** A logical reference (`subject.identifier`): the EHR resolves it, or keeps it as it is. */
    system: identifierSystem,
  }),
  z.object({
    type: z.literal('search'),
    /** `GET Patient?identifier={system}|{value}` once per patient; the Patient found is kept. */
    system: identifierSystem,
  }),
  z.object({
    type: z.literal('conditional'),
    /** A conditional reference `Patient?identifier={system}|{value}`, resolved by the EHR on write. */
    system: identifierSystem,
  }),
  z.object({
    /** Only patients an admin mapped to a Patient (`reference`) are sent; the others wait as dead letters. */
    type: z.literal('explicit'),
  }),
]);
export type PatientMapping = z.infer<typeof patientMapping>;

/** Staff id → the EHR's Practitioner reference ("Practitioner/<id>"): how a destination knows our staff. */
export const practitionerMap = z
  .record(z.string().min(1).max(128), z.string().regex(/^Practitioner\/[A-Za-z0-9\-.]{1,64}$/, 'Practitioner/<id>'))
  .refine((m) => Object.keys(m).length <= 5000, 'at most 5000 staff members');

export const createDestinationInput = z.object({
  id: entityId,
  organizationId: entityId,
  baseUrl: httpUrl.describe('FHIR R4 base URL, e.g. https://ehr.example.org/fhir'),
  auth: destinationAuth,
  patientMapping: patientMapping.default({ type: 'reference', template: 'Patient/{patientId}' }),
  kinds: z.array(z.enum(READING_KINDS)).min(1).optional().describe('Reading kinds to forward; default all'),
  enabled: z.boolean().default(true),
  batchSize: z.number().int().min(1).max(1000).optional().describe('Observations per batch Bundle; 1 sends each on its own. Default RPM_FHIR_BATCH_SIZE'),
  appointments: z.boolean().default(false).describe("Also send the organization's visits as FHIR Appointments (booked, moved, cancelled, no-show)"),
  encounters: z.boolean().default(false).describe("Also send the organization's video visits as FHIR Encounters (class VR virtual; in-progress, finished, cancelled)"),
  practitioners: practitionerMap.default({}).describe('How this EHR knows our staff: staff id → its Practitioner reference (e.g. "Practitioner/8841"); a staff member not named is sent as a display without PHI'),
});
export type CreateDestinationInput = z.infer<typeof createDestinationInput>;

export const updateDestinationInput = z.object({
  baseUrl: httpUrl.optional(),
  auth: destinationAuth.optional(),
  patientMapping: patientMapping.optional(),
  kinds: z.array(z.enum(READING_KINDS)).min(1).optional(),
  enabled: z.boolean().optional(),
  batchSize: z.number().int().min(1).max(1000).nullable().optional().describe('null: back to RPM_FHIR_BATCH_SIZE'),
  appointments: z.boolean().optional(),
  encounters: z.boolean().optional(),
  practitioners: practitionerMap.optional().describe('Replaces the whole map'),
});
export type UpdateDestinationInput = z.infer<typeof updateDestinationInput>;

export interface Destination {
  readonly id: string;
  readonly organizationId: string;
  readonly baseUrl: string;
  readonly auth: DestinationAuth;
  readonly patientMapping: PatientMapping;
  readonly kinds: readonly ReadingKind[];
  readonly enabled: boolean;
  /** null: the gateway default (RPM_FHIR_BATCH_SIZE). */
  readonly batchSize: number | null;
  /** Also takes the organization's visits as FHIR Appointments (absent: no). */
  readonly appointments?: boolean;
  /** Also takes the organization's video visits as FHIR Encounters (absent: no). */
  readonly encounters?: boolean;
  /** Staff id → the EHR's Practitioner reference (absent or missing: not known there). */
  readonly practitioners?: Readonly<Record<string, string>>;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/**
 * Where a delivery stands. `pending`: not tried yet; `failed`: tried, failed transiently, retried
 * at `nextAttemptAtMs`; `delivered`: the EHR holds it; `dead`: the EHR refused it as invalid
 * (dead letter, kept with the EHR's OperationOutcome until an operator retries it).
 */
/** How one destination's EHR knows one of our patients. */
export interface PatientLink {
  readonly destinationId: string;
  readonly patientId: string;
  /** The patient's identifier value under the destination's system (e.g. the MRN), set by an admin. */
  readonly identifier: string | null;
  /** The EHR's Patient (`Patient/{id}`). */
  readonly reference: string | null;
  /** Who said so: an admin, or a search by identifier (cached). */
  readonly referenceSource: 'admin' | 'search' | null;
  readonly updatedAtMs: number;
}

export const patientLinkInput = z
  .object({
    identifier: z.string().min(1).max(256).nullable().optional().describe("The patient's identifier value (e.g. MRN) under the destination's system; null clears it"),
    reference: z
      .string()
      .regex(/^Patient\/[A-Za-z0-9\-.]{1,64}$/, 'Patient/{id}')
      .nullable()
      .optional()
      .describe("The EHR's Patient; null clears it"),
  })
  .refine((v) => v.identifier !== undefined || v.reference !== undefined, 'give identifier and/or reference');
export type PatientLinkInputBody = z.infer<typeof patientLinkInput>;

/** "Send this destination everything since T": readings committed before it existed, while a kind was off, … */
export const backfillInput = z.object({
  since: z.iso.datetime({ offset: true }).describe('Readings measured at or after this instant'),
  until: z.iso.datetime({ offset: true }).optional().describe('… and before this one (default: now)'),
  kinds: z.array(z.enum(READING_KINDS)).min(1).optional().describe("Default: the destination's kinds"),
});
export type BackfillInput = z.infer<typeof backfillInput>;

export const DELIVERY_STATUSES = ['pending', 'failed', 'delivered', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
