import type { Alert } from '../core/model/alert.js';
import type { Patient } from '../core/model/registry.js';
import { RpmError } from '../core/errors/rpm-error.js';
import type { AlertStore } from '../core/ports/alert-store.js';
import type { RegistryStore } from '../core/ports/registry-store.js';
import type { StaffStore } from '../core/ports/staff-store.js';
import type { StaffService } from './staff-service.js';

export interface PatientTransferResult {
  readonly patient: Patient;
  readonly previousOrganizationId: string | null;
  /** Care teams of the previous organization the patient was taken off (team links never cross organizations). */
  readonly careTeamsLeft: readonly string[];
  /** Unresolved alerts that now belong to the new organization. */
  readonly alertsMoved: number;
  /** Devices assigned to the patient now: their assignments are unchanged. */
  readonly devicesKept: number;
}

export interface PatientTransferDeps {
  readonly registry: Pick<RegistryStore, 'setPatientOrganization' | 'assignmentsOfPatient'>;
  readonly teams: Pick<StaffStore, 'teamsOfPatient' | 'removeTeamPatient'>;
  readonly alerts: Pick<AlertStore, 'moveUnresolvedAlerts'>;
  readonly staff: Pick<StaffService, 'requireOrganization' | 'patientMoved'>;
  /** Caches of the patient's organization (FHIR routes, the rules engine) to drop. */
  readonly forget: readonly ((patientId: string) => void)[];
  /** Each moved alert, so the new organization's live worklists show it at once. */
  readonly alertMoved: (alert: Alert) => void;
}

/**
 * Moves a patient to another organization (an operator's correction: registered without one, or
 * in the wrong one). What goes with the patient and what stays:
 * - the patient's care-team links to the old organization's teams end (a team's patients are of
 *   its organization); the new organization puts the patient on its own teams;
 * - device assignments stay: the devices measure the same person, so readings keep arriving and
 *   belong to the patient (and from now on to the new organization's worklist and EHR destinations);
 * - unresolved alerts move with the patient, so the new organization's nurses work them and its
 *   charge nurses are escalated to; resolved alerts stay as the old organization's record;
 * - readings, care plans and the time log are the patient's and are not touched; deliveries already
 *   queued to the old organization's EHRs still go (they were disclosed under its agreement).
 * Every step is idempotent, so a move that failed half-way is completed by running it again.
 */
export class PatientTransfer {
  constructor(private readonly deps: PatientTransferDeps) {}

  async move(patientId: string, organizationId: string): Promise<PatientTransferResult> {
    await this.deps.staff.requireOrganization(organizationId);
    const moved = await this.deps.registry.setPatientOrganization(patientId, organizationId);
    if (moved === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`);
    // The organization first: from here on nobody of the old organization sees the patient, then the old links go.
    const careTeamsLeft: string[] = [];
    for (const team of await this.deps.teams.teamsOfPatient(patientId)) {
      if (team.organizationId === organizationId) continue;
      if (await this.deps.teams.removeTeamPatient(team, patientId)) careTeamsLeft.push(team.id);
    }
    const alerts = await this.deps.alerts.moveUnresolvedAlerts(patientId, organizationId);
    for (const forget of this.deps.forget) forget(patientId);
    this.deps.staff.patientMoved(moved.before.organizationId, organizationId);
    for (const a of alerts) this.deps.alertMoved(a);
    const devicesKept = new Set((await this.deps.registry.assignmentsOfPatient(patientId)).filter((a) => a.toMs === null).map((a) => a.deviceId)).size;
    return { patient: moved.after, previousOrganizationId: moved.before.organizationId, careTeamsLeft, alertsMoved: alerts.length, devicesKept };
  }
}
