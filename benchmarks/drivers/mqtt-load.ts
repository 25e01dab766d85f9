import { readFileSync } from 'node:fs';
import * as hdr from 'hdr-histogram-js';
import { connectAsync, type MqttClient } from 'mqtt';
import { emit, flags, num, str } from '../lib/driver-io.js';
import { type BenchDevice, EnvelopeSource, runTag, timeMapFromFlags } from '../lib/readings.js';

/**
 * MQTT load driver: MQTT.js 5, --clients connections (client i acts as device i mod N), each
 * keeping --window QoS 1 publishes of --batch readings in flight to devices/{id}/readings.
 * Latency is publish → PUBACK. After the measured window it stops publishing and waits for
 * every outstanding PUBACK, so acked == stored can be checked exactly.
 *
 *   node dist/benchmarks/drivers/mqtt-load.js --url mqtt://127.0.0.1:PORT --devices devices.json
 *     --clients 20 --window 50 --batch 1 --warmup 3 --duration 10 [--auth]
 */
const f = flags();
const url = str(f, 'url');
const devices = JSON.parse(readFileSync(str(f, 'devices'), 'utf8')) as BenchDevice[];
const clientCount = num(f, 'clients', 20);
const window = num(f, 'window', 50);
const batch = num(f, 'batch', 1);
const warmup = num(f, 'warmup', 3);
const duration = num(f, 'duration', 10);
const auth = f.get('auth') === 'true';
const tag = f.get('tag') ?? runTag();
const time = timeMapFromFlags(f);

interface Lane {
  readonly client: MqttClient;
  readonly topic: string;
  readonly source: EnvelopeSource;
  inFlight: number;
}

const notes: string[] = [];
const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
let running = true;
let measuring = false;
let measuredAcks = 0;
let totalAcks = 0;
let errors = 0;
let outstanding = 0;
let drained: (() => void) | undefined;

const lanes: Lane[] = [];
for (let i = 0; i < clientCount; i++) {
  const device = devices[i % devices.length] as BenchDevice;
  const client = await connectAsync(url, {
    clientId: `b${tag}-${i}`,
    ...(auth ? { username: device.id, password: device.secret } : {}),
    clean: true,
    keepalive: 60,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  client.on('error', (err) => notes.push(`client ${i}: ${err.message}`));
  client.on('close', () => {
    if (running) notes.push(`client ${i} closed during the run`);
  });
  lanes.push({ client, topic: `devices/${device.id}/readings`, source: new EnvelopeSource(`${tag}-${i}`, batch, time, { index: i, of: clientCount }), inFlight: 0 });
}

const send = (lane: Lane): void => {
  const t0 = performance.now();
  lane.inFlight++;
  outstanding++;
  lane.client.publish(lane.topic, lane.source.next(), { qos: 1 }, (err) => {
    lane.inFlight--;
    outstanding--;
    if (err) errors++;
    else {
      totalAcks++;
      if (measuring) {
        measuredAcks++;
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      }
    }
    if (running) pump(lane);
    else if (outstanding === 0) drained?.();
  });
};

const pump = (lane: Lane): void => {
  while (running && lane.inFlight < window && !lane.client.disconnected) send(lane);
};

const sleep = (s: number): Promise<void> => new Promise((r) => setTimeout(r, s * 1000));

for (const lane of lanes) pump(lane);
await sleep(warmup);
measuring = true;
emit({ event: 'start' });
const t0 = performance.now();
await sleep(duration);
measuring = false;
const seconds = (performance.now() - t0) / 1000;
emit({ event: 'stop' });
running = false;

if (outstanding > 0) {
  await Promise.race([new Promise<void>((r) => (drained = r)), sleep(30)]);
  if (outstanding > 0) notes.push(`${outstanding} publishes still unacknowledged 30 s after the run`);
}
await Promise.all(lanes.map((l) => l.client.endAsync().catch(() => undefined)));

emit({
  event: 'result',
  seconds,
  ackedMessages: measuredAcks,
  ackedReadings: measuredAcks * batch,
  totalAckedReadings: totalAcks * batch,
  unackedInFlightBound: outstanding * batch,
  errors,
  non2xx: 0,
  latencyMs: {
    p50: histogram.getValueAtPercentile(50) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    max: histogram.maxValue / 1000,
  },
  notes: [...new Set(notes)].slice(0, 10),
});
process.exit(0);
