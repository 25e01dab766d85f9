import type { FastifyReply, FastifyRequest } from 'fastify';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { SessionEndReason } from '../auth/session-service.js';
import type { GatewayContext } from '../context.js';
import { toAlertView } from './alert-view.js';
import type { WorklistEvent } from '../../pipeline/worklist/worklist-hub.js';

/** Why a stream ended, as the `session-ended` event says (the client then reconnects or signs out). */
export type StreamEndReason = SessionEndReason | 'scope-changed' | 'shutdown' | 'client-closed';

export interface WorklistStreamOptions {
  /** Heartbeat comment, so proxies keep the connection. */
  readonly heartbeatMs?: number;
  /** Safety net: how often the session and the scope are read again (changes another process made). */
  readonly recheckMs?: number;
  /** How often the patients an open stream disclosed are written to the audit log. */
  readonly auditEveryMs?: number;
}

/**
 * GET /v1/worklist/stream: the organization's worklist changes as Server-Sent Events, each sent only
 * if the staff member may see the patient. The stream lives no longer than its session:
 *
 * - logout, and disabling the account, end it at once (SessionService.onSessionEnded);
 * - idle and absolute expiry end it when they fall due. The stream itself is not activity (a
 *   forgotten tab must not keep a session alive), so at the idle deadline the session is read
 *   again: other requests may have moved it;
 * - a change of care-team scope in the organization applies at once: cached visibility is dropped,
 *   and a nurse's stream (nurses are the team-scoped role) ends with `scope-changed`, so her
 *   dashboard reconnects and takes a fresh snapshot without the patients she lost;
 * - every `recheckMs` the session and visibility are read again anyway.
 *
 * Before closing it sends `event: session-ended` with the reason. Opening the stream, and which
 * patients its events showed (batched every `auditEveryMs` and at the end), are audited.
 */
export function worklistStreamHandler(ctx: GatewayContext, options: WorklistStreamOptions = {}) {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const recheckMs = options.recheckMs ?? 30_000;
  const auditEveryMs = options.auditEveryMs ?? 10_000;

  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const staff = req.staff;
    const session = req.staffSession;
    if (staff === null || session === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
    const organization = `organization:${staff.organizationId}`;
    const audit = (action: string, details: Record<string, string | number> | null, patientIds?: readonly string[]): Promise<void> =>
      ctx.audit.record({ atMs: ctx.clock.now(), actor: `staff:${staff.id}`, action, subject: organization, outcome: 'success', sourceIp: req.ip, details, ...(patientIds === undefined ? {} : { patientIds }) });
    await audit('worklist.stream.open', null);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`: connected\nretry: 2000\n\n`);

    let closed = false;
    let seq = 0;
    /** Visibility by patient, valid for one scope generation. */
    let visible = new Map<string, boolean>();
    let generation = 0;
    let disclosed = new Set<string>();
    let eventsSent = 0;

    const writeDisclosures = (): Promise<void> => {
      if (eventsSent === 0) return Promise.resolve();
      const patients = [...disclosed];
      const events = eventsSent;
      disclosed = new Set();
      eventsSent = 0;
      return audit('worklist.stream.events', { events }, patients).catch((err: unknown) => ctx.log.error({ err }, 'could not audit worklist stream events'));
    };

    const canSee = async (patientId: string): Promise<boolean> => {
      for (;;) {
        const at = generation;
        const known = visible.get(patientId);
        if (known !== undefined) return known;
        // The worklist's scope: break-glass patients are opened, not streamed.
        const ok = await ctx.staff.patientInOwnScope(staff, patientId);
        // A scope change while we asked makes the answer stale: ask again.
        if (at === generation) {
          visible.set(patientId, ok);
          return ok;
        }
      }
    };

    /** When the session ends unless another request moves it (idle, or absolute). */
    let endsAtMs = session.idleExpiresAtMs;
    // Values and times in her display units and time zone, as everywhere she reads them.
    const prefs = (await ctx.staff.displayPrefs(staff)).effective;

    const send = (event: WorklistEvent): void => {
      const patientId = event.alert.patientId;
      void canSee(patientId)
        .then(async (ok) => {
          if (!ok || closed) return;
          // Past the deadline nothing more is sent until the session is read again.
          if (ctx.clock.now() >= endsAtMs) await recheck();
          if (closed) return;
          const ranked = await ctx.worklist.rank(event.alert);
          if (closed) return;
          const body = { change: event.change, alert: toAlertView(event.alert, prefs, ranked.priority) };
          res.write(`id: ${++seq}\nevent: alert\ndata: ${JSON.stringify(body)}\n\n`);
          disclosed.add(patientId);
          eventsSent++;
        })
        .catch((err: unknown) => ctx.log.error({ err }, 'worklist stream event failed'));
    };

    let expiryTimer: NodeJS.Timeout | undefined;
    const scheduleExpiry = (atMs: number): void => {
      clearTimeout(expiryTimer);
      expiryTimer = setTimeout(() => void recheck(), Math.max(0, Math.min(atMs - ctx.clock.now(), 2 ** 31 - 1)));
      expiryTimer.unref();
    };
    const recheck = async (): Promise<void> => {
      if (closed) return;
      const status = await ctx.sessions.status(session.tokenSha256).catch(() => ({ live: false as const, reason: 'expired' as const }));
      if (!status.live) return close(status.reason);
      visible = new Map();
      generation++;
      endsAtMs = status.endsAtMs;
      scheduleExpiry(status.endsAtMs);
    };

    const close = (reason: StreamEndReason): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearInterval(recheckTimer);
      clearInterval(auditTimer);
      clearTimeout(expiryTimer);
      unsubscribe();
      stopSessionEnds();
      stopScopeChanges();
      removeCloser();
      if (!res.writableEnded) {
        res.write(`event: session-ended\ndata: ${JSON.stringify({ reason })}\n\n`);
        res.end();
      }
      void writeDisclosures().then(() => audit('worklist.stream.close', { reason }).catch((err: unknown) => ctx.log.error({ err }, 'could not audit a stream end')));
    };

    const unsubscribe = ctx.worklistHub.subscribe(staff.organizationId, send);
    const stopSessionEnds = ctx.sessions.onSessionEnded((end) => {
      if (end.kind === 'session' ? end.tokenSha256 === session.tokenSha256 : end.staffId === staff.id) close(end.reason);
    });
    const stopScopeChanges = ctx.staff.onScopeChanged((organizationId) => {
      if (organizationId !== staff.organizationId) return;
      visible = new Map();
      generation++;
      if (staff.role === 'nurse') close('scope-changed');
    });
    const removeCloser = ctx.worklistHub.onClose(() => close('shutdown'));
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();
    const recheckTimer = setInterval(() => void recheck(), recheckMs);
    recheckTimer.unref();
    const auditTimer = setInterval(() => void writeDisclosures(), auditEveryMs);
    auditTimer.unref();
    scheduleExpiry(session.idleExpiresAtMs);
    req.raw.on('close', () => close('client-closed'));
  };
}
