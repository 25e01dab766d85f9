import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import type { Visit, VisitRole } from '../../core/model/visit.js';
import type { VisitService } from '../../pipeline/video/visit-service.js';
import type { CredentialGuard } from '../auth/credential-guard.js';
import type { SessionEnd, SessionService } from '../auth/session-service.js';

/** The embedded provider's signaling endpoint (WebSocket). */
export const SIGNALING_PATH = '/v1/visits/signal';

/**
 * Close codes the browser sees (the reason text is for people; clients branch on the code).
 * 4401: credentials refused or the staff session ended; 4404: no such open visit for these
 * credentials (another tenant's, another visit's link, ended); 4408: no hello in time; 4409: the
 * same participant connected again elsewhere; 4429: too many messages; 4000: the visit ended.
 */
export const SIGNAL_CLOSE = { ended: 4000, auth: 4401, notFound: 4404, helloTimeout: 4408, replaced: 4409, tooMany: 4429, shutdown: 1001 } as const;

const HELLO_TIMEOUT_MS = 10_000;
/** Offer/answer and ICE candidates: a call needs tens of messages; this is generous. */
const MAX_MESSAGES_PER_10S = 200;
const MAX_MESSAGE_BYTES = 64 * 1024;

interface Peer {
  readonly ws: WebSocket;
  readonly role: VisitRole;
  readonly actor: string;
  readonly visitId: string;
  /** Staff only: the session behind the connection (ends it when the session ends). */
  readonly sessionSha256: string | null;
  readonly staffId: string | null;
}

interface Room {
  staff?: Peer;
  patient?: Peer;
}

type Hello = { readonly type: 'hello'; readonly visitId: string; readonly role: VisitRole; readonly token: string };

function parseHello(data: RawData): Hello | undefined {
  try {
    const m = JSON.parse(data.toString()) as Record<string, unknown>;
    if (m.type !== 'hello' || typeof m.visitId !== 'string' || typeof m.token !== 'string' || (m.role !== 'staff' && m.role !== 'patient')) return undefined;
    if (m.visitId.length > 64 || m.token.length > 200) return undefined;
    return { type: 'hello', visitId: m.visitId, role: m.role, token: m.token };
  } catch {
    return undefined;
  }
}

/**
 * One-to-one WebRTC signaling for the embedded video provider. A browser opens the WebSocket and
 * first says hello: the visit, its role, and its credential (a staff session token, or the
 * patient's visit session from her link). Credentials travel in that first message, never in the
 * URL. Staff must be clinicians of the visit's organization who may see the patient; a patient
 * session opens only its own visit. Then the gateway relays `signal` messages (SDP offers and
 * answers, ICE candidates) between the two, tells each when the other comes and goes, and records
 * both in the visit (the first moment both are in starts it). Media never pass through here.
 *
 * A staff connection ends with its session (logout, disabled account); every connection of a
 * visit ends when the visit does. One connection per role and visit: a newer one replaces the older.
 */
export class VisitSignaling {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly rooms = new Map<string, Room>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly deps: {
      readonly visits: VisitService;
      readonly sessions: SessionService;
      readonly credentialGuard: CredentialGuard;
      readonly log: Logger;
    },
  ) {
    this.unsubscribe.push(deps.sessions.onSessionEnded((end) => this.sessionEnded(end)));
    this.unsubscribe.push(deps.visits.onEnded((visit) => this.visitEnded(visit)));
  }

  /** Takes an HTTP upgrade on SIGNALING_PATH. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  /** Connected peers (metrics, tests). */
  get connections(): number {
    return this.wss.clients.size;
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    for (const ws of this.wss.clients) ws.close(SIGNAL_CLOSE.shutdown, 'gateway shutting down');
    this.wss.close();
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const ip = req.socket.remoteAddress ?? null;
    const helloTimer = setTimeout(() => ws.close(SIGNAL_CLOSE.helloTimeout, 'no hello'), HELLO_TIMEOUT_MS);
    ws.once('close', () => clearTimeout(helloTimer));
    ws.once('message', (data) => {
      clearTimeout(helloTimer);
      const hello = parseHello(data);
      if (hello === undefined) {
        ws.close(SIGNAL_CLOSE.auth, 'expected hello');
        return;
      }
      this.admit(ws, hello, ip).catch((err: unknown) => {
        const code = err instanceof RpmError ? (err.code === 'RPM_ERR_AUTH_INVALID' || err.code === 'RPM_ERR_AUTH_SESSION_EXPIRED' || err.code === 'RPM_ERR_RATE_LIMITED' ? SIGNAL_CLOSE.auth : SIGNAL_CLOSE.notFound) : 1011;
        if (code === 1011) this.deps.log.error({ err }, 'visit signaling failed');
        ws.close(code, code === SIGNAL_CLOSE.auth ? 'not authenticated' : code === SIGNAL_CLOSE.notFound ? 'no such visit' : 'error');
      });
    });
  }

  private async admit(ws: WebSocket, hello: Hello, ip: string | null): Promise<void> {
    let visit: Visit;
    let peer: Peer;
    if (hello.role === 'staff') {
      this.deps.credentialGuard.check('session-token', ip);
      let session;
      try {
        session = await this.deps.sessions.authenticate(hello.token);
      } catch (err) {
        if (err instanceof RpmError && err.code === 'RPM_ERR_AUTH_INVALID') await this.deps.credentialGuard.denied('session-token', ip, `WS ${SIGNALING_PATH}`);
        throw err;
      }
      visit = await this.deps.visits.openVisitForStaff(session.staff, hello.visitId, ip);
      peer = { ws, role: 'staff', actor: `staff:${session.staff.id}`, visitId: visit.id, sessionSha256: session.tokenSha256, staffId: session.staff.id };
    } else {
      this.deps.credentialGuard.check('visit-link', ip);
      const found = await this.deps.visits.openVisitForPatient(hello.token, hello.visitId);
      if (found === undefined) {
        await this.deps.credentialGuard.denied('visit-link', ip, `WS ${SIGNALING_PATH}`);
        throw new RpmError('RPM_ERR_VISIT_NOT_FOUND', 'no such open visit for this session');
      }
      visit = found;
      peer = { ws, role: 'patient', actor: 'patient', visitId: visit.id, sessionSha256: null, staffId: null };
    }
    if (ws.readyState !== ws.OPEN) return;

    let room = this.rooms.get(visit.id);
    if (room === undefined) this.rooms.set(visit.id, (room = {}));
    const previous = room[peer.role];
    // Take the place first, so the old connection's close does not announce a leaving.
    room[peer.role] = peer;
    if (previous !== undefined) previous.ws.close(SIGNAL_CLOSE.replaced, 'connected again elsewhere');
    const other = room[peer.role === 'staff' ? 'patient' : 'staff'];

    // Listen before saying welcome: whatever the peer sends after it must find a listener, however
    // long the store takes to record the joining below.
    let windowStart = Date.now();
    let count = 0;
    ws.on('message', (data) => {
      const now = Date.now();
      if (now - windowStart >= 10_000) {
        windowStart = now;
        count = 0;
      }
      if (++count > MAX_MESSAGES_PER_10S) {
        ws.close(SIGNAL_CLOSE.tooMany, 'too many messages');
        return;
      }
      let message: { type?: unknown; data?: unknown };
      try {
        message = JSON.parse(data.toString()) as { type?: unknown; data?: unknown };
      } catch {
        return;
      }
      if (message.type === 'signal' && typeof message.data === 'object' && message.data !== null) {
        const r = this.rooms.get(peer.visitId);
        const to = r?.[peer.role === 'staff' ? 'patient' : 'staff'];
        if (r?.[peer.role] === peer && to !== undefined) send(to.ws, { type: 'signal', data: message.data });
      } else if (message.type === 'ping') send(ws, { type: 'pong' });
    });

    // The visit's record, in order per connection: the replaced connection's leaving, this joining,
    // then (below) this leaving, so a quick close never leaves a presence open.
    const recorded = (previous === undefined ? Promise.resolve() : this.deps.visits.participantLeft(visit.id, previous.actor))
      .then(() => this.deps.visits.participantJoined(visit, peer.role, peer.actor, other !== undefined))
      .catch((err: unknown) => this.deps.log.error({ err }, 'could not record a participant joining'));
    ws.on('close', () => {
      const r = this.rooms.get(peer.visitId);
      if (r === undefined || r[peer.role] !== peer) return;
      delete r[peer.role];
      const remaining = r[peer.role === 'staff' ? 'patient' : 'staff'];
      if (remaining === undefined) this.rooms.delete(peer.visitId);
      else send(remaining.ws, { type: 'peer', present: false });
      void recorded
        .then(() => this.deps.visits.participantLeft(peer.visitId, peer.actor))
        .catch((err: unknown) => this.deps.log.error({ err }, 'could not record a participant leaving'));
    });

    send(ws, { type: 'welcome', role: peer.role, visitId: visit.id, modality: visit.modality, peerPresent: other !== undefined });
    if (other !== undefined) send(other.ws, { type: 'peer', present: true });
  }

  private sessionEnded(end: SessionEnd): void {
    for (const room of this.rooms.values()) {
      const staff = room.staff;
      if (staff === undefined) continue;
      if ((end.kind === 'session' && staff.sessionSha256 === end.tokenSha256) || (end.kind === 'account' && staff.staffId === end.staffId)) {
        staff.ws.close(SIGNAL_CLOSE.auth, 'session ended');
      }
    }
  }

  private visitEnded(visit: Visit): void {
    const room = this.rooms.get(visit.id);
    if (room === undefined) return;
    this.rooms.delete(visit.id);
    for (const peer of [room.staff, room.patient]) {
      if (peer === undefined) continue;
      send(peer.ws, { type: 'ended' });
      peer.ws.close(SIGNAL_CLOSE.ended, 'visit ended');
    }
  }
}

function send(ws: WebSocket, message: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}
