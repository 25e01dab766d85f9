import { RpmError } from '../../core/errors/rpm-error.js';
import type { StaffRole } from '../../core/model/staff.js';
import type { Visit } from '../../core/model/visit.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { ClinicalRecordSink } from '../../core/ports/clinical-record-sink.js';
import type { Clock } from '../../core/ports/clock.js';
import type { DelayedJob, NewDelayedJob } from '../../core/ports/delayed-jobs.js';
import type { EncounterSink } from '../../core/ports/encounter-sink.js';
import type { ForwardingStore } from '../../core/ports/forwarding-store.js';
import type { VisitStore } from '../../core/ports/visit-store.js';
import { PatientTargets } from '../patient-targets.js';
import type { JobHandler } from '../scheduling/reminder-worker.js';

export const FHIR_ENCOUNTER_JOB = 'fhir-encounter';

/**
 * Video visits to EHRs as FHIR Encounters, through the FHIR destinations that take them
 * (`encounters: true`): the same credentials and patient mapping as readings and Appointments.
 * A visit's start and its end each add one durable job per such destination, in the change's own
 * transaction (VisitStore.markStarted / end); the job sends the visit's state at send time by a
 * conditional update on our identifier, so a resend, or the start's job running after the end's,
 * leaves one Encounter with the latest state. Run by the reminder loop as a `JobHandler`; an
 * unmapped patient or a refused resource is a dead job (an operator looks), a failed exchange is
 * retried with backoff. Every disclosure is audited.
 */
export class EncounterForwarder implements JobHandler {
  readonly kind = FHIR_ENCOUNTER_JOB;
  private readonly targets: Map<string, PatientTargets> = new Map();

  constructor(
    private readonly deps: {
      readonly forwarding: Pick<ForwardingStore, 'listDestinations' | 'getDestination' | 'getPatientLink' | 'recordResolvedPatient'>;
      readonly visits: Pick<VisitStore, 'get'>;
      readonly staffRole: (staffId: string) => Promise<StaffRole | undefined>;
      readonly sink: EncounterSink & Pick<ClinicalRecordSink, 'findPatient'>;
      readonly audit: AuditLog;
      readonly clock: Clock;
      readonly patientRecheckMs: number;
    },
  ) {}

  /** The jobs a visit's start or end adds: one per enabled destination of its organization that takes encounters. */
  async jobsFor(visit: Pick<Visit, 'id' | 'organizationId'>, change: 'started' | 'ended', nowMs: number): Promise<NewDelayedJob[]> {
    const destinations = (await this.deps.forwarding.listDestinations({ organizationId: visit.organizationId })).filter((d) => d.enabled && d.encounters === true);
    return destinations.map((d) => ({
      id: `${FHIR_ENCOUNTER_JOB}:${d.id}:${visit.id}:${change}`,
      kind: FHIR_ENCOUNTER_JOB,
      group: `visit:${visit.id}`,
      payload: { visitId: visit.id, destinationId: d.id },
      dueAtMs: nowMs,
      createdAtMs: nowMs,
    }));
  }

  async run(job: DelayedJob): Promise<string> {
    const visitId = String(job.payload.visitId);
    const destination = await this.deps.forwarding.getDestination(String(job.payload.destinationId));
    if (destination === undefined || !destination.enabled || destination.encounters !== true) return 'skipped:destination-off';
    const visit = await this.deps.visits.get(visitId);
    if (visit === undefined) return 'skipped:gone';
    if (visit.startedAtMs === null && visit.endedAtMs === null) return 'skipped:not-started';
    let targets = this.targets.get(destination.id);
    if (targets === undefined) {
      targets = new PatientTargets({ store: this.deps.forwarding, sink: this.deps.sink, clock: this.deps.clock, recheckMs: this.deps.patientRecheckMs });
      this.targets.set(destination.id, targets);
    }
    const target = (await targets.resolve(destination, [visit.patientId])).get(visit.patientId);
    if (target === undefined || !target.ok) return `dead:${target === undefined ? 'RPM_ERR_FHIR_PATIENT_UNKNOWN' : target.code}`;
    const staffRole = (await this.deps.staffRole(visit.staffId)) ?? 'nurse';
    const result = await this.deps.sink.sendEncounter(destination, { visit, staffRole }, target.target);
    if (result.status === 'retry') throw new RpmError(result.code, result.message);
    await this.deps.audit.record({
      atMs: this.deps.clock.now(),
      actor: 'system:fhir',
      action: 'fhir.encounter',
      subject: `patient:${visit.patientId}`,
      outcome: result.status === 'delivered' ? 'success' : 'error',
      sourceIp: null,
      details: { destinationId: destination.id, visitId: visit.id, ...(result.status === 'dead' ? { code: result.code } : {}) },
    });
    return result.status === 'delivered' ? `delivered:${result.refs.join(',')}` : `dead:${result.code}`;
  }
}
