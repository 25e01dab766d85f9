import type { Duplex } from 'node:stream';

/**
 * MQTT 3.1.1 rules for the CONNECT packet that aedes 1.x does not keep, checked on the first
 * bytes of a connection before aedes sees them (aedes offers no hook before its parser):
 *
 * - [MQTT-3.1.2-2] an unsupported protocol level gets CONNACK 0x01 (unacceptable protocol level)
 *   and the connection is closed. aedes' parser (mqtt-packet) refuses levels other than 3, 4 and
 *   5 with a parse error, and aedes drops the connection without any CONNACK, so a device cannot
 *   tell "speak another version" from a network fault. Level 5 (MQTT 5, which aedes 1.x does not
 *   speak) gets the same answer here.
 * - [MQTT-3.1.3-8] a zero-byte client id with CleanSession 0 gets CONNACK 0x02 (identifier
 *   rejected) and the connection is closed: the server cannot keep a session for a client it
 *   cannot name. aedes invents an id and accepts, so the device believes a session is kept that
 *   it can never resume. (MQTT 3.1, level 3, requires 1..23 characters, so an empty id is
 *   refused there whatever the flag.)
 *
 * Anything else (a well-formed CONNECT, or bytes that are not one) is handed to aedes unchanged,
 * the peeked bytes put back first.
 */

export type Verdict = { readonly kind: 'admit' } | { readonly kind: 'refuse'; readonly returnCode: 1 | 2 } | { readonly kind: 'need-more' };

const CONNECT = 1;
const SUPPORTED: ReadonlyMap<string, number> = new Map([
  ['MQTT', 4],
  ['MQIsdp', 3],
]);
/** Enough for the fixed header and the variable header up to the client id length. */
const MAX_PEEK = 64;

/** What to do with a connection, from its first bytes (pure: see connect-gate.test.ts). */
export function inspectConnect(buf: Buffer): Verdict {
  if (buf.length < 1) return { kind: 'need-more' };
  if ((buf[0] as number) >> 4 !== CONNECT) return { kind: 'admit' };
  // Remaining length: 1..4 bytes, 7 bits each.
  let pos = 1;
  for (let i = 0; ; i++) {
    if (pos >= buf.length) return { kind: 'need-more' };
    const b = buf[pos++] as number;
    if ((b & 0x80) === 0) break;
    if (i === 3) return { kind: 'admit' }; // malformed: aedes' parser answers it
  }
  if (buf.length < pos + 2) return { kind: 'need-more' };
  const nameLength = buf.readUInt16BE(pos);
  if (nameLength > 6) return { kind: 'admit' };
  // name, level, connect flags, keep-alive (2), client id length (2)
  const end = pos + 2 + nameLength + 1 + 1 + 2 + 2;
  if (buf.length < end) return { kind: 'need-more' };
  const name = buf.toString('latin1', pos + 2, pos + 2 + nameLength);
  const level = buf[pos + 2 + nameLength] as number;
  const supported = SUPPORTED.get(name);
  if (supported === undefined) return { kind: 'admit' };
  if (level !== supported) return { kind: 'refuse', returnCode: 1 };
  const flags = buf[pos + 2 + nameLength + 1] as number;
  const cleanSession = (flags & 0x02) !== 0;
  const clientIdLength = buf.readUInt16BE(end - 2);
  if (clientIdLength === 0 && (level === 3 || !cleanSession)) return { kind: 'refuse', returnCode: 2 };
  return { kind: 'admit' };
}

/**
 * Reads the first bytes of `stream` until the CONNECT can be judged; then either calls `admit`
 * with the bytes put back (hand the stream to aedes there), or answers CONNACK and closes.
 * A connection that sends too little within `timeoutMs` is closed, as aedes' connect timeout would.
 */
export function gateConnect(stream: Duplex, admit: () => void, timeoutMs: number): void {
  let peeked = Buffer.alloc(0);
  const timer = setTimeout(() => finish({ kind: 'refuse-silently' }), timeoutMs);
  timer.unref();
  const onReadable = (): void => {
    for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) peeked = Buffer.concat([peeked, chunk]);
    const verdict = inspectConnect(peeked);
    if (verdict.kind === 'need-more' && peeked.length < MAX_PEEK) return;
    finish(verdict.kind === 'need-more' ? { kind: 'admit' } : verdict);
  };
  const onGone = (): void => finish({ kind: 'refuse-silently' });
  const finish = (verdict: Verdict | { kind: 'refuse-silently' }): void => {
    clearTimeout(timer);
    stream.off('readable', onReadable);
    stream.off('end', onGone);
    stream.off('close', onGone);
    stream.off('error', onGone);
    if (verdict.kind === 'admit') {
      if (peeked.length > 0) stream.unshift(peeked);
      admit();
      return;
    }
    stream.on('error', () => undefined);
    if (verdict.kind === 'refuse') {
      // CONNACK, then disconnect: the device closes its side on reading it; one that does not is cut.
      stream.end(Buffer.from([0x20, 0x02, 0x00, verdict.returnCode]));
      setTimeout(() => stream.destroy(), 1000).unref();
    } else {
      stream.destroy();
    }
  };
  stream.on('readable', onReadable);
  stream.once('end', onGone);
  stream.once('close', onGone);
  stream.once('error', onGone);
}
