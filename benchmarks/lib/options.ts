import { flags, num } from './driver-io.js';
import type { Load, ScenarioId } from './scenarios.js';

/** Command-line options of `npm run bench` (benchmarks/run.ts). */

export const INGEST_IDS = ['http-single', 'http-batch', 'mqtt'] as const;
export const EXTRA_IDS = ['idle', 'storm', 'rules', 'alert-latency'] as const;
/** Run only when named in --only: the soak takes an hour by itself. */
export const OPT_IN_IDS = ['soak', 'faults', 'distributed'] as const;
export type ExtraId = (typeof EXTRA_IDS)[number] | (typeof OPT_IN_IDS)[number];
export type AnyScenarioId = ScenarioId | ExtraId;

export const USAGE = `npm run bench -- [options]

  --only a,b        scenarios: http-single, http-batch, mqtt, idle, storm, rules, alert-latency (default: all);
                    only when named: soak (an hour: memory and event loop under mixed load → SOAK.md,
                    soak-rss.png), faults (overload, store failure, disk full; acknowledged vs stored → FAULTS.md),
                    distributed (the single process vs 1 and 2 gateways + 2 workers on PostgreSQL, Redis and
                    VictoriaMetrics: readings/s, CPU per reading over every process, alert latency → DISTRIBUTED.md)
  --quick           development smoke test, about 2–3 min: 1 rep × (1 s + 3 s) ingest, idle 2k/5k,
                    storm 1,000 devices over 10 s, small rules workload, alert latency 2 s + 5 s
  --reps N          ingest: interleaved repetitions per system (default 3)
  --warmup S        ingest: warm-up seconds before each measured window (default 2)
  --duration S      ingest: measured seconds per repetition (default 8)
  --set k=v,...     change an ingest load, e.g. mqtt.connections=50,mqtt.window=20,http-batch.batch=500
                    (keys: connections, window, batch, devices)
  --idle-steps a,b  idle connections per step (default 10000,20000,50000)
  --idle-reps N     idle: interleaved repetitions (default 2)
  --storm-devices N, --storm-window S   reconnect storm size and window (default 10000 over 60 s)
  --rate N          alert-latency: readings/s (default 10000); --latency-duration S (default 20)
  --latency-sut-cores N  alert-latency: cores our gateway may use, 2 (default: both, as npm start
                    runs; the generator stays on core 0) or 1 (pinned to core 1 like the ingest scenarios)
  --soak-minutes N  soak duration (default 60); --soak-patients N (default 100); --soak-history N
                    readings of history per patient (default 3000); any other value writes SOAK.partial.md
  --overload-seconds S  faults: how long the overload lasts (default 60)
  --gateway-env K=V,...  extra RPM_* settings for our gateway in ingest scenarios (diagnostics)
  --profile         ingest only: our gateway alone under node --cpu-prof; writes benchmarks/profiles/
  --note TEXT       a line for the report (e.g. what else ran on the machine)
  --no-build        skip npm run build (dist/ must be current)

A full default run writes benchmarks/RESULTS.md and results.json; any option that changes what is
measured (all but --note and --no-build) writes RESULTS.partial.md / results.partial.json instead.`;

export interface BenchOptions {
  readonly argv: readonly string[];
  readonly help: boolean;
  readonly quick: boolean;
  readonly only: readonly AnyScenarioId[];
  readonly reps: number;
  readonly warmup: number;
  readonly duration: number;
  readonly overrides: Partial<Record<ScenarioId, Partial<Record<keyof Load, number>>>>;
  readonly gatewayEnv: Readonly<Record<string, string>>;
  readonly profile: boolean;
  readonly build: boolean;
  readonly note?: string;
  readonly idle: { readonly steps: readonly number[]; readonly reps: number };
  readonly storm: { readonly devices: number; readonly windowS: number; readonly coldDevices: number; readonly legacyDevices: number };
  readonly rules: { readonly patients: number; readonly days: number; readonly e2ePatients: number; readonly e2eDays: number; readonly pureReps: number; readonly e2eReps: number };
  readonly latency: { readonly rate: number; readonly warmup: number; readonly duration: number; readonly sutCores: 1 | 2 };
  readonly soak: { readonly minutes: number; readonly patients: number; readonly historyPerPatient: number; readonly partial: boolean };
  readonly overloadSeconds: number;
  /** Output goes to RESULTS.partial.md: the run is not the full default suite. */
  readonly partial: boolean;
}

const NEUTRAL = new Set(['note', 'no-build']);

export function parseOptions(argv: readonly string[]): BenchOptions {
  const f = flags(argv);
  const quick = f.has('quick');
  const overrides: Partial<Record<ScenarioId, Partial<Record<keyof Load, number>>>> = {};
  for (const kv of (f.get('set') ?? '').split(',').filter((s) => s !== '')) {
    const m = /^(http-single|http-batch|mqtt)\.(connections|window|batch|devices)=(\d+)$/.exec(kv);
    if (m === null) throw new Error(`--set: cannot read '${kv}'`);
    const [, id, key, value] = m as unknown as [string, ScenarioId, keyof Load, string];
    overrides[id] = { ...(overrides[id] ?? {}), [key]: Number(value) };
  }
  const gatewayEnv: Record<string, string> = {};
  for (const kv of (f.get('gateway-env') ?? '').split(',').filter((x) => x !== '')) {
    const m = /^(RPM_[A-Z0-9_]+)=(.*)$/.exec(kv);
    if (m === null) throw new Error(`--gateway-env: cannot read '${kv}'`);
    gatewayEnv[m[1] as string] = m[2] as string;
  }
  const all: readonly AnyScenarioId[] = [...INGEST_IDS, ...EXTRA_IDS];
  const known: readonly AnyScenarioId[] = [...all, ...OPT_IN_IDS];
  const only = (f.get('only')?.split(',') ?? all) as AnyScenarioId[];
  const unknown = only.filter((x) => !known.includes(x));
  if (unknown.length > 0) throw new Error(`--only: unknown scenario(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const soak = { minutes: num(f, 'soak-minutes', quick ? 2 : 60), patients: num(f, 'soak-patients', quick ? 20 : 100), historyPerPatient: num(f, 'soak-history', quick ? 1000 : 3000) };
  const stepsFlag = f.get('idle-steps');
  const note = f.get('note');
  return {
    argv,
    help: f.has('help') || f.has('h'),
    quick,
    only,
    reps: num(f, 'reps', quick ? 1 : 3),
    warmup: num(f, 'warmup', quick ? 1 : 2),
    duration: num(f, 'duration', quick ? 3 : 8),
    overrides,
    gatewayEnv,
    profile: f.has('profile'),
    build: !f.has('no-build'),
    ...(note === undefined ? {} : { note }),
    idle: { steps: stepsFlag === undefined ? (quick ? [2000, 5000] : [10_000, 20_000, 50_000]) : stepsFlag.split(',').map(Number), reps: num(f, 'idle-reps', quick ? 1 : 2) },
    storm: { devices: num(f, 'storm-devices', quick ? 1000 : 10_000), windowS: num(f, 'storm-window', quick ? 10 : 60), coldDevices: quick ? 1000 : 5000, legacyDevices: quick ? 32 : 64 },
    rules: quick ? { patients: 100, days: 30, e2ePatients: 100, e2eDays: 14, pureReps: 1, e2eReps: 1 } : { patients: 500, days: 30, e2ePatients: 500, e2eDays: 14, pureReps: 3, e2eReps: 2 },
    latency: { rate: num(f, 'rate', 10_000), warmup: quick ? 2 : 5, duration: num(f, 'latency-duration', quick ? 5 : 20), sutCores: num(f, 'latency-sut-cores', 2) === 1 ? 1 : 2 },
    soak: { ...soak, partial: soak.minutes !== 60 || soak.patients !== 100 || soak.historyPerPatient !== 3000 },
    overloadSeconds: num(f, 'overload-seconds', quick ? 15 : 60),
    partial: [...f.keys()].some((k) => !NEUTRAL.has(k)),
  };
}
