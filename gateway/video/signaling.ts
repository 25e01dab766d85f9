import { randomUUID } from 'node:crypto';
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
  /** This connection, among every gateway's (random; told to the other gateways). */
  readonly conn: string;
  /** Replaced by a newer connection of the same role at another gateway: its closing is not a leaving. */
  replacedElsewhere: boolean;
  readonly role: VisitRole;
  readonly actor: string;
  readonly visitId: string;
  /** Staff only: the session behind the connection (ends it when the session ends). */
  readonly sessionSha256: string | null;
  readonly staffId: string | null;
}

/** A participant connected to another gateway (distributed mode). */
interface RemotePeer {
  readonly origin: string;
  readonly conn: string;
}

interface Room {
  /** The visit as read when its first socket here was admitted. */
  readonly visit: Visit;
  staff?: Peer;
  patient?: Peer;
  /** Who is in at other gateways, as they told us (kept only while someone is in here). */
  readonly remote: { staff?: RemotePeer; patient?: RemotePeer };
}

/**
 * Messages between the gateways' signaling (distributed mode), addressed by visit and side. A
 * participant is authenticated by the gateway holding its socket and only there; what travels is
 * ids and, in `signal`, the SDP or ICE candidate (a JSON text) for the other side's socket: no PHI,
 * and never logged.
 * - `join`: a side connected here (a connection of that side elsewhere is replaced by it);
 * - `here`: the answer to a `join` from the gateway holding the other side;
 * - `leave`: a side's connection closed;
 * - `signal`: for the socket of side `role` of the visit, wherever it is;
 * - `ended`: the visit ended (its sockets close everywhere).
 */
export type RelayMessage =
  | { readonly kind: 'join' | 'here' | 'leave'; readonly visitId: string; readonly role: VisitRole; readonly conn: string }
  | { readonly kind: 'signal'; readonly visitId: string; readonly role: VisitRole; readonly data: string }
  | { readonly kind: 'ended'; readonly visitId: string };

/** How the signaling of one gateway hears and tells the others (cluster events on Redis; `origin` names the sending gateway). */
export interface SignalingRelay {
  /** At most once, in order per sender; failures are the relay's to log. */
  publish(message: RelayMessage): void;
  subscribe(handler: (message: RelayMessage, origin: string) => void): Promise<void>;
  /** The relay was cut off and is back: what other gateways said meanwhile is lost. */
  onReconnect(handler: () => void): void;
}

const other_ = (role: VisitRole): VisitRole => (role === 'staff' ? 'patient' : 'staff');

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
      /** The distributed mode: the two sides of a call may be at different gateways. */
      readonly relay?: SignalingRelay;
    },
  ) {
    this.unsubscribe.push(deps.sessions.onSessionEnded((end) => this.sessionEnded(end)));
    this.unsubscribe.push(
      deps.visits.onEnded((visit) => {
        this.visitEnded(visit.id);
        // Ended here (by a nurse, or the sweep): the sockets of the visit at other gateways close too.
        deps.relay?.publish({ kind: 'ended', visitId: visit.id });
      }),
    );
  }

  /** Listens to the other gateways (distributed mode). */
  async start(): Promise<void> {
    const relay = this.deps.relay;
    if (relay === undefined) return;
    await relay.subscribe((m, origin) => this.fromRelay(m, origin));
    // Whatever the others said while we were cut off is lost: tell them again who is in here (a
    // `join` of a connection they already know changes nothing but brings their `here` again).
    relay.onReconnect(() => {
      for (const [visitId, room] of this.rooms) {
        for (const peer of [room.staff, room.patient]) if (peer !== undefined) relay.publish({ kind: 'join', visitId, role: peer.role, conn: peer.conn });
      }
    });
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
      peer = { ws, conn: randomUUID(), replacedElsewhere: false, role: 'staff', actor: `staff:${session.staff.id}`, visitId: visit.id, sessionSha256: session.tokenSha256, staffId: session.staff.id };
    } else {
      this.deps.credentialGuard.check('visit-link', ip);
      const found = await this.deps.visits.openVisitForPatient(hello.token, hello.visitId);
      if (found === undefined) {
        await this.deps.credentialGuard.denied('visit-link', ip, `WS ${SIGNALING_PATH}`);
        throw new RpmError('RPM_ERR_VISIT_NOT_FOUND', 'no such open visit for this session');
      }
      visit = found;
      peer = { ws, conn: randomUUID(), replacedElsewhere: false, role: 'patient', actor: 'patient', visitId: visit.id, sessionSha256: null, staffId: null };
    }
    if (ws.readyState !== ws.OPEN) return;

    let room = this.rooms.get(visit.id);
    // No one of this visit here yet: we cannot know of a connection of this side elsewhere.
    const fresh = room === undefined;
    if (room === undefined) this.rooms.set(visit.id, (room = { visit, remote: {} }));
    const previous = room[peer.role];
    // Take the place first, so the old connection's close does not announce a leaving.
    room[peer.role] = peer;
    if (previous !== undefined) previous.ws.close(SIGNAL_CLOSE.replaced, 'connected again elsewhere');
    // A connection of this side at another gateway is replaced too: that gateway closes it on our `join`.
    const replacedRemote = room.remote[peer.role] !== undefined;
    delete room.remote[peer.role];
    const other: Peer | RemotePeer | undefined = room[other_(peer.role)] ?? room.remote[other_(peer.role)];
    this.deps.relay?.publish({ kind: 'join', visitId: visit.id, role: peer.role, conn: peer.conn });

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
        if (r?.[peer.role] !== peer) return;
        const to = r[other_(peer.role)];
        if (to !== undefined) send(to.ws, { type: 'signal', data: message.data });
        // The other side is not here: it may be at another gateway (whichever holds it delivers).
        else this.deps.relay?.publish({ kind: 'signal', visitId: peer.visitId, role: other_(peer.role), data: JSON.stringify(message.data) });
      } else if (message.type === 'ping') send(ws, { type: 'pong' });
    });

    // The visit's record, in order per connection: the replaced connection's leaving, this joining,
    // then (below) this leaving, so a quick close never leaves a presence open.
    // The presence of a replaced connection (here, or at another gateway, which records nothing of
    // it) ends as this one begins; so does any still open when this gateway knows nothing of the
    // visit (one at another gateway it has not heard of, or one a crashed gateway never closed).
    const recorded = (previous === undefined && !replacedRemote && !fresh ? Promise.resolve() : this.deps.visits.participantLeft(visit.id, peer.actor))
      .then(() => this.deps.visits.participantJoined(visit, peer.role, peer.actor, other !== undefined))
      .catch((err: unknown) => this.deps.log.error({ err }, 'could not record a participant joining'));
    ws.on('close', () => {
      const r = this.rooms.get(peer.visitId);
      if (r === undefined || r[peer.role] !== peer) return;
      delete r[peer.role];
      const remaining = r[other_(peer.role)];
      if (remaining === undefined) this.rooms.delete(peer.visitId);
      else if (!peer.replacedElsewhere) send(remaining.ws, { type: 'peer', present: false });
      // Replaced at another gateway: the newer connection is the one present, and its joining closed this presence.
      if (peer.replacedElsewhere) return;
      this.deps.relay?.publish({ kind: 'leave', visitId: peer.visitId, role: peer.role, conn: peer.conn });
      void recorded
        .then(() => this.deps.visits.participantLeft(peer.visitId, peer.actor))
        .catch((err: unknown) => this.deps.log.error({ err }, 'could not record a participant leaving'));
    });

    send(ws, { type: 'welcome', role: peer.role, visitId: visit.id, modality: visit.modality, peerPresent: other !== undefined });
    if (other !== undefined && 'ws' in other) send(other.ws, { type: 'peer', present: true });
  }

  /** What another gateway's signaling told (distributed mode). Only visits with a socket here matter. */
  private fromRelay(m: RelayMessage, origin: string): void {
    const room = this.rooms.get(m.visitId);
    if (room === undefined) return;
    if (m.kind === 'ended') {
      this.visitEnded(m.visitId);
      return;
    }
    if (m.kind === 'signal') {
      const to = room[m.role];
      if (to === undefined) return;
      let data: unknown;
      try {
        data = JSON.parse(m.data);
      } catch {
        return;
      }
      send(to.ws, { type: 'signal', data });
      return;
    }
    const known = room.remote[m.role];
    const same = known?.origin === origin && known.conn === m.conn;
    const here = room[other_(m.role)];
    if (m.kind === 'join') {
      // The same side connected elsewhere: the connection here is the older one.
      const older = room[m.role];
      if (older !== undefined) {
        older.replacedElsewhere = true;
        older.ws.close(SIGNAL_CLOSE.replaced, 'connected again elsewhere');
      }
      room.remote[m.role] = { origin, conn: m.conn };
      if (here === undefined) return;
      this.deps.relay?.publish({ kind: 'here', visitId: m.visitId, role: here.role, conn: here.conn });
      if (same) return;
      send(here.ws, { type: 'peer', present: true });
      // Both are in now (the joining gateway did not know): the visit starts, once.
      this.deps.visits.participantsMet(room.visit).catch((err: unknown) => this.deps.log.error({ err }, 'could not record a visit starting'));
    } else if (m.kind === 'here') {
      if (same || room[m.role] !== undefined) return;
      room.remote[m.role] = { origin, conn: m.conn };
      if (here !== undefined) send(here.ws, { type: 'peer', present: true });
    } else if (m.kind === 'leave') {
      if (!same) return;
      delete room.remote[m.role];
      if (here !== undefined && room[m.role] === undefined) send(here.ws, { type: 'peer', present: false });
    }
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

  private visitEnded(visitId: string): void {
    const room = this.rooms.get(visitId);
    if (room === undefined) return;
    this.rooms.delete(visitId);
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
