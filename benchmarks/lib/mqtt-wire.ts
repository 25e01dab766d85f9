import net from 'node:net';

/**
 * A minimal MQTT 3.1.1 client over a raw socket: CONNECT, QoS 1 PUBLISH, and the CONNACK and
 * PUBACK answers. The capacity and storm drivers hold 5,000 of these per process; MQTT.js
 * keeps stores, timers and stream machinery per client, which would make the load process,
 * not the broker, the thing being measured. No keep-alive pings: the drivers ask for a
 * keep-alive longer than any run, so an idle connection really sends nothing.
 */

const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;

/** MQTT's variable-length "remaining length" (§2.2.3). */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

export interface ConnectOptions {
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  readonly keepaliveS: number;
  /** Default true: these are ingest-only devices; the gateway keeps no session for them. */
  readonly cleanSession?: boolean;
  /** Default MQTT 3.1.1 ('MQTT', 4); conformance tests send others. */
  readonly protocol?: { readonly name: string; readonly level: number };
}

export function connectPacket(o: ConnectOptions): Buffer {
  let flags = o.cleanSession === false ? 0 : 0x02;
  const payload = [str(o.clientId)];
  if (o.username !== undefined) {
    flags |= 0x80;
    payload.push(str(o.username));
  }
  if (o.password !== undefined) {
    flags |= 0x40;
    payload.push(str(o.password));
  }
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(o.keepaliveS);
  const protocol = o.protocol ?? { name: 'MQTT', level: 4 };
  const body = Buffer.concat([str(protocol.name), Buffer.from([protocol.level, flags]), keepalive, ...payload]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

export function publishPacket(topic: string, payload: string, packetId: number, dup: boolean): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId);
  const body = Buffer.concat([str(topic), id, Buffer.from(payload, 'utf8')]);
  return Buffer.concat([Buffer.from([0x32 | (dup ? 0x08 : 0)]), remainingLength(body.length), body]);
}

export type ConnectOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly returnCode?: number };

/** One device connection. Callbacks, not promises, to keep 5,000 of them cheap. */
export class WireClient {
  private buf: Buffer = Buffer.alloc(0);
  private onConnack: ((o: ConnectOutcome) => void) | undefined;
  private readonly acks = new Map<number, () => void>();
  private nextId = 1;
  closed = false;
  onClose: (() => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined); // 'close' follows and reports it
    socket.on('close', () => {
      this.closed = true;
      this.onConnack?.({ ok: false, reason: 'closed before CONNACK' });
      this.onConnack = undefined;
      this.acks.clear();
      this.onClose?.();
    });
  }

  /** Opens a socket (from `localAddress`, so one process can exceed one source address's ports) and sends CONNECT. */
  static connect(host: string, port: number, localAddress: string | undefined, o: ConnectOptions, done: (client: WireClient, outcome: ConnectOutcome) => void): void {
    const socket = net.connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
    const client = new WireClient(socket);
    client.onConnack = (outcome) => done(client, outcome);
    socket.once('connect', () => socket.write(connectPacket(o)));
  }

  /** QoS 1 publish; `acked` runs on PUBACK (never, if the connection drops first). Returns the packet id. */
  publish(topic: string, payload: string, dup: boolean, acked: () => void): number {
    const id = this.nextId;
    this.nextId = (this.nextId % 65_535) + 1;
    this.acks.set(id, acked);
    this.socket.write(publishPacket(topic, payload, id, dup));
    return id;
  }

  /** Cuts the connection without DISCONNECT, as a lost network does. */
  destroy(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) return;
      let len = 0;
      let mult = 1;
      let i = 1;
      for (;;) {
        if (i >= this.buf.length) return;
        const b = this.buf[i++] as number;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) break;
      }
      if (this.buf.length < i + len) return;
      const type = (this.buf[0] as number) >> 4;
      const body = this.buf.subarray(i, i + len);
      this.buf = this.buf.subarray(i + len);
      if (type === CONNACK) {
        const rc = body[1] as number;
        const cb = this.onConnack;
        this.onConnack = undefined;
        cb?.(rc === 0 ? { ok: true } : { ok: false, reason: `CONNACK ${rc}`, returnCode: rc });
      } else if (type === PUBACK) {
        const id = body.readUInt16BE(0);
        const cb = this.acks.get(id);
        this.acks.delete(id);
        cb?.();
      } else if (type === PUBLISH) {
        // Nothing subscribes, so nothing should arrive; ignore rather than fail the run.
      }
    }
  }
}
