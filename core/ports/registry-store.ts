import type { Assignment, BatteryLevel, Credential, Device, DeviceKind, Patient } from '../model/registry.js';

/**
 * Patients, devices, device credentials and the device-to-patient assignment history.
 *
 * Guarantees (checked by core/contract/registry-store.contract.ts):
 * - Creating an id that exists fails with RPM_ERR_PATIENT_EXISTS / RPM_ERR_DEVICE_EXISTS.
 * - A device's assignments never overlap; a new assignment closes the open one at its start.
 *   Reassignment keeps the history.
 * - Credentials are never deleted: expiry and revocation are recorded instants.
 */
export interface RegistryStore {
  createPatient(patient: NewPatient): Promise<Patient>;
  getPatient(id: string): Promise<Patient | undefined>;
  /**
   * Moves the patient to another organization (or none); answers the patient before and after,
   * undefined for an unknown patient. Setting the organization it already has changes nothing.
   */
  setPatientOrganization(id: string, organizationId: string | null): Promise<{ readonly before: Patient; readonly after: Patient } | undefined>;
  /** Creates the device with its first credential and, optionally, its first assignment, atomically. */
  createDevice(device: NewDevice, credential: NewCredential, assignment?: NewAssignment): Promise<Device>;
  getDevice(id: string): Promise<Device | undefined>;
  listDevices(options: { limit: number; afterId?: string }): Promise<Device[]>;
  /** The whole assignment history of a device, oldest first. */
  assignments(deviceId: string): Promise<Assignment[]>;
  /** Every assignment to a patient (current and past, of any device), oldest first. */
  assignmentsOfPatient(patientId: string): Promise<Assignment[]>;
  /** Opens an assignment at `fromMs`, closing the open one there. Fails with RPM_ERR_ASSIGNMENT_CONFLICT if it would rewrite history. */
  assign(assignment: NewAssignment): Promise<Assignment>;
  /** Closes the open assignment at `atMs`. Returns it, or undefined if there was none. */
  unassign(deviceId: string, atMs: number): Promise<Assignment | undefined>;
  /** Adds a credential; every other live credential of the device expires at `othersExpireAtMs` (if earlier). */
  addCredential(credential: NewCredential, othersExpireAtMs: number): Promise<void>;
  findCredential(id: string): Promise<Credential | undefined>;
  /**
   * Replaces a credential's stored secret hash, only if it still is `expected` (a compare-and-set:
   * a rotation, revocation or another gateway's rewrite in between wins). Answers whether it
   * replaced it. Used to move a hash to the current format on its first successful use.
   */
  replaceCredentialHash(id: string, expected: string, replacement: string): Promise<boolean>;
  credentialsOf(deviceId: string): Promise<Credential[]>;
  /** Revokes the device and all its credentials at once. */
  revokeDevice(deviceId: string, atMs: number): Promise<void>;
  /** Connection status and last-seen times, applied in one write. */
  recordPresence(updates: readonly PresenceUpdate[]): Promise<void>;
  close(): Promise<void>;
}

export interface NewPatient {
  readonly id: string;
  readonly organizationId: string | null;
  readonly createdAtMs: number;
}

export interface NewDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly serial: string | null;
  readonly hubId: string | null;
  /** Default false. */
  readonly simulated?: boolean;
  readonly createdAtMs: number;
}

export interface NewCredential {
  readonly id: string;
  readonly deviceId: string;
  readonly secretHash: string;
  readonly createdAtMs: number;
}

export interface NewAssignment {
  readonly deviceId: string;
  readonly patientId: string;
  readonly fromMs: number;
}

export interface PresenceUpdate {
  readonly deviceId: string;
  /** Omitted: leave the last-seen time as it is. */
  readonly lastSeenAtMs?: number;
  /** Omitted: leave the online flag as it is. */
  readonly online?: boolean;
  /** A battery level measured at `atMs`; kept only if newer than the stored one. */
  readonly battery?: BatteryLevel;
}
