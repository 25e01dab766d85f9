import { loadRole, sseRole } from './alerting/roles.js';
import { latencyRun } from './alerting/latency.js';
import { pinnedThroughput } from './alerting/pinned.js';
import { rulesThroughput } from './alerting/throughput.js';
import { flags } from './lib/driver-io.js';

/**
 * Rules engine benchmark (issue 3), also run by `npm run bench` (scenarios `rules` and
 * `alert-latency`, reported in RESULTS.md). Standalone, for diagnostics, it prints JSON:
 *
 *   node --import tsx benchmarks/rules.bench.ts [--part a|b] [--rate 10000] [--warmup 5] [--duration 20]
 *     [--hubs 40] [--per-hub 100] [--gateway-cpu-prof DIR]          (dist/ must be built: npm run build)
 *
 * (a) throughput on one core: alerting/throughput.ts, in a process pinned to the SUT core;
 * (b) reading-to-alert latency through the running gateway: alerting/latency.ts.
 * `--role throughput | load | sse` is how the harness starts its own child processes.
 */
const f = flags();
const num = (name: string, dflt: number): number => (f.has(name) ? Number(f.get(name)) : dflt);

async function main(): Promise<void> {
  const role = f.get('role');
  if (role !== undefined) {
    if (role === 'throughput') {
      const out = await rulesThroughput({ patients: num('patients', 500), days: num('days', 30), e2ePatients: num('e2e-patients', 500), e2eDays: num('e2e-days', 14), pureReps: num('pure-reps', 3), e2eReps: num('e2e-reps', 2) });
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else if (role === 'load') await loadRole(f);
    else if (role === 'sse') await sseRole(f);
    else throw new Error(`unknown role ${role}`);
    // stdin and keep-alive sockets would hold the process open.
    process.exit(0);
  }
  const part = f.get('part') ?? 'both';
  const out: Record<string, unknown> = {};
  if (part !== 'b') out.throughput = await pinnedThroughput({ patients: num('patients', 500), days: num('days', 30), e2ePatients: num('e2e-patients', 500), e2eDays: num('e2e-days', 14), pureReps: 3, e2eReps: 2 });
  if (part !== 'a') {
    const prof = f.get('gateway-cpu-prof');
    out.latency = await latencyRun({ rate: num('rate', 10_000), warmup: num('warmup', 5), duration: num('duration', 20), hubs: num('hubs', 40), perHub: num('per-hub', 100), sutCores: num('sut-cores', 2) === 1 ? 1 : 2, ...(prof === undefined ? {} : { gatewayCpuProf: prof }) });
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
