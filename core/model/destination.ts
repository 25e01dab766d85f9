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
    scope: z.string().min(1).max(1024).default('system/Observation.write system/Device.write system/Device.read system/Observation.read'),
    /** SMART Backend Services requires servers to support RS384 and ES384. */
    alg: z.enum(['RS384', 'ES384']),
    privateKey,
    keyId: z.string().min(1).max(256).optional(),
  }),
]);
export type DestinationAuth = z.infer<typeof destinationAuth>;

/** How our (opaque) patient id becomes the EHR's Patient in `subject` and `performer`. */
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
    /** The identifier system under which the EHR knows our patient ids (a logical reference). */
    system: z.string().min(1).max(256),
  }),
]);
export type PatientMapping = z.infer<typeof patientMapping>;

export const createDestinationInput = z.object({
  id: entityId,
  organizationId: entityId,
  baseUrl: httpUrl.describe('FHIR R4 base URL, e.g. https://ehr.example.org/fhir'),
  auth: destinationAuth,
  patientMapping: patientMapping.default({ type: 'reference', template: 'Patient/{patientId}' }),
  kinds: z.array(z.enum(READING_KINDS)).min(1).optional().describe('Reading kinds to forward; default all'),
  enabled: z.boolean().default(true),
  batchSize: z.number().int().min(1).max(1000).optional().describe('Observations per batch Bundle; 1 sends each on its own. Default RPM_FHIR_BATCH_SIZE'),
});
export type CreateDestinationInput = z.infer<typeof createDestinationInput>;

export const updateDestinationInput = z.object({
  baseUrl: httpUrl.optional(),
  auth: destinationAuth.optional(),
  patientMapping: patientMapping.optional(),
  kinds: z.array(z.enum(READING_KINDS)).min(1).optional(),
  enabled: z.boolean().optional(),
  batchSize: z.number().int().min(1).max(1000).nullable().optional().describe('null: back to RPM_FHIR_BATCH_SIZE'),
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
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/**
 * Where a delivery stands. `pending`: not tried yet; `failed`: tried, failed transiently, retried
 * at `nextAttemptAtMs`; `delivered`: the EHR holds it; `dead`: the EHR refused it as invalid
 * (dead letter, kept with the EHR's OperationOutcome until an operator retries it).
 */
export const DELIVERY_STATUSES = ['pending', 'failed', 'delivered', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
