import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { entityId } from '../../core/model/registry.js';
import { VISIT_MODALITIES, type Visit, type VisitParticipation } from '../../core/model/visit.js';
import type { TimeEntry } from '../../core/ports/alert-store.js';
import type { VideoJoin } from '../../core/ports/video-provider.js';
import type { IssuedLink, PatientEntry } from '../../pipeline/video/visit-service.js';
import { bearerToken } from '../auth/admin-token.js';
import type { GatewayContext } from '../context.js';
import { routeOf } from '../http/auth-hooks.js';
import { staffAuthHook } from '../http/staff-auth.js';
import { requester } from '../worklist/worklist-routes.js';

const security = [{ staffSession: [] }];
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const visitView = z.object({
  id: z.uuid(),
  patientId: z.string(),
  staffId: z.string().describe('The treating staff member (who started it): the minutes go to her time log'),
  alertId: z.string().nullable().describe('The alert the visit was started from'),
  appointmentId: z.string().nullable().describe('The booked appointment the visit was started from (it is completed when the visit ends with both in)'),
  provider: z.enum(['embedded', 'livekit', 'jitsi']),
  modality: z.enum(VISIT_MODALITIES),
  status: z.enum(['waiting', 'in-progress', 'ended']).describe('waiting: nobody or one side in; in-progress: both have been in; ended'),
  createdAt: z.string(),
  startedAt: z.string().nullable().describe('The first moment staff and patient were both in the room'),
  endedAt: z.string().nullable(),
  endReason: z.enum(['ended', 'cancelled', 'expired']).nullable().describe('cancelled: ended before the patient came; expired: ended by the gateway after RPM_VISIT_MAX_MINUTES'),
  linkExpiresAt: z.string(),
  linkUsed: z.boolean(),
  minutes: z.number().nullable().describe('Duration in minutes (min), start to end; null until ended or when it never started'),
  timeEntryId: z.string().nullable(),
});

function toVisitView(v: Visit): z.infer<typeof visitView> {
  return {
    id: v.id,
    patientId: v.patientId,
    staffId: v.staffId,
    alertId: v.alertId,
    appointmentId: v.appointmentId,
    provider: v.provider,
    modality: v.modality,
    status: v.endedAtMs !== null ? 'ended' : v.startedAtMs !== null ? 'in-progress' : 'waiting',
    createdAt: new Date(v.createdAtMs).toISOString(),
    startedAt: iso(v.startedAtMs),
    endedAt: iso(v.endedAtMs),
    endReason: v.endReason,
    linkExpiresAt: new Date(v.linkExpiresAtMs).toISOString(),
    linkUsed: v.linkUsedAtMs !== null,
    minutes: v.startedAtMs === null || v.endedAtMs === null ? null : Math.round((v.endedAtMs - v.startedAtMs) / 6_000) / 10,
    timeEntryId: v.timeEntryId,
  };
}

const participantView = z.object({ role: z.enum(['staff', 'patient']), actor: z.string(), joinedAt: z.string(), leftAt: z.string().nullable() });
const toParticipantView = (p: VisitParticipation): z.infer<typeof participantView> => ({ role: p.role, actor: p.actor, joinedAt: new Date(p.joinedAtMs).toISOString(), leftAt: iso(p.leftAtMs) });

const linkView = z.object({
  url: z.string().describe('The patient’s link: works once, until expiresAt. A secret: give it only to the patient'),
  expiresAt: z.string(),
  sms: z.enum(['sent', 'not-requested', 'no-phone', 'failed']).describe('What became of the SMS to the patient’s number on record'),
});
const toLinkView = (l: IssuedLink): z.infer<typeof linkView> => ({ url: l.url, expiresAt: new Date(l.expiresAtMs).toISOString(), sms: l.sms });

const iceServer = z.object({ urls: z.array(z.string()), username: z.string().optional(), credential: z.string().optional() });
const joinView = z
  .discriminatedUnion('provider', [
    z.object({
      provider: z.literal('embedded'),
      signalingPath: z.string().describe('WebSocket path of the signaling server'),
      iceServers: z.array(iceServer),
      iceTransportPolicy: z.enum(['all', 'relay']).describe('relay: use only the TURN relays (RTCPeerConnection iceTransportPolicy)'),
    }),
    z.object({ provider: z.literal('livekit'), serverUrl: z.string(), token: z.string().describe('LiveKit access token (JWT)'), joinUrl: z.string().nullable() }),
    z.object({ provider: z.literal('jitsi'), joinUrl: z.string().describe('The meeting URL with its JWT'), token: z.string() }),
  ])
  .describe('How to enter the room');
const toJoinView = (j: VideoJoin): z.infer<typeof joinView> =>
  j.provider === 'embedded'
    ? { provider: 'embedded', signalingPath: j.signalingPath, iceServers: j.iceServers.map((s) => ({ ...s, urls: [...s.urls] })), iceTransportPolicy: j.iceTransportPolicy }
    : { ...j };

const entryView = z.object({
  visitId: z.uuid(),
  sessionToken: z.string().describe('This visit’s session for the patient’s browser (keep it for this tab only); ends with the visit'),
  modality: z.enum(VISIT_MODALITIES),
  join: joinView,
});
const toEntryView = (e: PatientEntry): z.infer<typeof entryView> => ({ visitId: e.visitId, sessionToken: e.sessionToken, modality: e.modality, join: toJoinView(e.join) });

const timeEntryView = z
  .object({ id: z.string(), staffId: z.string(), startedAt: z.string(), endedAt: z.string(), minutes: z.number(), interactive: z.boolean(), modality: z.enum(VISIT_MODALITIES) })
  .nullable()
  .describe('The interactive time-log entry the visit became (null when the patient never joined)');
const toTimeView = (e: TimeEntry | null): z.infer<typeof timeEntryView> =>
  e === null
    ? null
    : {
        id: e.id,
        staffId: e.staffId,
        startedAt: new Date(e.startedAtMs).toISOString(),
        endedAt: new Date(e.endedAtMs ?? e.startedAtMs).toISOString(),
        minutes: Math.round(((e.endedAtMs ?? e.startedAtMs) - e.startedAtMs) / 6_000) / 10,
        interactive: e.interactive,
        // A visit's entry is always video or audio (it records the visit's own modality).
        modality: e.modality === 'audio' ? 'audio' : 'video',
      };

/** The origin the staff member's request came to (patient links when RPM_PUBLIC_URL is unset). */
function originOf(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

const params = z.object({ id: z.uuid() });

/** Staff: start, list, read, enter and end video visits; issue a new patient link. */
export async function visitRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));

  app.post(
    '/v1/visits',
    {
      schema: {
        summary: 'Start a video visit with a patient (from the patient page, an alert or a booked appointment) and send the patient a link',
        description:
          'The patient’s link works once, for RPM_VISIT_LINK_TTL_MINUTES, for this visit only; it is sent by SMS to the number on record (no PHI in the text) when `sendSms` is true, and answered here so it can also be read out. Nurses and physicians only. With `appointmentId` (a booked video or phone appointment, from 30 minutes before its start until an hour after its end) the visit is linked to it: the patient comes from the appointment, a phone appointment makes an audio visit, the appointment is `arrived` at the EHRs while the visit runs and completed when it ends with both in; an appointment whose visit is already open answers 409 `RPM_ERR_VISIT_ALREADY_OPEN` with `visitId` (join that one).',
        tags: ['visits'],
        security,
        body: z.object({
          patientId: entityId.optional().describe('Required unless `appointmentId` is given'),
          alertId: z.string().min(1).max(128).optional().describe('The alert the visit is about (same patient)'),
          appointmentId: z.string().min(1).max(128).optional().describe('The booked appointment the visit is held for'),
          modality: z.enum(VISIT_MODALITIES).optional().describe('Default: video (audio for a phone appointment)'),
          sendSms: z.boolean().default(true),
        }),
        response: { 201: z.object({ visit: visitView, link: linkView }) },
      },
    },
    async (req, reply) => {
      const { visit, link } = await ctx.visits.start(
        requester(req),
        { patientId: req.body.patientId, alertId: req.body.alertId, appointmentId: req.body.appointmentId, modality: req.body.modality, sendSms: req.body.sendSms },
        originOf(req),
      );
      return reply.code(201).send({ visit: toVisitView(visit), link: toLinkView(link) });
    },
  );

  app.get(
    '/v1/visits',
    {
      schema: {
        summary: 'Your visits (the ones you started), newest first',
        tags: ['visits'],
        security,
        querystring: z.object({
          open: z.enum(['true', 'false']).optional().transform((v) => (v === undefined ? undefined : v === 'true')),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ visits: z.array(visitView) }) },
      },
    },
    async (req) => {
      const visits = await ctx.visits.list(requester(req), { mine: true, ...(req.query.open === undefined ? {} : { open: req.query.open }), limit: req.query.limit });
      return { visits: visits.map(toVisitView) };
    },
  );

  app.get(
    '/v1/patients/:id/visits',
    {
      schema: {
        summary: 'A patient’s video visits, newest first',
        tags: ['visits'],
        security,
        params: z.object({ id: entityId }),
        querystring: z.object({
          open: z.enum(['true', 'false']).optional().transform((v) => (v === undefined ? undefined : v === 'true')),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ visits: z.array(visitView) }) },
      },
    },
    async (req) => {
      const visits = await ctx.visits.list(requester(req), { patientId: req.params.id, ...(req.query.open === undefined ? {} : { open: req.query.open }), limit: req.query.limit });
      return { visits: visits.map(toVisitView) };
    },
  );

  app.get(
    '/v1/visits/:id',
    {
      schema: { summary: 'A visit with who was in the room and when', tags: ['visits'], security, params, response: { 200: visitView.extend({ participants: z.array(participantView) }) } },
    },
    async (req) => {
      const { visit, participants } = await ctx.visits.get(requester(req), req.params.id);
      return { ...toVisitView(visit), participants: participants.map(toParticipantView) };
    },
  );

  app.post(
    '/v1/visits/:id/join',
    {
      schema: {
        summary: 'Enter the visit’s room: ICE servers and the signaling path (embedded), or a hosted provider’s room token',
        description:
          'Embedded provider: open a WebSocket to `signalingPath` (`/v1/visits/signal`) and send first `{"type":"hello","visitId","role":"staff","token":"<session token>"}` (the patient: `"role":"patient"` with her visit session). The gateway answers `welcome` (`peerPresent`), `peer` (`present`) when the other side comes or goes, relays `{"type":"signal","data":{description|candidate}}` to the other side, and sends `ended` when the visit ends. Close codes: 4401 credentials refused or session ended, 4404 no such open visit for these credentials, 4408 no hello within 10 s, 4409 connected again elsewhere, 4429 too many messages, 4000 visit ended.',
        tags: ['visits'],
        security,
        params,
        response: { 200: z.object({ visit: visitView, join: joinView }) },
      },
    },
    async (req) => {
      const { visit, join } = await ctx.visits.staffJoin(requester(req), req.params.id);
      return { visit: toVisitView(visit), join: toJoinView(join) };
    },
  );

  app.post(
    '/v1/visits/:id/link',
    {
      schema: {
        summary: 'A new patient link for an open visit (the previous link and the session it gave stop working)',
        tags: ['visits'],
        security,
        params,
        body: z.object({ sendSms: z.boolean().default(true) }).optional(),
        response: { 200: z.object({ visit: visitView, link: linkView }) },
      },
    },
    async (req) => {
      const { visit, link } = await ctx.visits.renewLink(requester(req), req.params.id, req.body?.sendSms ?? true, originOf(req));
      return { visit: toVisitView(visit), link: toLinkView(link) };
    },
  );

  app.post(
    '/v1/visits/:id/end',
    {
      schema: {
        summary: 'End the visit; its duration becomes an interactive time-log entry of the treating staff member',
        description: '`modality`: how the visit was actually held, when it differs from how it started (e.g. video turned off: `audio`).',
        tags: ['visits'],
        security,
        params,
        body: z.object({ modality: z.enum(VISIT_MODALITIES).optional() }).optional(),
        response: { 200: z.object({ visit: visitView, timeEntry: timeEntryView }) },
      },
    },
    async (req) => {
      const { visit, timeEntry } = await ctx.visits.end(requester(req), req.params.id, req.body?.modality === undefined ? {} : { modality: req.body.modality });
      return { visit: toVisitView(visit), timeEntry: toTimeView(timeEntry) };
    },
  );
}

/**
 * The patient's side: no account, only the link's token (once) and then the visit's session.
 * Wrong tokens are throttled and audited by source like other credentials; every refusal is the
 * same 404, which says nothing about the visit or the patient.
 */
export async function visitPatientRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();

  const refusedLink = async (req: FastifyRequest, err: unknown): Promise<never> => {
    if (err instanceof RpmError && err.code === 'RPM_ERR_VISIT_LINK_INVALID') await ctx.credentialGuard.denied('visit-link', req.ip, routeOf(req));
    throw err;
  };

  app.post(
    '/v1/visit-links/redeem',
    {
      schema: {
        summary: 'The patient uses her link (once): a session for this visit and how to enter the room',
        description: 'No account. The token is the part of the link after `#`. A used, expired, unknown or ended link answers 404 `RPM_ERR_VISIT_LINK_INVALID` and nothing else.',
        tags: ['visits'],
        body: z.object({ token: z.string().min(1).max(200) }),
        response: { 200: entryView },
      },
    },
    async (req) => {
      ctx.credentialGuard.check('visit-link', req.ip);
      try {
        return toEntryView(await ctx.visits.redeemLink(req.body.token, req.ip));
      } catch (err) {
        return refusedLink(req, err);
      }
    },
  );

  app.get(
    '/v1/visit-session',
    {
      schema: {
        summary: 'The patient’s page again (a reload), from the visit’s session token',
        tags: ['visits'],
        security: [{ visitSession: [] }],
        response: { 200: entryView },
      },
    },
    async (req) => {
      ctx.credentialGuard.check('visit-link', req.ip);
      const token = bearerToken(req.headers.authorization);
      if (token === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', 'send the visit session as `Authorization: Bearer <token>`');
      try {
        return toEntryView(await ctx.visits.patientEntry(token));
      } catch (err) {
        return refusedLink(req, err);
      }
    },
  );
}

/** Where a LiveKit server posts its webhooks (livekit.yaml `webhook.urls`). */
export const LIVEKIT_WEBHOOK_PATH = '/v1/video/livekit/webhook';

/**
 * Hosted providers' events: LiveKit's webhooks (RPM_LIVEKIT_WEBHOOKS=true), verified by the SDK's
 * WebhookReceiver (a JWT under our API key and secret carrying the body's SHA-256). Who entered and
 * left a visit's room and when the room closed become the visit's participations, start and end.
 * A refused signature answers 403 and is audited; events of rooms that are not ours answer 200.
 */
export async function videoWebhookRoutes(scope: FastifyInstance, ctx: GatewayContext): Promise<void> {
  scope.addContentTypeParser('application/webhook+json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
  const app = scope.withTypeProvider<ZodTypeProvider>();
  app.post(
    LIVEKIT_WEBHOOK_PATH,
    {
      schema: {
        summary: 'LiveKit webhooks: participant_joined, participant_left and room_finished of visit rooms',
        description:
          'Posted by the LiveKit server (`application/webhook+json`, `Authorization: <JWT>` signed with the API key and secret, its `sha256` claim the body’s SHA-256). Only with RPM_VIDEO_PROVIDER=livekit and RPM_LIVEKIT_WEBHOOKS=true (else 404). A signature that does not verify answers 403 `RPM_ERR_WEBHOOK_SIGNATURE_INVALID`.',
        tags: ['visits'],
        response: { 200: z.object({ handled: z.boolean().describe('false: not a visit room, not a participant of ours, or an event that changes nothing') }) },
      },
    },
    async (req) => {
      if (ctx.visits.provider !== 'livekit' || !ctx.visits.providerEvents) throw new RpmError('RPM_ERR_NOT_FOUND', 'LiveKit webhooks are not enabled (RPM_LIVEKIT_WEBHOOKS)');
      const auth = req.headers.authorization;
      try {
        return await ctx.visits.providerEvent(typeof req.body === 'string' ? req.body : '', auth);
      } catch (err) {
        if (err instanceof RpmError && err.code === 'RPM_ERR_WEBHOOK_SIGNATURE_INVALID') {
          await ctx.audit.record({ atMs: ctx.clock.now(), actor: 'livekit', action: 'visit.provider-event', subject: 'webhook:livekit', outcome: 'denied', sourceIp: req.ip, details: { reason: 'signature' } });
        }
        throw err;
      }
    },
  );
}

