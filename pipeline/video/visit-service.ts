import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import type { Alert } from '../../core/model/alert.js';
import type { Staff } from '../../core/model/staff.js';
import type { Visit, VisitEndReason, VisitModality, VisitParticipation, VisitRole } from '../../core/model/visit.js';
import type { NewTimeEntry, TimeEntry } from '../../core/ports/alert-store.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { Clock } from '../../core/ports/clock.js';
import type { Notifier } from '../../core/ports/notifier.js';
import type { PatientContacts } from '../../core/ports/patient-contacts.js';
import type { VideoJoin, VideoProvider } from '../../core/ports/video-provider.js';
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
}

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
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(private readonly deps: VisitServiceDeps) {}

  get provider(): VideoProvider['kind'] {
    return this.deps.provider.kind;
  }

  onEnded(listener: EndedListener): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  /** Starts a visit and issues the patient's link (by SMS when asked and a number is on record). */
  async start(
    req: Requester,
    input: { patientId: string; alertId?: string | undefined; modality: VisitModality; sendSms: boolean },
    origin: string,
  ): Promise<{ visit: Visit; link: IssuedLink }> {
    this.requireClinician(req);
    await this.requirePatient(req, input.patientId);
    if (input.alertId !== undefined) {
      const alert = await this.deps.alerts.getAlert(input.alertId);
      // An alert of another patient or tenant looks like one that does not exist.
      if (alert === undefined || alert.patientId !== input.patientId || alert.organizationId !== req.staff.organizationId) {
        throw new RpmError('RPM_ERR_ALERT_NOT_FOUND', 'alert not found for this patient');
      }
    }
    if ((await this.deps.contacts.telehealthConsent(input.patientId)) === 'absent') {
      await this.record(req, 'visit.start', `patient:${input.patientId}`, 'denied', { reason: 'no-consent' }, [input.patientId]);
      throw new RpmError('RPM_ERR_VISIT_CONSENT_MISSING', 'record the patient’s telehealth consent before the first video visit');
    }
    const now = this.deps.clock.now();
    const token = LINK_PREFIX + randomBytes(32).toString('base64url');
    const visit = await this.deps.visits.create(
      {
        id: randomUUID(),
        organizationId: req.staff.organizationId,
        patientId: input.patientId,
        staffId: req.staff.id,
        alertId: input.alertId ?? null,
        provider: this.deps.provider.kind,
        // Random and opaque: the provider learns nothing from the room's name.
        room: `rpm-${randomBytes(12).toString('hex')}`,
        modality: input.modality,
        createdAtMs: now,
        linkExpiresAtMs: now + this.deps.options.linkTtlMs,
      },
      sha256(token),
    );
    await this.record(req, 'visit.start', `visit:${visit.id}`, 'success', { provider: visit.provider, modality: visit.modality, alert: visit.alertId }, [visit.patientId]);
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
    // Hosted rooms are not watched by the gateway: a token issued counts as entering.
    if (visit.provider !== 'embedded') await this.participantJoined(visit, 'staff', `staff:${req.staff.id}`, await this.hasJoined(visit.id, 'patient'));
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
    if (visit.provider !== 'embedded') await this.participantJoined(visit, 'patient', 'patient', await this.hasJoined(visit.id, 'staff'));
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
  async participantJoined(visit: Visit, role: VisitRole, actor: string, otherPresent: boolean): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.visits.joined(visit.id, role, actor, now);
    if (otherPresent && (await this.deps.visits.markStarted(visit.id, now))) this.deps.log.info({ visit: visit.id }, 'visit started');
  }

  /**
   * Both participants are in, as learned from another gateway (distributed mode: the signaling of
   * the gateway holding one side hears that the other side joined elsewhere): the visit starts (once).
   */
  async participantsMet(visit: Visit): Promise<void> {
    if (await this.deps.visits.markStarted(visit.id, this.deps.clock.now())) this.deps.log.info({ visit: visit.id }, 'visit started');
  }

  async participantLeft(visitId: string, actor: string): Promise<void> {
    await this.deps.visits.left(visitId, actor, this.deps.clock.now());
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
    const ended = await this.deps.visits.end(visit.id, endedAtMs, entry === null ? (reason === 'ended' ? 'cancelled' : reason) : reason, entry);
    if (ended === undefined) return undefined;
    for (const listener of this.endedListeners) listener(ended);
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
