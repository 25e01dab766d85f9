import { Duplex } from 'node:stream';

export interface PacketLimits {
  /** Largest first packet (CONNECT), before the client has authenticated. */
  readonly connectMaxBytes: number;
  /** Largest packet once authenticated (a PUBLISH: its payload plus topic and packet id). */
  readonly packetMaxBytes: number;
}

/** A transport aedes can use (a TCP or TLS socket, or a WebSocket stream). */
type Transport = Duplex & { readonly remoteAddress?: string };

/**
 * Caps MQTT packet sizes before aedes buffers them. aedes (through mqtt-packet) reads a packet's
 * remaining length and then collects that many bytes, whatever it is: an unauthenticated client
 * could make the broker buffer a 200 MB CONNECT, an authenticated one a 50 MB PUBLISH.
 *
 * This stream sits between the transport and aedes and reads only the fixed header of each
 * packet (type byte and remaining length, MQTT 3.1.1 §2.2), passing the bytes through untouched:
 * - the first packet may not be larger than `connectMaxBytes`;
 * - nothing after it reaches aedes before authentication succeeds (`authenticated()`): the
 *   transport is paused instead, so pre-authentication memory is one CONNECT and one chunk, while
 *   a hub that pipelines its backlog right after CONNECT is still served once accepted;
 * - afterwards no packet may be larger than `packetMaxBytes`.
 * A packet over its limit (or a malformed length) closes the connection at once.
 */
export class GuardedMqttConnection extends Duplex {
  private isAuthenticated = false;
  private packets = 0;
  /** Parser state: reading a header byte, the length varint, or skipping a body. */
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;
  /** Bytes not yet passed on while waiting for authentication. */
  private held: Buffer | null = null;
  /** aedes has not read what we passed on yet. */
  private full = false;

  constructor(
    private readonly inner: Transport,
    private readonly limits: PacketLimits,
    private readonly onRefused: (reason: string) => void,
  ) {
    super({ allowHalfOpen: false });
    inner.on('data', (chunk: Buffer) => this.receive(chunk));
    inner.once('end', () => this.push(null));
    inner.once('error', (err) => this.destroy(err));
    inner.once('close', () => this.destroy());
  }

  get remoteAddress(): string | undefined {
    return this.inner.remoteAddress;
  }

  /** The transport underneath (a TLS socket carries the client certificate). */
  get transport(): Transport {
    return this.inner;
  }

  /** Authentication succeeded: later packets may be up to `packetMaxBytes`. */
  authenticated(): void {
    if (this.isAuthenticated) return;
    this.isAuthenticated = true;
    const held = this.held;
    this.held = null;
    if (held !== null) this.receive(held);
    if (this.held === null && !this.full && !this.destroyed) this.inner.resume();
  }

  override _read(): void {
    this.full = false;
    if (this.held === null) this.inner.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.inner.write(chunk, encoding, callback);
  }

  /**
   * What aedes wrote while this stream was corked, passed on as one write. mqtt-packet corks the
   * stream for every packet it writes (a PUBACK is three writes: type, length, packet id) and a
   * group commit releases many PUBACKs of one connection in the same tick; without this, each
   * piece would be its own trip through the transport's stream and its own `write` system call.
   */
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: (err?: Error | null) => void): void {
    if (chunks.length === 1) {
      const only = chunks[0] as { chunk: Buffer; encoding: BufferEncoding };
      this.inner.write(only.chunk, only.encoding, callback);
      return;
    }
    this.inner.write(
      Buffer.concat(chunks.map((c) => c.chunk)),
      callback,
    );
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.inner.destroy();
    callback(err);
  }

  private receive(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'type') {
        if (this.packets === 1 && !this.isAuthenticated) {
          // The CONNECT went through; the rest waits for its verdict.
          this.hold(chunk, i);
          return;
        }
        this.packets++;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        i++;
      } else if (this.state === 'length') {
        const byte = chunk[i] as number;
        i++;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if ((byte & 0x80) === 0) {
          const max = this.packets === 1 ? this.limits.connectMaxBytes : this.limits.packetMaxBytes;
          if (this.length > max) return this.refuse(`${this.packets === 1 ? 'first packet' : 'packet'} of ${this.length} bytes is over the ${max}-byte limit`);
          this.bodyLeft = this.length;
          this.state = this.bodyLeft === 0 ? 'type' : 'body';
        } else if (this.lengthBytes === 4) {
          return this.refuse('malformed remaining length');
        }
      } else {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        i += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0) this.state = 'type';
      }
    }
    this.pass(chunk);
  }

  private hold(chunk: Buffer, at: number): void {
    if (at > 0) this.pass(chunk.subarray(0, at));
    this.held = this.held === null ? chunk.subarray(at) : Buffer.concat([this.held, chunk.subarray(at)]);
    this.inner.pause();
  }

  private pass(bytes: Buffer): void {
    if (bytes.length > 0 && !this.push(bytes)) {
      this.full = true;
      this.inner.pause();
    }
  }

  private refuse(reason: string): void {
    this.onRefused(reason);
    this.destroy();
  }
}

/** Marks the connection of an authenticated client (aedes' `client.conn`), if it is guarded. */
export function packetGuardAuthenticated(conn: unknown): void {
  if (conn instanceof GuardedMqttConnection) conn.authenticated();
}
