/**
 * CPU per reading of the single-reading ingest stages on the main thread, each alone in a loop
 * (issue 15): the JSON parser, normalization, the reading id, the request logger Fastify makes per
 * request, and the PUBACKs of one group commit going through the MQTT packet guard. Loads the
 * compiled modules of `--dist` (default `dist`, after `npm run build`), so two builds can be
 * compared: `node --import tsx benchmarks/ingest-stages.ts --dist /path/to/other/dist`.
 * Figures are µs of process CPU (user + system) per operation; the machine's other work inflates
 * them, so compare builds in the same run.
 */
import path from 'node:path';
import { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const dist = path.resolve(arg('dist', 'dist'));
const N = Number(arg('n', '100000'));
const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(path.join(dist, rel)).href)) as T;

const { parseJsonPayload } = await load<typeof import('../core/json/parse-json.js')>('core/json/parse-json.js');
const { normalizeReading } = await load<typeof import('../pipeline/normalize.js')>('pipeline/normalize.js');
const { readingId, idempotencyKey } = await load<typeof import('../pipeline/reading-id.js')>('pipeline/reading-id.js');
const { createLogger } = await load<typeof import('../core/logging.js')>('core/logging.js');
const { GuardedMqttConnection } = await load<typeof import('../gateway/mqtt/packet-guard.js')>('gateway/mqtt/packet-guard.js');
const lazy = await load<Partial<typeof import('../gateway/http/lazy-child-logger.js')>>('gateway/http/lazy-child-logger.js').catch((): Partial<typeof import('../gateway/http/lazy-child-logger.js')> => ({}));

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function time(name: string, ops: number, fn: (i: number) => unknown): void {
  for (let i = 0; i < Math.min(ops, 20_000); i++) fn(i);
  const t0 = cpuUs();
  for (let i = 0; i < ops; i++) fn(i);
  console.log(`${name.padEnd(44)} ${((cpuUs() - t0) / ops).toFixed(2).padStart(7)} µs`);
}

const now = Date.now();
const payloads = Array.from({ length: 1000 }, (_, i) =>
  Buffer.from(
    `{"readings":[{"kind":"blood-pressure","id":"run-${i}-${i * 7}","measuredAt":"${new Date(now - 86_400_000 + i * 60_000).toISOString()}","unit":"mm[Hg]","systolic":121,"diastolic":79,"pulse":68}]}`,
  ),
);
const readings = payloads.map((p) => (parseJsonPayload(p) as { readings: unknown[] }).readings[0]);
const ctx = { transport: 'mqtt' as const, receivedAtMs: now, limits: { futureToleranceMs: 300_000, maxReadingAgeMs: 730 * 86_400_000 }, defaultGlucoseMethod: 'meter' as const };

console.log(`dist: ${dist}`);
time('parseJsonPayload (one-reading payload)', N, (i) => parseJsonPayload(payloads[i % 1000] as Buffer));
time('normalizeReading (blood pressure + pulse)', N, (i) => normalizeReading(readings[i % 1000], ctx));
time('readingId', N, (i) => readingId('dev-000123', idempotencyKey('blood-pressure', now + i)));

const log = createLogger('warn');
time('request logger: pino child (Fastify default)', N, (i) => log.child({ reqId: `req-${i}` }, {}));
if (lazy.lazyChildLogger !== undefined) {
  const make = lazy.lazyChildLogger;
  time('request logger: lazyChildLogger (unused)', N, (i) => make(log, { reqId: `req-${i}` }, {}));
}

/** A transport that counts the writes reaching it (each would be a write system call on a socket). */
class CountingTransport extends Duplex {
  writes = 0;
  override _read(): void {}
  override _write(_chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.writes++;
    callback();
  }
}

/**
 * One PUBACK as aedes writes it through mqtt-packet's writeToStream: the stream corked, the type
 * byte, the remaining length and the packet id as three writes, uncorked on the next tick.
 */
function writePuback(stream: Duplex, messageId: number): void {
  stream.cork();
  process.nextTick(() => stream.uncork());
  stream.write(Buffer.from([0x40]));
  stream.write(Buffer.from([0x02]));
  stream.write(Buffer.from([messageId >> 8, messageId & 0xff]));
}

// 50 PUBACKs released by one group commit on one connection.
const inner = new CountingTransport();
const guarded = new GuardedMqttConnection(inner, { connectMaxBytes: 8192, packetMaxBytes: 65_536 }, () => {});
const groups = Math.max(1, Math.floor(N / 50));
let id = 0;
const burst = async (): Promise<void> => {
  for (let k = 0; k < 50; k++) writePuback(guarded, (id++ % 65_535) + 1);
  await new Promise<void>((resolve) => setImmediate(resolve));
};
for (let g = 0; g < 200; g++) await burst();
inner.writes = 0;
const t0 = cpuUs();
for (let g = 0; g < groups; g++) await burst();
const spent = cpuUs() - t0;
console.log(`${'PUBACK through the packet guard, 50 per tick'.padEnd(44)} ${(spent / (groups * 50)).toFixed(2).padStart(7)} µs, ${(inner.writes / (groups * 50)).toFixed(2)} transport writes per PUBACK`);
