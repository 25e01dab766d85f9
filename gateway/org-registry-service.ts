import { RpmError } from '../core/errors/rpm-error.js';
import type { Assignment, CreateDeviceInput, Device, Patient } from '../core/model/registry.js';
import type { Staff } from '../core/model/staff.js';
import type { Clock } from '../core/ports/clock.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import type { RegistryStore } from '../core/ports/registry-store.js';
import { deviceHealth, type DeviceHealth } from '../rules/panel/device-health.js';
import type { PresenceTracker } from './presence.js';
import type { RegistryService } from './registry-service.js';
import type { StaffService } from './staff-service.js';

export interface FleetDevice {
  readonly device: Device;
  readonly health: DeviceHealth;
  readonly battery: { percent: number; atMs: number } | null;
  readonly lastSeenAtMs: number | null;
  /** The patient it is assigned to now, if any. */
  readonly patientId: string | null;
  readonly assignments: readonly Assignment[];
}

/**
 * Patients and devices as an organization admin manages them (staff role `admin`, own
 * organization only): enrolment, the device fleet, assignments with time ranges. Devices carry no
 * organization: a device is the organization's when every assignment it ever had was to one of its
 * patients; anything else answers 404 like a device that does not exist.
 */
export class OrgRegistryService {
  constructor(
    private readonly deps: {
      readonly registry: RegistryService;
      readonly store: RegistryStore;
      readonly readings: ReadingStore;
      readonly staff: StaffService;
      readonly presence: PresenceTracker;
      readonly clock: Clock;
    },
  ) {}

  async enroll(admin: Staff, id: string): Promise<Patient> {
    this.requireAdmin(admin);
    return this.deps.registry.createPatient({ id, organizationId: admin.organizationId });
  }

  async fleet(admin: Staff): Promise<FleetDevice[]> {
    this.requireAdmin(admin);
    const now = this.deps.clock.now();
    const patients = await this.patientsOf(admin);
    const deviceIds = new Set<string>();
    const newest = new Map<string, number>();
    for (const p of patients) {
      for (const a of await this.deps.store.assignmentsOfPatient(p)) deviceIds.add(a.deviceId);
      for (const r of await this.deps.readings.queryReadings({ patientId: p, limit: 200, newestFirst: true, fromMs: now - 30 * 86_400_000 })) {
        if (!newest.has(r.deviceId)) newest.set(r.deviceId, r.measuredAtMs);
      }
    }
    const out: FleetDevice[] = [];
    for (const id of [...deviceIds].sort()) {
      const device = await this.deps.store.getDevice(id);
      if (device === undefined) continue;
      const assignments = await this.deps.store.assignments(id);
      const battery = this.deps.presence.batteryOf(device);
      const lastSeenAtMs = this.deps.presence.lastSeenOf(device);
      out.push({
        device,
        battery,
        lastSeenAtMs,
        health: deviceHealth({ lastSeenAtMs, newestReadingAtMs: newest.get(id) ?? null, battery, hubId: device.hubId, status: device.status }, now),
        patientId: assignments.find((a) => a.toMs === null)?.patientId ?? null,
        assignments,
      });
    }
    return out;
  }

  /** Registers a device for a patient of the organization (the answer carries its secret, once). */
  async createDevice(admin: Staff, input: CreateDeviceInput & { patientId: string }): Promise<{ device: Device; secret: string }> {
    this.requireAdmin(admin);
    await this.requirePatient(admin, input.patientId);
    if (input.hubId !== undefined) await this.requireDevice(admin, input.hubId, { allowUnassignedHub: true });
    return this.deps.registry.createDevice(input);
  }

  async assign(admin: Staff, deviceId: string, patientId: string, fromMs?: number): Promise<Assignment> {
    this.requireAdmin(admin);
    await this.requireDevice(admin, deviceId);
    await this.requirePatient(admin, patientId);
    return (await this.deps.registry.assign(deviceId, patientId, fromMs)).assignment;
  }

  async unassign(admin: Staff, deviceId: string, atMs?: number): Promise<Assignment | undefined> {
    this.requireAdmin(admin);
    await this.requireDevice(admin, deviceId);
    return this.deps.registry.unassign(deviceId, atMs);
  }

  private async patientsOf(admin: Staff): Promise<string[]> {
    const ids: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await this.deps.staff.visiblePatientIds(admin, { limit: 1000, ...(afterId === undefined ? {} : { afterId }) });
      ids.push(...page);
      if (page.length < 1000) return ids;
      afterId = page[page.length - 1];
    }
  }

  private requireAdmin(staff: Staff): void {
    if (staff.role !== 'admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'only organization administrators manage patients and devices');
  }

  private async requirePatient(admin: Staff, patientId: string): Promise<void> {
    if (!(await this.deps.staff.canSeePatient(admin, patientId))) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`, { path: '/patientId' });
  }

  private async requireDevice(admin: Staff, deviceId: string, options: { allowUnassignedHub?: boolean } = {}): Promise<Device> {
    const device = await this.deps.store.getDevice(deviceId);
    const history = device === undefined ? [] : await this.deps.store.assignments(deviceId);
    let ours = history.length > 0;
    for (const a of history) if (!(await this.deps.staff.canSeePatient(admin, a.patientId))) ours = false;
    // A hub relays devices of patients and has no assignment of its own: it is ours when a device it relays is.
    if (!ours && device?.kind === 'hub' && options.allowUnassignedHub === true && history.length === 0) {
      for (const d of await this.fleet(admin)) if (d.device.hubId === deviceId) ours = true;
    }
    if (device === undefined || !ours) throw new RpmError('RPM_ERR_DEVICE_NOT_FOUND', `device '${deviceId}' not found`);
    return device;
  }
}
