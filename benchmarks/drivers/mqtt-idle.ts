import { createInterface } from 'node:readline';
import * as hdr from 'hdr-histogram-js';
import { fleetSlice, flags, num } from '../lib/driver-io.js';
import { type ConnectOutcome, WireClient } from '../lib/mqtt-wire.js';
import type { BenchDevice } from '../lib/readings.js';

/**
 * Idle-connection driver: connects devices[from, to) over raw MQTT (lib/mqtt-wire.ts), at most
 * --concurrency CONNECTs outstanding, and then holds them open without sending anything until
 * a `close` line on stdin (or, with --then close, closes them at once). A CONNACK 3 (server busy,
 * e.g. more than 16 argon2id credentials of earlier versions being checked at once) is retried
 * after a short pause, as a device would.
 *
 *   node dist/benchmarks/drivers/mqtt-idle.js --port P --devices devices.json --from 0 --to 5000
 *     [--host 127.0.0.1] [--local-address 127.0.0.9] [--concurrency 16] [--auth] [--then hold|close]
 *
 * Prints one JSON line `{"event":"connected",…}` when every device is connected or given up.
 */
const f = flags();
const { host, port, devices, from, to, concurrency, localAddress, auth } = fleetSlice<BenchDevice>(f);
const then = f.get('then') ?? 'hold';
const tag = f.get('tag') ?? process.pid.toString(36);
// Longer than any run: the broker must not drop a connection that sends nothing.
const keepaliveS = num(f, 'keepalive', 3600);

const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
const clients: WireClient[] = [];
const reasons = new Map<string, number>();
let ok = 0;
let failed = 0;
let busyRetries = 0;
let droppedAfterConnect = 0;
let next = from;
let active = 0;
let holding = true;
const t0 = performance.now();

function attempt(i: number, firstAt: number, tries: number): void {
  const d = devices[i] as BenchDevice;
  const o = { clientId: `i${tag}-${i}`, keepaliveS, ...(auth ? { username: d.id, password: d.secret } : {}) };
  WireClient.connect(host, port, localAddress, o, (client: WireClient, outcome: ConnectOutcome) => {
    if (outcome.ok) {
      histogram.recordValue(Math.max(1, Math.round((performance.now() - firstAt) * 1000)));
      ok++;
      clients.push(client);
      client.onClose = () => {
        if (holding) droppedAfterConnect++;
      };
      finish();
    } else if (outcome.returnCode === 3 && tries < 500) {
      busyRetries++;
      client.destroy();
      setTimeout(() => attempt(i, firstAt, tries + 1), 20 + Math.random() * 80);
    } else {
      failed++;
      reasons.set(outcome.reason, (reasons.get(outcome.reason) ?? 0) + 1);
      client.destroy();
      finish();
    }
  });
}

function finish(): void {
  active--;
  pump();
}

function pump(): void {
  while (active < concurrency && next < to) {
    active++;
    attempt(next++, performance.now(), 0);
  }
  if (active === 0 && next >= to) report();
}

function report(): void {
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      event: 'connected',
      ok,
      failed,
      busyRetries,
      seconds,
      connectMs: { p50: histogram.getValueAtPercentile(50) / 1000, p99: histogram.getValueAtPercentile(99) / 1000, max: histogram.maxValue / 1000 },
      reasons: Object.fromEntries(reasons),
    })}\n`,
  );
  if (then === 'close') close();
}

function close(): void {
  holding = false;
  for (const c of clients) c.destroy();
  process.stdout.write(`${JSON.stringify({ event: 'closed', droppedAfterConnect })}\n`);
  // Let the line out before exiting.
  setTimeout(() => process.exit(0), 50);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'close') close();
  else if (line.trim() === 'status') process.stdout.write(`${JSON.stringify({ event: 'status', open: clients.filter((c) => !c.closed).length, droppedAfterConnect })}\n`);
});
process.on('SIGTERM', close);
pump();
