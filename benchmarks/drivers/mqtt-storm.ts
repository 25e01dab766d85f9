import { createInterface } from 'node:readline';
import * as hdr from 'hdr-histogram-js';
import { fleetSlice, flags, num } from '../lib/driver-io.js';
import { type ConnectOutcome, WireClient } from '../lib/mqtt-wire.js';
import { readingJson } from '../lib/readings.js';
import type { BenchDevice } from '../lib/readings.js';

/**
 * Reconnect-storm driver for devices[from, to) (method §4 M4), raw MQTT (lib/mqtt-wire.ts).
 *
 * 1. Before: each device connects, publishes --pre readings and waits for their PUBACKs, then
 *    publishes --unacked more and cuts the connection at once (a carrier outage mid-upload:
 *    those readings may or may not have been committed; the device never saw the PUBACK).
 *    Prints `{"event":"pre-done"}`.
 * 2. On `storm <epochMs> <windowMs> <devicesInStorm>` (stdin): device i reconnects at epochMs +
 *    its slot in the window (slots spread every driver's devices over the whole window), replays
 *    the unacknowledged readings (same ids and bodies, DUP set) and then its --backlog readings
 *    buffered during the outage, all in flight at once. A refused CONNECT (CONNACK 3) or a
 *    connection lost before every PUBACK is retried 0.5–1.5 s later, replaying what is unacked.
 *    Prints `{"event":"storm-done", …}` when every device has every reading acknowledged.
 * 3. On `close`: drops every connection and exits.
 */
const f = flags();
const { host, port, devices, from, to, concurrency, localAddress, auth } = fleetSlice<BenchDevice>(f);
const pre = num(f, 'pre', 1);
const unacked = num(f, 'unacked', 2);
const backlog = num(f, 'backlog', 5);
const tag = f.get('tag') ?? process.pid.toString(36);
// Measurement times: one reading a minute, ending before the run started (all in the past).
const baseMs = num(f, 'base-ms', Date.now() - (pre + unacked + backlog + 10) * 60_000);

interface Dev {
  readonly i: number;
  readonly topic: string;
  /** Readings not yet acknowledged (indexes into the device's sequence). */
  readonly pending: Set<number>;
  /** Readings sent at least once (a resend carries DUP). */
  readonly sent: Set<number>;
  client: WireClient | undefined;
  scheduledAt: number;
  done: boolean;
}

const body = (d: BenchDevice, n: number): string => `{"readings":[${readingJson(`${d.id}-s${n}`, new Date(baseMs + n * 60_000).toISOString())}]}`;
const hist = (): hdr.Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
const connectHist = hist();
const catchUpHist = hist();
const devs: Dev[] = [];
for (let i = from; i < to; i++) devs.push({ i, topic: `devices/${(devices[i] as BenchDevice).id}/readings`, pending: new Set(), sent: new Set(), client: undefined, scheduledAt: 0, done: false });
let busyRefusals = 0;
let otherRefusals = 0;
let lostDuringReplay = 0;
let acked = 0;
let storming = false;
let remaining = devs.length;
let firstConnackAt = Number.POSITIVE_INFINITY;
let lastConnackAt = 0;
let lastAckAt = 0;

function connect(dev: Dev, then: (c: WireClient) => void, retry: () => void): void {
  const d = devices[dev.i] as BenchDevice;
  const t0 = performance.now();
  const o = { clientId: `s${tag}-${dev.i}`, keepaliveS: 3600, ...(auth ? { username: d.id, password: d.secret } : {}) };
  WireClient.connect(host, port, localAddress, o, (client: WireClient, outcome: ConnectOutcome) => {
    if (!outcome.ok) {
      if (outcome.returnCode === 3) busyRefusals++;
      else otherRefusals++;
      client.destroy();
      retry();
      return;
    }
    if (storming) {
      const now = Date.now();
      connectHist.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      firstConnackAt = Math.min(firstConnackAt, now);
      lastConnackAt = Math.max(lastConnackAt, now);
    }
    dev.client = client;
    then(client);
  });
}

/** Sends every pending reading; calls `allAcked` once none is pending. */
function flush(dev: Dev, client: WireClient, allAcked: () => void): void {
  const d = devices[dev.i] as BenchDevice;
  for (const n of [...dev.pending].sort((a, b) => a - b)) {
    const dup = dev.sent.has(n);
    dev.sent.add(n);
    client.publish(dev.topic, body(d, n), dup, () => {
      if (!dev.pending.delete(n)) return;
      acked++;
      if (storming) lastAckAt = Date.now();
      if (dev.pending.size === 0) allAcked();
    });
  }
}

// ---- phase 1: before the outage -------------------------------------------------------------
let next = 0;
let active = 0;
function preOne(dev: Dev): void {
  for (let n = 0; n < pre; n++) dev.pending.add(n);
  connect(
    dev,
    (client) =>
      flush(dev, client, () => {
        // The upload that the outage interrupts: written, never acknowledged (the socket goes now).
        for (let n = pre; n < pre + unacked; n++) {
          dev.pending.add(n);
          dev.sent.add(n);
          client.publish(dev.topic, body(devices[dev.i] as BenchDevice, n), false, () => undefined);
        }
        client.destroy();
        active--;
        pumpPre();
      }),
    () => setTimeout(() => preOne(dev), 50 + Math.random() * 100),
  );
}
function pumpPre(): void {
  while (active < concurrency && next < devs.length) {
    active++;
    preOne(devs[next++] as Dev);
  }
  if (active === 0 && next >= devs.length) process.stdout.write(`${JSON.stringify({ event: 'pre-done', devices: devs.length, acked })}\n`);
}

// ---- phase 2: the storm ------------------------------------------------------------------------
function reconnect(dev: Dev): void {
  connect(
    dev,
    (client) => {
      client.onClose = () => {
        if (dev.done || !storming) return;
        lostDuringReplay++;
        setTimeout(() => reconnect(dev), 500 + Math.random() * 1000);
      };
      flush(dev, client, () => {
        dev.done = true;
        catchUpHist.recordValue(Math.max(1, Math.round((Date.now() - dev.scheduledAt) * 1000)));
        if (--remaining === 0) stormDone();
      });
    },
    () => setTimeout(() => reconnect(dev), 500 + Math.random() * 1000),
  );
}

let stormStart = 0;
function storm(startMs: number, windowMs: number, total: number): void {
  storming = true;
  stormStart = startMs;
  acked = 0;
  for (const dev of devs) {
    for (let n = pre + unacked; n < pre + unacked + backlog; n++) dev.pending.add(n);
    // Slot: a fixed permutation of 0..total-1 (7919 is prime), so each driver covers the whole window.
    dev.scheduledAt = startMs + (((dev.i * 7919) % total) / total) * windowMs;
    setTimeout(() => reconnect(dev), Math.max(0, dev.scheduledAt - Date.now()));
  }
}

function stormDone(): void {
  const pct = (h: hdr.Histogram): { p50: number; p99: number; max: number } => ({ p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, max: h.maxValue / 1000 });
  process.stdout.write(
    `${JSON.stringify({
      event: 'storm-done',
      devices: devs.length,
      ackedReadings: acked,
      connectMs: pct(connectHist),
      catchUpMs: pct(catchUpHist),
      busyRefusals,
      otherRefusals,
      lostDuringReplay,
      firstConnackAt,
      lastConnackAt,
      lastAckAt,
      drainMs: lastAckAt - stormStart,
    })}\n`,
  );
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, ...rest] = line.trim().split(' ');
  if (cmd === 'storm') storm(Number(rest[0]), Number(rest[1]), Number(rest[2]));
  else if (cmd === 'close') {
    storming = false;
    for (const d of devs) d.client?.destroy();
    process.stdout.write(`${JSON.stringify({ event: 'closed', notDone: devs.filter((d) => !d.done).length })}\n`);
    setTimeout(() => process.exit(0), 50);
  }
});
pumpPre();
