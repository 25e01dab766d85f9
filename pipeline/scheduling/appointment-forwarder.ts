import { RpmError } from '../../core/errors/rpm-error.js';
import type { AppointmentSink } from '../../core/ports/appointment-sink.js';
import type { Appointment } from '../../core/model/scheduling.js';
import type { Visit } from '../../core/model/visit.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { ClinicalRecordSink } from '../../core/ports/clinical-record-sink.js';
import type { Clock } from '../../core/ports/clock.js';
import type { DelayedJob, NewDelayedJob } from '../../core/ports/delayed-jobs.js';
import type { ForwardingStore } from '../../core/ports/forwarding-store.js';
import type { SchedulingStore } from '../../core/ports/scheduling-store.js';
import { PatientTargets } from '../patient-targets.js';
import type { JobHandler } from './reminder-worker.js';

export const FHIR_APPOINTMENT_JOB = 'fhir-appointment';

/**
 * Visits to EHRs as FHIR Appointments, through the FHIR destinations that take them
 * (`appointments: true`): the same credentials and patient mapping as readings. Each change of a
 * visit adds one durable job per such destination, in the change's own transaction (the
 * `jobsFor` hook of SchedulingService); the job sends the visit's state at send time, written at
 * a deterministic id, so a resend or an older job after a newer one changes nothing wrong. An
 * unmapped patient or a refused resource is a dead job (an operator looks); a failed exchange is
 * retried with backoff. Every disclosure is audited.
 */
export class AppointmentForwarder implements JobHandler {
  readonly kind = FHIR_APPOINTMENT_JOB;
  private readonly targets: Map<string, PatientTargets> = new Map();

  constructor(
    private readonly deps: {
      readonly forwarding: Pick<ForwardingStore, 'listDestinations' | 'getDestination' | 'getPatientLink' | 'recordResolvedPatient'>;
      readonly scheduling: Pick<SchedulingStore, 'getAppointment' | 'getAppointmentType'>;
      readonly sink: AppointmentSink & Pick<ClinicalRecordSink, 'findPatient'>;
      readonly audit: AuditLog;
      readonly clock: Clock;
      readonly patientRecheckMs: number;
      /** The newest video visit started from the appointment, if any. */
      readonly visitOf?: (appointment: Appointment) => Promise<Visit | undefined>;
    },
  ) {}

  /** The jobs a change of a visit adds: one per enabled destination of the organization that takes appointments. */
  async jobsFor(organizationId: string, appointmentId: string, version: number, nowMs: number): Promise<NewDelayedJob[]> {
    const destinations = (await this.deps.forwarding.listDestinations({ organizationId })).filter((d) => d.enabled && d.appointments === true);
    return destinations.map((d) => ({
      id: `${FHIR_APPOINTMENT_JOB}:${d.id}:${appointmentId}:v${version}:${nowMs}`,
      kind: FHIR_APPOINTMENT_JOB,
      group: `appointment:${appointmentId}`,
      payload: { appointmentId, destinationId: d.id },
      dueAtMs: nowMs,
      createdAtMs: nowMs,
    }));
  }

  async run(job: DelayedJob): Promise<string> {
    const appointmentId = String(job.payload.appointmentId);
    const destination = await this.deps.forwarding.getDestination(String(job.payload.destinationId));
    if (destination === undefined || !destination.enabled || destination.appointments !== true) return 'skipped:destination-off';
    const appointment = await this.deps.scheduling.getAppointment(appointmentId);
    if (appointment === undefined) return 'skipped:gone';
    const type = await this.deps.scheduling.getAppointmentType(appointment.organizationId, appointment.typeId);
    let targets = this.targets.get(destination.id);
    if (targets === undefined) {
      targets = new PatientTargets({ store: this.deps.forwarding, sink: this.deps.sink, clock: this.deps.clock, recheckMs: this.deps.patientRecheckMs });
      this.targets.set(destination.id, targets);
    }
    const target = (await targets.resolve(destination, [appointment.patientId])).get(appointment.patientId);
    if (target === undefined || !target.ok) {
      return `dead:${target === undefined ? 'RPM_ERR_FHIR_PATIENT_UNKNOWN' : target.code}`;
    }
    const visit = await this.deps.visitOf?.(appointment);
    const result = await this.deps.sink.sendAppointment(destination, { appointment, typeName: type?.name ?? appointment.typeId, visit }, target.target);
    if (result.status === 'retry') throw new RpmError(result.code, result.message);
    await this.deps.audit.record({
      atMs: this.deps.clock.now(),
      actor: 'system:fhir',
      action: 'fhir.appointment',
      subject: `patient:${appointment.patientId}`,
      outcome: result.status === 'delivered' ? 'success' : 'error',
      sourceIp: null,
      details: { destinationId: destination.id, appointmentId, version: appointment.version, ...(result.status === 'dead' ? { code: result.code } : {}) },
    });
    return result.status === 'delivered' ? `delivered:${result.refs.join(',')}` : `dead:${result.code}`;
  }
}
