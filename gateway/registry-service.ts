import { RpmError } from '../core/errors/rpm-error.js';
import type { ReadingKind } from '../core/model/reading-kinds.js';
import type { Assignment, CreateDeviceInput, CreatePatientInput, Device, Patient } from '../core/model/registry.js';
import type { Clock } from '../core/ports/clock.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import type { RegistryStore } from '../core/ports/registry-store.js';
import type { Attribution } from '../pipeline/alerting-service.js';
import type { DeviceDirectory } from '../pipeline/device-directory.js';
import type { DeviceAuthenticator } from './auth/device-authenticator.js';
import { type DeviceSecretHasher, issueSecret } from './auth/device-secret.js';

/**
 * A device's first assignment, when no start is given, reaches back to the beginning: the
 * device had no other owner, and readings it buffered before being registered (or sent while
 * unassigned) belong to this patient. Later reassignments start now unless told otherwise.
 */
export const FIRST_ASSIGNMENT_FROM_MS = 0;

export type CredentialsChangedListener = (deviceId: string) => void;
/** Readings a device sent while unassigned now belong to a patient (they are evaluated late). */
export type AttributedListener = (attribution: Attribution) => Promise<void>;

/** Where readings attributed late go (FHIR forwarding): the patient's destinations with their kinds. */
export interface AttributionForwarding {
  destinationsFor(patientId: string): Promise<readonly { readonly destinationId: string; readonly kinds: readonly ReadingKind[] }[]>;
}

export interface DeviceWithSecret {
  readonly device: Device;
  /** Shown once; only its keyed hash is stored (auth/device-secret.ts). */
  readonly secret: string;
}

/**
 * Administration of patients, devices, credentials and assignments. Every change passes
 * here so the caches (directory, verified secrets) and open MQTT sessions learn of it at once.
 */
export class RegistryService {
  private readonly listeners: CredentialsChangedListener[] = [];
  private readonly attributedListeners: AttributedListener[] = [];
  private readonly deviceListeners: Array<(deviceId: string, credentials: boolean) => void> = [];

  constructor(
    private readonly registry: RegistryStore,
    private readonly readings: ReadingStore,
    private readonly directory: DeviceDirectory,
    private readonly authenticator: DeviceAuthenticator,
    private readonly hasher: DeviceSecretHasher,
    private readonly clock: Clock,
    private readonly rotationGraceMs: number,
    private readonly forwarding?: AttributionForwarding,
  ) {}

  /** Called when a device's credentials were revoked or set to expire (MQTT closes sessions). */
  onCredentialsChanged(listener: CredentialsChangedListener): void {
    this.listeners.push(listener);
  }

  onAttributed(listener: AttributedListener): void {
    this.attributedListeners.push(listener);
  }

  /** Hears every change to a device made here (the distributed mode tells the other gateways). */
  onDeviceChanged(listener: (deviceId: string, credentials: boolean) => void): void {
    this.deviceListeners.push(listener);
  }

  /**
   * A device changed in another process of the cluster: forget what is cached here, and for a
   * credential change re-check this process's open sessions of the device, as for a local change.
   */
  remoteDeviceChanged(deviceId: string, credentials: boolean): void {
    this.directory.invalidate(deviceId);
    if (!credentials) return;
    this.authenticator.forgetDevice(deviceId);
    for (const l of this.listeners) l(deviceId);
  }

  private deviceChanged(deviceId: string, credentials: boolean): void {
    for (const l of this.deviceListeners) l(deviceId, credentials);
  }

  createPatient(input: CreatePatientInput): Promise<Patient> {
    return this.registry.createPatient({ id: input.id, organizationId: input.organizationId ?? null, createdAtMs: this.clock.now() });
  }

  getPatient(id: string): Promise<Patient | undefined> {
    return this.registry.getPatient(id);
  }

  async createDevice(input: CreateDeviceInput): Promise<DeviceWithSecret> {
    const now = this.clock.now();
    if (input.patientId !== undefined && (await this.registry.getPatient(input.patientId)) === undefined) {
      throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${input.patientId}' not found`, { path: '/patientId' });
    }
    if (input.hubId !== undefined) {
      const hub = await this.registry.getDevice(input.hubId);
      if (hub === undefined || hub.kind !== 'hub') {
        throw new RpmError('RPM_ERR_DEVICE_NOT_FOUND', `hub '${input.hubId}' not found`, { path: '/hubId' });
      }
    }
    const { credentialId, secret } = issueSecret();
    const secretHash = this.hasher.hash(secret);
    const fromMs = input.assignedFrom === undefined ? FIRST_ASSIGNMENT_FROM_MS : Date.parse(input.assignedFrom);
    const device = await this.registry.createDevice(
      {
        id: input.id,
        kind: input.kind,
        manufacturer: input.manufacturer ?? null,
        model: input.model ?? null,
        serial: input.serial ?? null,
        hubId: input.hubId ?? null,
        simulated: input.simulated ?? false,
        createdAtMs: now,
      },
      { id: credentialId, deviceId: input.id, secretHash, createdAtMs: now },
      input.patientId === undefined ? undefined : { deviceId: input.id, patientId: input.patientId, fromMs },
    );
    this.directory.invalidate(device.id);
    this.deviceChanged(device.id, false);
    return { device, secret };
  }

  async getDevice(id: string): Promise<{ device: Device; assignments: Assignment[] }> {
    const device = await this.requireDevice(id);
    return { device, assignments: await this.registry.assignments(id) };
  }

  /** The devices assigned to the patient now, each with the start of its assignment. */
  async currentDevicesOf(patientId: string): Promise<{ device: Device; assignedFromMs: number }[]> {
    const open = (await this.registry.assignmentsOfPatient(patientId)).filter((a) => a.toMs === null);
    const found = await Promise.all(open.map(async (a) => ({ device: await this.registry.getDevice(a.deviceId), assignedFromMs: a.fromMs })));
    return found.flatMap((f) => (f.device === undefined ? [] : [{ device: f.device, assignedFromMs: f.assignedFromMs }]));
  }

  listDevices(limit: number, afterId?: string): Promise<Device[]> {
    return this.registry.listDevices(afterId === undefined ? { limit } : { limit, afterId });
  }

  /**
   * Assign from `fromMs` (closing the current assignment there). Readings the device sent
   * while unassigned in the new interval are attributed to the patient.
   */
  async assign(deviceId: string, patientId: string, fromMs?: number): Promise<{ assignment: Assignment; attributed: number }> {
    const device = await this.requireDevice(deviceId);
    if (device.status === 'revoked') throw new RpmError('RPM_ERR_DEVICE_REVOKED', `device '${deviceId}' is revoked`);
    if ((await this.registry.getPatient(patientId)) === undefined) {
      throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`, { path: '/patientId' });
    }
    const history = await this.registry.assignments(deviceId);
    const defaultFrom = history.length === 0 ? FIRST_ASSIGNMENT_FROM_MS : this.clock.now();
    const assignment = await this.registry.assign({ deviceId, patientId, fromMs: fromMs ?? defaultFrom });
    this.directory.invalidate(deviceId);
    this.deviceChanged(deviceId, false);
    // Readings that become the patient's now get their FHIR deliveries in the same transaction.
    const now = this.clock.now();
    const forwards = this.forwarding === undefined ? [] : (await this.forwarding.destinationsFor(patientId)).map((d) => ({ ...d, atMs: now }));
    const attributed = await this.readings.attributeUnassigned(deviceId, patientId, assignment.fromMs, assignment.toMs, forwards);
    if (attributed > 0) {
      // The rules see them before the answer, so an alert they raise is already on the worklist.
      for (const l of this.attributedListeners) await l({ deviceId, patientId, fromMs: assignment.fromMs, toMs: assignment.toMs });
    }
    return { assignment, attributed };
  }

  async unassign(deviceId: string, atMs?: number): Promise<Assignment | undefined> {
    await this.requireDevice(deviceId);
    const closed = await this.registry.unassign(deviceId, atMs ?? this.clock.now());
    this.directory.invalidate(deviceId);
    this.deviceChanged(deviceId, false);
    return closed;
  }

  /** Issue a new secret; older ones keep working for the grace period, then stop. */
  async rotateSecret(deviceId: string, graceMs?: number): Promise<{ secret: string; previousValidUntilMs: number }> {
    const device = await this.requireDevice(deviceId);
    if (device.status === 'revoked') throw new RpmError('RPM_ERR_DEVICE_REVOKED', `device '${deviceId}' is revoked`);
    const now = this.clock.now();
    const { credentialId, secret } = issueSecret();
    const previousValidUntilMs = now + (graceMs ?? this.rotationGraceMs);
    await this.registry.addCredential({ id: credentialId, deviceId, secretHash: this.hasher.hash(secret), createdAtMs: now }, previousValidUntilMs);
    this.changed(deviceId);
    return { secret, previousValidUntilMs };
  }

  /** Revoke the device: every credential stops at once and open sessions are closed. */
  async revoke(deviceId: string): Promise<Device> {
    await this.requireDevice(deviceId);
    await this.registry.revokeDevice(deviceId, this.clock.now());
    this.changed(deviceId);
    return this.requireDevice(deviceId);
  }

  private changed(deviceId: string): void {
    this.directory.invalidate(deviceId);
    this.authenticator.forgetDevice(deviceId);
    for (const l of this.listeners) l(deviceId);
    this.deviceChanged(deviceId, true);
  }

  private async requireDevice(id: string): Promise<Device> {
    const device = await this.registry.getDevice(id);
    if (device === undefined) throw new RpmError('RPM_ERR_DEVICE_NOT_FOUND', `device '${id}' not found`);
    return device;
  }
}
