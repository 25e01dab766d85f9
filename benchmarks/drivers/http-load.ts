import { readFileSync } from 'node:fs';
import autocannon, { type AutocannonClient, type RequestData, type Result } from 'autocannon';
import { emit, flags, num, str } from '../lib/driver-io.js';
import { type BenchDevice, EnvelopeSource, runTag, timeMapFromFlags } from '../lib/readings.js';

/**
 * HTTP load driver: autocannon (programmatic, one process, pipelining 1 as devices do not
 * pipeline). Connection i acts as device i mod N and sends bodies of --batch readings with
 * fresh client ids. A warm-up run, then the measured run.
 *
 *   node dist/benchmarks/drivers/http-load.js --url http://127.0.0.1:PORT --devices devices.json
 *     --connections 100 --batch 1 --warmup 3 --duration 10
 */
const f = flags();
const url = str(f, 'url');
const devices = JSON.parse(readFileSync(str(f, 'devices'), 'utf8')) as BenchDevice[];
const connections = num(f, 'connections', 100);
const batch = num(f, 'batch', 1);
const warmup = num(f, 'warmup', 3);
const duration = num(f, 'duration', 10);
const tag = f.get('tag') ?? runTag();
const time = timeMapFromFlags(f);

let clientNo = 0;
const setupClient = (client: AutocannonClient): void => {
  const i = clientNo++;
  const device = devices[i % devices.length] as BenchDevice;
  const source = new EnvelopeSource(`${tag}-${i}`, batch, time, { index: i % connections, of: connections });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${device.secret}` };
  client.setRequests([
    {
      method: 'POST',
      path: '/v1/readings',
      headers,
      setupRequest: (req: RequestData) => {
        req.body = source.next();
        return req;
      },
    },
  ]);
};

const run = (seconds: number): Promise<Result> =>
  autocannon({ url, connections, pipelining: 1, duration: seconds, timeout: 30, setupClient });

const notes: string[] = [];
let total2xx = 0;
if (warmup > 0) {
  const w = await run(warmup);
  total2xx += w['2xx'];
  if (w.non2xx > 0 || w.errors > 0) notes.push(`warm-up: ${w.non2xx} non-2xx, ${w.errors} errors`);
}
emit({ event: 'start' });
const t0 = performance.now();
const r = await run(duration);
const seconds = (performance.now() - t0) / 1000;
emit({ event: 'stop' });
total2xx += r['2xx'];
if (r.timeouts > 0) notes.push(`${r.timeouts} timeouts`);
const codes = Object.entries(r.statusCodeStats)
  .filter(([code]) => !code.startsWith('2'))
  .map(([code, s]) => `${code}×${s.count}`);
if (codes.length > 0) notes.push(`status ${codes.join(', ')}`);

emit({
  event: 'result',
  seconds,
  ackedMessages: r['2xx'],
  ackedReadings: r['2xx'] * batch,
  totalAckedReadings: total2xx * batch,
  // autocannon abandons the requests in flight when a run ends; each run may leave one per connection.
  unackedInFlightBound: (warmup > 0 ? 2 : 1) * connections * batch,
  errors: r.errors,
  non2xx: r.non2xx,
  latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
  notes,
});
process.exit(0);
