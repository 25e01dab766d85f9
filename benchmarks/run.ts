import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { latencyRun } from './alerting/latency.js';
import { pinnedThroughput } from './alerting/pinned.js';
import { profileMarkdown, summarizeProfile } from './lib/cpuprofile.js';
import { runIdleCapacity } from './lib/idle-capacity.js';
import { type ExtraId, parseOptions, USAGE } from './lib/options.js';
import { canPin, commandLine } from './lib/proc.js';
import { describeMachine, type ExtraResults, resultsMarkdown } from './lib/report.js';
import { type ScenarioResult, runScenario } from './lib/run-scenario.js';
import { scenarioSpecs } from './lib/scenarios.js';
import { runStorm } from './lib/storm.js';
import { runDistributedBench } from './distributed/distributed.js';
import { runFaults } from './faults/faults.js';
import { runSoak } from './soak/soak.js';

/**
 * `npm run bench`: the side-by-side suite (README.md). Ingest scenarios run timed windows with
 * interleaved repetitions (lib/run-scenario.ts); the connection and rules scenarios have their
 * own drivers (lib/idle-capacity.ts, lib/storm.ts, alerting/). One report: RESULTS.md.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const o = parseOptions(process.argv.slice(2));
if (o.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const log = (line: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const started = Date.now();

if (o.build) {
  log('npm run build');
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
const machine = describeMachine(root, canPin());
if (!machine.pinned) log('warning: taskset is not usable here; generator and SUT are NOT pinned to separate cores');
const timings: Record<string, number> = { build: (Date.now() - started) / 1000 };
const timed = async <T>(id: string, run: () => Promise<T>): Promise<T> => {
  const t0 = Date.now();
  try {
    return await run();
  } finally {
    timings[id] = (Date.now() - t0) / 1000;
  }
};

let specs = scenarioSpecs(o.overrides).filter((s) => o.only.includes(s.id));
if (o.profile) specs = specs.map((s) => ({ ...s, systems: ['ours'] }));
const profileDir = path.join(root, 'benchmarks', 'profiles');
const results: ScenarioResult[] = [];
for (const spec of specs) {
  log(`${spec.id}: ${spec.title}`);
  const scenarioProfileDir = o.profile ? path.join(profileDir, `${spec.id}-raw`) : undefined;
  const opts = { root, reps: o.reps, warmup: o.warmup, duration: o.duration, log, gatewayEnv: o.gatewayEnv, ...(scenarioProfileDir === undefined ? {} : { profileDir: scenarioProfileDir }) };
  // A fresh directory each run: a profile left from an earlier run must not be taken for this one.
  if (scenarioProfileDir !== undefined) {
    rmSync(scenarioProfileDir, { recursive: true, force: true });
    mkdirSync(scenarioProfileDir, { recursive: true });
  }
  results.push(await timed(spec.id, () => runScenario(spec, opts)));
  if (scenarioProfileDir !== undefined) {
    // The main thread's (thread id 0: CPU.<date>.<time>.<pid>.0.<n>.cpuprofile), not the writer thread's.
    const file = readdirSync(scenarioProfileDir).find((n) => /\.0\.\d+\.cpuprofile$/.test(n));
    if (file === undefined) throw new Error(`no .cpuprofile in ${scenarioProfileDir}`);
    const target = path.join(profileDir, `${spec.id}.cpuprofile`);
    renameSync(path.join(scenarioProfileDir, file), target);
    writeFileSync(path.join(profileDir, `${spec.id}.md`), profileMarkdown(`${spec.id}: gateway CPU profile`, summarizeProfile(target)));
    log(`  profile: ${path.relative(root, target)} and ${spec.id}.md`);
  }
}

const extras: { -readonly [K in keyof ExtraResults]: ExtraResults[K] } = {};
const want = (id: ExtraId): boolean => !o.profile && o.only.includes(id);
if (want('rules')) {
  log('rules: rules engine throughput on one core');
  extras.rules = await timed('rules', () => pinnedThroughput(o.rules));
}
if (want('alert-latency')) {
  log(`alert-latency: reading-to-alert latency at ${o.latency.rate} readings/s`);
  extras.latency = await timed('alert-latency', () => latencyRun({ ...o.latency, hubs: 40, perHub: 100 }));
}
if (want('idle')) {
  log(`idle: idle connection capacity at ${o.idle.steps.join(', ')} connections`);
  extras.idle = await timed('idle', () => runIdleCapacity({ root, steps: o.idle.steps, reps: o.idle.reps, perDriver: 5000, settleS: 3, log }));
}
if (want('storm')) {
  log(`storm: ${o.storm.devices} devices reconnecting within ${o.storm.windowS} s`);
  extras.storm = await timed('storm', () => runStorm({ root, ...o.storm, pre: 1, unacked: 2, backlog: 5, perDriver: 5000, log }));
}

const command = `npm run bench${o.argv.length > 0 ? ` -- ${commandLine(o.argv)}` : ''}`;
if (want('soak')) {
  log(`soak: ${o.soak.minutes} min of mixed load on ${o.soak.patients} patients with history`);
  const suffix = o.soak.partial ? '.partial' : '';
  const soak = await timed('soak', () => runSoak({ root, ...o.soak, sampleEveryS: o.soak.minutes >= 30 ? 5 : 1, suffix, command, log }));
  log(`  wrote benchmarks/SOAK${suffix}.md and soak-rss${suffix}.png: RSS ${soak.idleRssMb} → ${soak.peakRssMb} MB, p99 ${soak.eventLoopP99MedianMs} ms`);
}
if (want('faults')) {
  log('faults: overload, store failure, disk full; acknowledged vs stored');
  const rows = await timed('faults', () => runFaults(root, command, o.overloadSeconds, log));
  for (const r of rows) log(`  ${r.fault}: ${r.acked} acknowledged, ${r.lost} lost, ${r.duplicates} duplicated`);
}
if (want('distributed')) {
  log('distributed: the single process vs 1 and 2 gateways + 2 workers');
  await timed('distributed', () => runDistributedBench(root, { seconds: Math.max(10, o.duration * 2), patients: 100, alerts: 40, command, log }));
  log('  wrote benchmarks/DISTRIBUTED.md');
}
// The soak, the faults and the distributed comparison write their own reports; alone, they leave the suite's RESULTS files as they are.
if (o.only.every((id) => id === 'soak' || id === 'faults' || id === 'distributed')) process.exit(0);

const minutes = (Date.now() - started) / 60_000;
const suffix = o.profile ? '.profile' : o.partial ? '.partial' : '';
const loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
const info = { machine, command, reps: o.reps, warmup: o.warmup, duration: o.duration, minutes, suffix, timings, loadAverageAtEnd, ...(o.note === undefined ? {} : { note: o.note }) };
const outDir = path.join(root, 'benchmarks');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, `RESULTS${suffix}.md`), resultsMarkdown(info, results, extras));
writeFileSync(path.join(outDir, `results${suffix}.json`), `${JSON.stringify({ ...info, scenarios: results, ...extras }, null, 2)}\n`);
log(`wrote benchmarks/RESULTS${suffix}.md and results${suffix}.json (${minutes.toFixed(1)} min)`);
