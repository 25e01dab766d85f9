import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import type { Alert } from '../../core/model/alert.js';
import type { Appointment } from '../../core/model/scheduling.js';
import type { Staff } from '../../core/model/staff.js';
import type { Visit, VisitEndReason, VisitModality, VisitParticipation, VisitRole } from '../../core/model/visit.js';
import type { AlertStore, NewTimeEntry, TimeEntry } from '../../core/ports/alert-store.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { Clock } from '../../core/ports/clock.js';
import type { NewDelayedJob } from '../../core/ports/delayed-jobs.js';
import type { Notifier } from '../../core/ports/notifier.js';
import type { PatientContacts } from '../../core/ports/patient-contacts.js';
import type { VideoJoin, VideoProvider, VideoRoomEvent } from '../../core/ports/video-provider.js';
import type { VisitStore } from '../../core/ports/visit-store.js';
import type { Requester } from '../worklist/worklist-service.js';

export interface VisitServiceOptions {
  /** How long a patient link works (once). */
  readonly linkTtlMs: number;
  /** An open visit is ended by the sweep this long after it was created; room credentials last as long. */
  readonly maxDurationMs: number;
  /** Where patient links point (no trailing slash); undefined: the origin the staff request came to. */
  readonly publicUrl: string | undefined;
}

export interface VisitServiceDeps {
  readonly visits: VisitStore;
  readonly provider: VideoProvider;
  readonly contacts: PatientContacts;
  readonly notifier: Notifier;
  readonly staff: { canSeePatient(staff: Staff, patientId: string): Promise<boolean> };
  readonly alerts: { getAlert(id: string): Promise<Alert | undefined> };
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options: VisitServiceOptions;
  /**
   * The jobs a visit's start or end brings (FHIR Encounters, and the linked Appointment's new
   * state, to the EHRs that take them), written in the change's own transaction.
   */
  readonly jobsFor?: (visit: Visit, change: 'started' | 'ended', nowMs: number) => Promise<NewDelayedJob[]>;
  /** Booked appointments a visit is started from, and what their visit's end does to them. */
  readonly appointments?: VisitAppointments;
  /** The time log (the treating staff member's running timer stops where the visit's minutes begin). */
  readonly timeLog?: Pick<AlertStore, 'timeEntries' | 'stopTime'>;
}

/** Scheduling as video visits see it (pipeline/scheduling SchedulingService). */
export interface VisitAppointments {
  getAppointment(id: string): Promise<Appointment | undefined>;
  /** The visit ended with both in: the appointment is completed (FHIR fulfilled). */
  visitCompleted(appointmentId: string, visit: Visit): Promise<void>;
}

/** How early before its start a booked appointment's visit may be opened. */
export const APPOINTMENT_JOIN_EARLY_MS = 30 * 60_000;
/** How long after its planned end a booked appointment's visit may still be opened. */
export const APPOINTMENT_JOIN_LATE_MS = 60 * 60_000;

/** What happened to the SMS carrying the patient's link. */
export type LinkDelivery = 'sent' | 'not-requested' | 'no-phone' | 'failed';

export interface IssuedLink {
  /** The patient's link: a bearer secret, shown to the staff member who asked and sent by SMS, never stored or logged. */
  readonly url: string;
  readonly expiresAtMs: number;
  readonly sms: LinkDelivery;
}

/** The patient's side after the link: a session for this visit only, and how to enter the room. */
export interface PatientEntry {
  readonly visitId: string;
  readonly sessionToken: string;
  readonly modality: VisitModality;
  readonly join: VideoJoin;
}

/** The SMS with the link: that a visit waits, never about whom or why (no PHI leaves by SMS). */
export function visitLinkMessage(url: string, ttlMs: number): string {
  return `Your care team is ready for your video visit. Join here: ${url} (the link works once, for ${Math.round(ttlMs / 60_000)} minutes).`;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const LINK_PREFIX = 'rpmv_';
const SESSION_PREFIX = 'rpmvs_';
/** A link or session token: prefix + 256 random bits, base64url. */
const TOKEN = /^rpmvs?_[A-Za-z0-9_-]{43}$/;

/** Whether a string is shaped like a patient link token (before any look-up). */
export function looksLikeVisitToken(token: string): boolean {
  return TOKEN.test(token);
}

type EndedListener = (visit: Visit) => void;

/**
 * Video visits (README "Video visits and scheduling"). A nurse or physician starts one for a
 * patient in her scope (from the patient page or an alert); the patient gets a link by SMS that
 * works once, for a while, for that visit only, and needs no account. Using it gives the patient's
 * browser a session for that visit alone. Who was in the room and when is recorded; the first
 * moment both were in starts the visit, and its end turns start → end into an interactive
 * time-log entry for the treating staff member (the one who started it), in the same transaction.
 * Every step is audited; patient links and sessions are kept only as hashes.
 */
export class VisitService {
  private readonly endedListeners = new Set<EndedListener>();
  private readonly changedListeners = new Set<EndedListener>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(private readonly deps: VisitServiceDeps) {}

  get provider(): VideoProvider['kind'] {
    return this.deps.provider.kind;
  }

  /** Whether the provider reports presence by signed events (LiveKit webhooks). */
  get providerEvents(): boolean {
    return this.deps.provider.presence === 'events' && this.deps.provider.receiveEvent !== undefined;
  }

  onEnded(listener: EndedListener): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  /** A visit started or ended: its transaction may have written jobs due now (Encounters, the linked Appointment). */
  onChanged(listener: EndedListener): () => void {
    this.changedListeners.add(listener);
    return () => this.changedListeners.delete(listener);
  }

  /** Starts a visit and issues the patient's link (by SMS when asked and a number is on record). */
  async start(
    req: Requester,
    input: { patientId?: string | undefined; alertId?: string | undefined; appointmentId?: string | undefined; modality?: VisitModality | undefined; sendSms: boolean },
    origin: string,
  ): Promise<{ visit: Visit; link: IssuedLink }> {
    this.requireClinician(req);
    const appointment = input.appointmentId === undefined ? undefined : await this.joinableAppointment(req, input.appointmentId, input.patientId);
    const patientId = appointment?.patientId ?? input.patientId;
    if (patientId === undefined) throw new RpmError('RPM_ERR_REQUEST_INVALID', 'name the patient or the appointment', { path: '/body/patientId' });
    const modality: VisitModality = input.modality ?? (appointment?.modality === 'phone' ? 'audio' : 'video');
    await this.requirePatient(req, patientId);
    if (input.alertId !== undefined) {
      const alert = await this.deps.alerts.getAlert(input.alertId);
      // An alert of another patient or tenant looks like one that does not exist.
      if (alert === undefined || alert.patientId !== patientId || alert.organizationId !== req.staff.organizationId) {
        throw new RpmError('RPM_ERR_ALERT_NOT_FOUND', 'alert not found for this patient');
      }
    }
    if ((await this.deps.contacts.telehealthConsent(patientId)) === 'absent') {
      await this.record(req, 'visit.start', `patient:${patientId}`, 'denied', { reason: 'no-consent' }, [patientId]);
      throw new RpmError('RPM_ERR_VISIT_CONSENT_MISSING', 'record the patient’s telehealth consent before the first video visit');
    }
    const now = this.deps.clock.now();
    const token = LINK_PREFIX + randomBytes(32).toString('base64url');
    const visit = await this.deps.visits.create(
      {
        id: randomUUID(),
        organizationId: req.staff.organizationId,
        patientId: patientId,
        staffId: req.staff.id,
        alertId: input.alertId ?? null,
        appointmentId: appointment?.id ?? null,
        provider: this.deps.provider.kind,
        // Random and opaque: the provider learns nothing from the room's name.
        room: `rpm-${randomBytes(12).toString('hex')}`,
        modality,
        createdAtMs: now,
        linkExpiresAtMs: now + this.deps.options.linkTtlMs,
      },
      sha256(token),
    );
    await this.record(req, 'visit.start', `visit:${visit.id}`, 'success', { provider: visit.provider, modality: visit.modality, alert: visit.alertId, appointment: visit.appointmentId }, [visit.patientId]);
    const link = await this.deliverLink(req, visit, token, visit.linkExpiresAtMs, input.sendSms, origin);
    return { visit, link };
  }

  /** A new link for an open visit (the previous one, and the session it gave, stop working). */
  async renewLink(req: Requester, visitId: string, sendSms: boolean, origin: string): Promise<{ visit: Visit; link: IssuedLink }> {
    const visit = await this.visibleVisit(req, visitId);
    this.requireClinician(req);
    const token = LINK_PREFIX + randomBytes(32).toString('base64url');
    const expiresAtMs = this.deps.clock.now() + this.deps.options.linkTtlMs;
    if (!(await this.deps.visits.renewLink(visit.id, sha256(token), expiresAtMs))) throw new RpmError('RPM_ERR_VISIT_ENDED', 'the visit has ended');
    await this.record(req, 'visit.link.renew', `visit:${visit.id}`, 'success', null, [visit.patientId]);
    const link = await this.deliverLink(req, visit, token, expiresAtMs, sendSms, origin);
    return { visit: { ...visit, linkExpiresAtMs: expiresAtMs, linkUsedAtMs: null }, link };
  }

  async get(req: Requester, visitId: string): Promise<{ visit: Visit; participants: VisitParticipation[] }> {
    const visit = await this.visibleVisit(req, visitId);
    await this.record(req, 'visit.read', `visit:${visit.id}`, 'success', null, [visit.patientId]);
    return { visit, participants: await this.deps.visits.participants(visit.id) };
  }

  /** Visits of a patient in her scope, or her own (`mine`), newest first. */
  async list(req: Requester, filter: { patientId?: string; mine?: boolean; open?: boolean; limit: number }): Promise<Visit[]> {
    if (filter.patientId !== undefined) await this.requirePatient(req, filter.patientId);
    const rows = await this.deps.visits.list({
      organizationId: req.staff.organizationId,
      ...(filter.patientId === undefined ? {} : { patientId: filter.patientId }),
      ...(filter.mine === true ? { staffId: req.staff.id } : {}),
      ...(filter.open === undefined ? {} : { open: filter.open }),
      limit: filter.limit,
    });
    const visible: Visit[] = [];
    const seen = new Map<string, boolean>();
    for (const v of rows) {
      let ok = seen.get(v.patientId);
      if (ok === undefined) seen.set(v.patientId, (ok = await this.deps.staff.canSeePatient(req.staff, v.patientId)));
      if (ok) visible.push(v);
    }
    await this.record(req, 'visit.list', filter.patientId === undefined ? `staff:${req.staff.id}` : `patient:${filter.patientId}`, 'success', { visits: visible.length }, [...new Set(visible.map((v) => v.patientId))]);
    return visible;
  }

  /** How the staff member enters the room (a hosted provider's token, or the embedded ICE servers). */
  async staffJoin(req: Requester, visitId: string): Promise<{ visit: Visit; join: VideoJoin }> {
    const visit = await this.openVisitForStaff(req.staff, visitId, req.sourceIp);
    const join = await this.deps.provider.join(this.grantFor(visit, 'staff', req.staff), this.deps.clock.now());
    await this.record(req, 'visit.join', `visit:${visit.id}`, 'success', { provider: visit.provider }, [visit.patientId]);
    // Hosted rooms whose provider reports no presence: a token issued counts as entering.
    if (this.tokenIsPresence(visit)) await this.participantJoined(visit, 'staff', `staff:${req.staff.id}`, await this.hasJoined(visit.id, 'patient'));
    return { visit, join };
  }

  /**
   * The patient's link, used once: a session for this visit and how to enter the room. Unknown,
   * used, expired links and ended visits all fail alike (RPM_ERR_VISIT_LINK_INVALID), saying
   * nothing about the visit or the patient.
   */
  async redeemLink(token: string, sourceIp: string | null): Promise<PatientEntry> {
    const now = this.deps.clock.now();
    const sessionToken = SESSION_PREFIX + randomBytes(32).toString('base64url');
    const visit = looksLikeVisitToken(token) && token.startsWith(LINK_PREFIX) ? await this.deps.visits.redeemLink(sha256(token), now, sha256(sessionToken)) : undefined;
    if (visit === undefined) {
      await this.deps.audit.record({ atMs: now, actor: 'unknown', action: 'visit.link.redeem', subject: 'visit-link', outcome: 'denied', sourceIp, details: null });
      throw new RpmError('RPM_ERR_VISIT_LINK_INVALID', 'this link is not valid: it may have been used already or expired. Ask your care team for a new one.');
    }
    await this.deps.audit.record({ atMs: now, actor: `patient-link:${visit.id}`, action: 'visit.link.redeem', subject: `visit:${visit.id}`, outcome: 'success', sourceIp, details: null, patientIds: [visit.patientId] });
    const join = await this.deps.provider.join(this.grantFor(visit, 'patient'), now);
    if (this.tokenIsPresence(visit)) await this.participantJoined(visit, 'patient', 'patient', await this.hasJoined(visit.id, 'staff'));
    return { visitId: visit.id, sessionToken, modality: visit.modality, join };
  }

  /** The patient's page again (a reload) from its session: the same answer as the link gave. */
  async patientEntry(sessionToken: string): Promise<PatientEntry> {
    const visit = await this.visitOfPatientSession(sessionToken);
    if (visit === undefined) throw new RpmError('RPM_ERR_VISIT_LINK_INVALID', 'this visit is over or the link is not valid');
    return { visitId: visit.id, sessionToken, modality: visit.modality, join: await this.deps.provider.join(this.grantFor(visit, 'patient'), this.deps.clock.now()) };
  }

  /** Ends the visit (any clinician who may see the patient); its minutes go to the treating staff member's time log. */
  async end(req: Requester, visitId: string, options: { modality?: VisitModality } = {}): Promise<{ visit: Visit; timeEntry: TimeEntry | null }> {
    const visit = await this.visibleVisit(req, visitId);
    this.requireClinician(req);
    const result = await this.finish(visit, this.deps.clock.now(), visit.startedAtMs === null ? 'cancelled' : 'ended', options.modality);
    if (result === undefined) throw new RpmError('RPM_ERR_VISIT_ENDED', 'the visit has already ended');
    const minutes = result.timeEntry === null ? 0 : Math.round(((result.timeEntry.endedAtMs ?? 0) - result.timeEntry.startedAtMs) / 6_000) / 10;
    await this.record(req, 'visit.end', `visit:${visit.id}`, 'success', { reason: result.visit.endReason, minutes, modality: result.timeEntry?.modality ?? null }, [visit.patientId]);
    return result;
  }

  // ---- the embedded provider's signaling (gateway/video/signaling.ts) ----

  /** The open visit a staff member may enter (her organization, her scope, a clinician). Refusals are audited. */
  async openVisitForStaff(staff: Staff, visitId: string, sourceIp: string | null): Promise<Visit> {
    const req = { staff, sourceIp };
    const visit = await this.visibleVisit(req, visitId);
    this.requireClinician(req);
    if (visit.endedAtMs !== null) throw new RpmError('RPM_ERR_VISIT_ENDED', 'the visit has ended');
    return visit;
  }

  /** The open visit of a patient session, when it is `visitId` (a session of another visit gets nothing). */
  async openVisitForPatient(sessionToken: string, visitId: string): Promise<Visit | undefined> {
    const visit = await this.visitOfPatientSession(sessionToken);
    return visit?.id === visitId ? visit : undefined;
  }

  /** A participant entered the room; with the other one present, the visit starts (once). */
  async participantJoined(visit: Visit, role: VisitRole, actor: string, otherPresent: boolean, atMs?: number): Promise<void> {
    const now = atMs ?? this.deps.clock.now();
    await this.deps.visits.joined(visit.id, role, actor, now);
    if (!otherPresent) return;
    await this.startOnce(visit, now);
  }

  /** The visit starts once: the start's jobs (Encounter, the linked Appointment) in its transaction, then the timer rule. */
  private async startOnce(visit: Visit, now: number): Promise<void> {
    const jobs = (await this.deps.jobsFor?.({ ...visit, startedAtMs: now }, 'started', now)) ?? [];
    if (await this.deps.visits.markStarted(visit.id, now, jobs)) {
      this.deps.log.info({ visit: visit.id }, 'visit started');
      for (const listener of this.changedListeners) listener({ ...visit, startedAtMs: now });
      await this.timerYields(visit, now);
    }
  }

  async participantLeft(visitId: string, actor: string, atMs?: number): Promise<void> {
    await this.deps.visits.left(visitId, actor, atMs ?? this.deps.clock.now());
  }

  /**
   * The one rule against double-logged minutes (README "Video visits and scheduling"): a visit's
   * interactive entry owns its span. When it starts, the treating staff member's manual timer on
   * the same patient stops at the visit's start (reason `visit-started`); a timer she starts or time
   * she types in over a span a visit of hers with that patient holds is refused
   * (RPM_ERR_TIME_OVERLAPS_VISIT, WorklistService).
   */
  private async timerYields(visit: Visit, startedAtMs: number): Promise<void> {
    if (this.deps.timeLog === undefined) return;
    try {
      const running = await this.deps.timeLog.timeEntries({ staffId: visit.staffId, patientId: visit.patientId, running: true });
      for (const t of running) {
        if (t.source !== 'timer') continue;
        await this.deps.timeLog.stopTime(t.id, Math.max(t.startedAtMs, startedAtMs), 'visit-started');
        await this.deps.audit.record({
          atMs: this.deps.clock.now(),
          actor: 'system',
          action: 'time.stop',
          subject: `patient:${visit.patientId}`,
          outcome: 'success',
          sourceIp: null,
          details: { reason: 'visit-started', visit: visit.id, minutes: Math.round((Math.max(t.startedAtMs, startedAtMs) - t.startedAtMs) / 60_000) },
        });
      }
    } catch (err) {
      // The visit stands; the ledger counts each minute once anyway (rules/billing/ledger.ts).
      this.deps.log.warn({ err: err instanceof Error ? err.message : String(err), visit: visit.id }, 'could not stop the running timer at the visit start');
    }
  }

  // ---- hosted providers' presence (LiveKit webhooks) ----

  /**
   * A hosted provider's signed event: someone entered or left a visit's room, or the room closed.
   * Entering and leaving are recorded as participations (the visit starts when both are in);
   * the room's end ends the visit at the last leaving, with its time-log entry. Events of unknown
   * rooms or identities are acknowledged and ignored (the provider would only resend them).
   */
  async providerEvent(body: string, authorization: string | undefined): Promise<{ handled: boolean }> {
    const receive = this.deps.provider.receiveEvent;
    if (receive === undefined) throw new RpmError('RPM_ERR_NOT_FOUND', 'this video provider sends no events');
    const event: VideoRoomEvent = await receive.call(this.deps.provider, body, authorization);
    if (event.kind === 'other') return { handled: false };
    const visit = await this.deps.visits.byRoom(event.room);
    if (visit === undefined || visit.endedAtMs !== null) return { handled: false };
    const now = this.deps.clock.now();
    const at = Math.min(now, Math.max(visit.createdAtMs, event.atMs));
    if (event.kind === 'room-finished') {
      const people = await this.deps.visits.participants(visit.id);
      const lastLeft = people.reduce((max, p) => Math.max(max, p.leftAtMs ?? at), visit.startedAtMs ?? visit.createdAtMs);
      const result = await this.finish(visit, Math.min(at, lastLeft), visit.startedAtMs === null ? 'cancelled' : 'ended', undefined);
      if (result !== undefined) {
        await this.deps.audit.record({
          atMs: now,
          actor: `system:${visit.provider}`,
          action: 'visit.end',
          subject: `visit:${visit.id}`,
          outcome: 'success',
          sourceIp: null,
          details: { reason: 'room-finished', minutes: result.timeEntry === null ? 0 : Math.round(((result.timeEntry.endedAtMs ?? 0) - result.timeEntry.startedAtMs) / 6_000) / 10 },
          patientIds: [visit.patientId],
        });
      }
      return { handled: result !== undefined };
    }
    const who = this.participantOf(visit, event.identity);
    if (who === undefined) return { handled: false };
    if (event.kind === 'participant-joined') {
      const present = (await this.deps.visits.participants(visit.id)).some((p) => p.role !== who.role && p.leftAtMs === null);
      await this.participantJoined(visit, who.role, who.actor, present, at);
    } else {
      await this.participantLeft(visit.id, who.actor, at);
    }
    await this.deps.audit.record({
      atMs: now,
      actor: `system:${visit.provider}`,
      action: event.kind === 'participant-joined' ? 'visit.participant.join' : 'visit.participant.leave',
      subject: `visit:${visit.id}`,
      outcome: 'success',
      sourceIp: null,
      details: { role: who.role, event: event.id },
      patientIds: [visit.patientId],
    });
    return { handled: true };
  }

  /** The grant identities (`staff-<id>`, `patient-<visit id>`) back to our actors. */
  private participantOf(visit: Visit, identity: string | null): { role: VisitRole; actor: string } | undefined {
    if (identity === `patient-${visit.id}`) return { role: 'patient', actor: 'patient' };
    if (identity?.startsWith('staff-') === true) return { role: 'staff', actor: `staff:${identity.slice('staff-'.length)}` };
    return undefined;
  }

  private tokenIsPresence(visit: Visit): boolean {
    return visit.provider !== 'embedded' && this.deps.provider.presence !== 'events';
  }

  /** A booked appointment of her organization and scope that a visit may be opened for now. */
  private async joinableAppointment(req: Requester, appointmentId: string, patientId: string | undefined): Promise<Appointment> {
    const appointment = await this.deps.appointments?.getAppointment(appointmentId);
    if (appointment === undefined || appointment.organizationId !== req.staff.organizationId || (patientId !== undefined && appointment.patientId !== patientId)) {
      throw new RpmError('RPM_ERR_APPOINTMENT_NOT_FOUND', 'appointment not found');
    }
    await this.requirePatient(req, appointment.patientId);
    if (appointment.status !== 'booked') throw new RpmError('RPM_ERR_APPOINTMENT_STATE', `the appointment is ${appointment.status}: no visit can be started from it`);
    if (appointment.modality === 'in-person') throw new RpmError('RPM_ERR_APPOINTMENT_STATE', 'an in-person appointment has no video visit');
    const now = this.deps.clock.now();
    if (now < appointment.startMs - APPOINTMENT_JOIN_EARLY_MS || now > appointment.endMs + APPOINTMENT_JOIN_LATE_MS) {
      throw new RpmError('RPM_ERR_APPOINTMENT_STATE', 'the appointment’s visit opens 30 minutes before it starts and until an hour after it ends');
    }
    const open = await this.deps.visits.list({ organizationId: appointment.organizationId, appointmentId: appointment.id, open: true, limit: 1 });
    if (open[0] !== undefined) throw new RpmError('RPM_ERR_VISIT_ALREADY_OPEN', 'this appointment’s visit is already open: join it', { details: { visitId: open[0].id } });
    return appointment;
  }

  /**
   * Both participants are in, as learned from another gateway (distributed mode: the signaling of
   * the gateway holding one side hears that the other side joined elsewhere): the visit starts (once),
   * with the same jobs and timer rule as a start seen here.
   */
  async participantsMet(visit: Visit): Promise<void> {
    await this.startOnce(visit, this.deps.clock.now());
  }

  // ---- the sweep ----

  /** Ends open visits past their longest duration (every `intervalMs`). */
  startSweep(intervalMs: number): void {
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((err: unknown) => this.deps.log.error({ err }, 'visit sweep failed'))
        .finally(() => (this.sweeping = undefined));
    }, intervalMs);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.sweeping;
  }

  /** One sweep; answers the visits it ended. A visit ends at its last participant's leaving (now, when someone is still in). */
  async sweep(): Promise<number> {
    const now = this.deps.clock.now();
    let ended = 0;
    for (const visit of await this.deps.visits.openCreatedBefore(now - this.deps.options.maxDurationMs, 100)) {
      const people = await this.deps.visits.participants(visit.id);
      const stillIn = people.some((p) => p.leftAtMs === null);
      const lastLeft = people.reduce((max, p) => Math.max(max, p.leftAtMs ?? 0), visit.startedAtMs ?? visit.createdAtMs);
      const result = await this.finish(visit, stillIn ? now : Math.min(now, lastLeft), 'expired', undefined);
      if (result === undefined) continue;
      ended++;
      await this.deps.audit.record({
        atMs: now,
        actor: 'system',
        action: 'visit.end',
        subject: `visit:${visit.id}`,
        outcome: 'success',
        sourceIp: null,
        details: { reason: 'expired', minutes: result.timeEntry === null ? 0 : Math.round(((result.timeEntry.endedAtMs ?? 0) - result.timeEntry.startedAtMs) / 6_000) / 10 },
        patientIds: [visit.patientId],
      });
    }
    return ended;
  }

  private async finish(visit: Visit, endedAtMs: number, reason: VisitEndReason, modality: VisitModality | undefined): Promise<{ visit: Visit; timeEntry: TimeEntry | null } | undefined> {
    const entry: (NewTimeEntry & { endedAtMs: number }) | null =
      visit.startedAtMs === null
        ? null
        : {
            id: randomUUID(),
            organizationId: visit.organizationId,
            patientId: visit.patientId,
            staffId: visit.staffId,
            startedAtMs: visit.startedAtMs,
            endedAtMs: Math.max(visit.startedAtMs, endedAtMs),
            interactive: true,
            note: null,
            source: 'visit',
            modality: modality ?? visit.modality,
          };
    const jobs = (await this.deps.jobsFor?.({ ...visit, endedAtMs }, 'ended', this.deps.clock.now())) ?? [];
    const ended = await this.deps.visits.end(visit.id, endedAtMs, entry === null ? (reason === 'ended' ? 'cancelled' : reason) : reason, entry, jobs);
    if (ended === undefined) return undefined;
    if (ended.appointmentId !== null && ended.startedAtMs !== null && this.deps.appointments !== undefined) {
      // The patient came: the appointment is completed (a visit that ended before she came leaves it booked, for a no-show or another try).
      await this.deps.appointments.visitCompleted(ended.appointmentId, ended).catch((err: unknown) => {
        this.deps.log.warn({ err: err instanceof Error ? err.message : String(err), visit: ended.id }, 'could not complete the visit’s appointment');
      });
    }
    for (const listener of this.endedListeners) listener(ended);
    for (const listener of this.changedListeners) listener(ended);
    return { visit: ended, timeEntry: entry === null ? null : { ...entry, modality: entry.modality ?? null, stopReason: null } };
  }

  private async deliverLink(req: Requester, visit: Visit, token: string, expiresAtMs: number, sendSms: boolean, origin: string): Promise<IssuedLink> {
    // In the fragment: browsers never send it to a server, so it is in no access log or Referer.
    const url = `${this.deps.options.publicUrl ?? origin}/visit#${token}`;
    let sms: LinkDelivery = 'not-requested';
    if (sendSms) {
      const phone = await this.deps.contacts.phoneOf(visit.patientId);
      if (phone === null) sms = 'no-phone';
      else {
        try {
          await this.deps.notifier.sendSms(phone, visitLinkMessage(url, this.deps.options.linkTtlMs), `visit-link-${sha256(token).slice(0, 32)}`);
          sms = 'sent';
        } catch (err) {
          // The link stands: the staff member can read it out or send it again.
          this.deps.log.warn({ err: err instanceof Error ? err.message : String(err), visit: visit.id }, 'visit link SMS failed');
          sms = 'failed';
        }
      }
      await this.record(req, 'visit.link.sms', `visit:${visit.id}`, sms === 'sent' ? 'success' : 'denied', { result: sms }, [visit.patientId]);
    }
    return { url, expiresAtMs, sms };
  }

  private grantFor(visit: Visit, role: VisitRole, staff?: Staff) {
    return {
      room: visit.room,
      identity: role === 'staff' ? `staff-${staff?.id ?? visit.staffId}` : `patient-${visit.id}`,
      displayName: role === 'staff' ? (staff?.displayName ?? 'Care team') : 'Patient',
      role,
      expiresAtMs: visit.createdAtMs + this.deps.options.maxDurationMs,
    };
  }

  private async hasJoined(visitId: string, role: VisitRole): Promise<boolean> {
    return (await this.deps.visits.participants(visitId)).some((p) => p.role === role);
  }

  private async visitOfPatientSession(sessionToken: string): Promise<Visit | undefined> {
    if (!looksLikeVisitToken(sessionToken) || !sessionToken.startsWith(SESSION_PREFIX)) return undefined;
    const visit = await this.deps.visits.visitOfPatientSession(sha256(sessionToken));
    if (visit === undefined || this.deps.clock.now() >= visit.createdAtMs + this.deps.options.maxDurationMs) return undefined;
    return visit;
  }

  /** A visit of her organization whose patient she may see; anything else looks like one that does not exist. */
  private async visibleVisit(req: Requester, visitId: string): Promise<Visit> {
    const visit = await this.deps.visits.get(visitId);
    if (visit === undefined || visit.organizationId !== req.staff.organizationId || !(await this.deps.staff.canSeePatient(req.staff, visit.patientId))) {
      await this.record(req, 'visit.access', `visit:${visitId}`, 'denied', null);
      throw new RpmError('RPM_ERR_VISIT_NOT_FOUND', 'visit not found');
    }
    return visit;
  }

  private async requirePatient(req: Requester, patientId: string): Promise<void> {
    if (!(await this.deps.staff.canSeePatient(req.staff, patientId))) {
      await this.record(req, 'patient.access', `patient:${patientId}`, 'denied', null);
      throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
    }
  }

  /** Visits are clinical contacts: nurses and physicians, not administrators. */
  private requireClinician(req: Requester): void {
    if (req.staff.role === 'admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'video visits are held by nurses and physicians');
  }

  private record(
    req: Requester,
    action: string,
    subject: string,
    outcome: 'success' | 'denied',
    details: Record<string, string | number | boolean | null> | null,
    patientIds?: readonly string[],
  ): Promise<void> {
    return this.deps.audit.record({ atMs: this.deps.clock.now(), actor: `staff:${req.staff.id}`, action, subject, outcome, sourceIp: req.sourceIp, details, ...(patientIds === undefined ? {} : { patientIds }) });
  }
}
