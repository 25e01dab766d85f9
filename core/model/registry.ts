import { RpmError } from '../errors/rpm-error.js';
import { z } from 'zod';
import type { ReadingKind } from './reading-kinds.js';

/** Ids are opaque references chosen by the operator; they must be safe in URLs and MQTT topics. */
export const entityId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - (no slashes, spaces, + or #)');

export const DEVICE_KINDS = [
  'bp-cuff',
  'pulse-oximeter',
  'scale',
  'glucometer',
  'cgm',
  'thermometer',
  'heart-rate-monitor',
  'multi-parameter',
  'hub',
] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** What each device kind is expected to measure; anything else is stored but flagged. */
export const DEVICE_KIND_MEASURES: Readonly<Record<DeviceKind, readonly ReadingKind[] | 'any'>> = {
  'bp-cuff': ['blood-pressure', 'heart-rate'],
  'pulse-oximeter': ['spo2', 'heart-rate'],
  scale: ['body-weight'],
  glucometer: ['blood-glucose'],
  cgm: ['blood-glucose'],
  thermometer: ['body-temperature'],
  'heart-rate-monitor': ['heart-rate', 'respiratory-rate'],
  'multi-parameter': 'any',
  hub: 'any',
};

export const createPatientInput = z.object({
  id: entityId,
  organizationId: entityId.optional(),
});
export type CreatePatientInput = z.infer<typeof createPatientInput>;

export const createDeviceInput = z.object({
  id: entityId,
  kind: z.enum(DEVICE_KINDS),
  patientId: entityId.optional().describe('Assign to this patient from now (or from `assignedFrom`)'),
  assignedFrom: z.iso.datetime({ offset: true }).optional(),
  manufacturer: z.string().max(128).optional(),
  model: z.string().max(128).optional(),
  serial: z.string().max(128).optional(),
  hubId: entityId.optional().describe('The hub that relays this device, if any'),
  simulated: z.boolean().optional().describe('A simulator or test rig: its readings reach EHRs tagged as test data (HTEST). Default false'),
});
export type CreateDeviceInput = z.infer<typeof createDeviceInput>;

export const assignDeviceInput = z.object({
  patientId: entityId,
  from: z.iso.datetime({ offset: true }).optional().describe('Start of the assignment; defaults to now'),
});

export const unassignDeviceInput = z.object({
  at: z.iso.datetime({ offset: true }).optional().describe('End of the current assignment; defaults to now'),
});

export const rotateSecretInput = z.object({
  graceSeconds: z.number().int().min(0).max(30 * 86_400).optional().describe('How long the old secret keeps working'),
});

export interface Patient {
  readonly id: string;
  readonly organizationId: string | null;
  readonly createdAtMs: number;
}

export type DeviceStatus = 'active' | 'revoked';

/** A device's battery as a reading reported it: percent, and when that reading was measured. */
export interface BatteryLevel {
  readonly percent: number;
  readonly atMs: number;
}

export interface Device {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly serial: string | null;
  readonly hubId: string | null;
  /** Simulated or test device: forwarded data is tagged as test data (FHIR meta.security HTEST). */
  readonly simulated: boolean;
  readonly status: DeviceStatus;
  readonly createdAtMs: number;
  readonly revokedAtMs: number | null;
  readonly lastSeenAtMs: number | null;
  readonly online: boolean;
  /** Battery level from the newest reading (by measurement time) that carried one. */
  readonly battery: BatteryLevel | null;
}

/** A device belongs to one patient over [fromMs, toMs); toMs null means open-ended. */
export interface Assignment {
  readonly deviceId: string;
  readonly patientId: string;
  readonly fromMs: number;
  readonly toMs: number | null;
}

/** What a new assignment does to a device's history (see `planAssignment`). */
export type AssignmentPlan =
  /** The open assignment already gives the device to that patient from then on: nothing to write. */
  | { readonly kind: 'unchanged'; readonly current: Assignment }
  /** Open a new assignment at `fromMs`, closing `closes` (the open one, if any) there. */
  | { readonly kind: 'open'; readonly closes: Assignment | undefined };

/**
 * The assignment-history rule every RegistryStore applies inside its write transaction, given the
 * device's whole history: history is immutable, so a new assignment may only start after every
 * earlier start and not inside a closed interval (RPM_ERR_ASSIGNMENT_CONFLICT); reassigning the
 * open assignment's patient from a later instant changes nothing.
 */
export function planAssignment(history: readonly Assignment[], next: { readonly patientId: string; readonly fromMs: number }): AssignmentPlan {
  const open = history.find((h) => h.toMs === null);
  if (open !== undefined && open.patientId === next.patientId && open.fromMs <= next.fromMs) return { kind: 'unchanged', current: open };
  for (const h of history) {
    if (next.fromMs <= h.fromMs || (h.toMs !== null && next.fromMs < h.toMs)) {
      throw new RpmError('RPM_ERR_ASSIGNMENT_CONFLICT', 'the new assignment would overlap or precede the existing history');
    }
  }
  return { kind: 'open', closes: open };
}

/** A device credential. Only a slow hash of the secret is ever stored. */
export interface Credential {
  readonly id: string;
  readonly deviceId: string;
  readonly secretHash: string;
  readonly createdAtMs: number;
  /** After this instant the credential no longer authenticates (rotation grace), null = no expiry. */
  readonly expiresAtMs: number | null;
  readonly revokedAtMs: number | null;
}
