import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { profileMarkdown, summarizeProfile } from './lib/cpuprofile.js';
import { flags, num } from './lib/driver-io.js';
import { canPin } from './lib/proc.js';
import { describeMachine, resultsMarkdown } from './lib/report.js';
import { type ScenarioResult, runScenario } from './lib/run-scenario.js';
import { type Load, type ScenarioId, scenarioSpecs } from './lib/scenarios.js';

const USAGE = `npm run bench -- [options]

  --only a,b        scenarios to run: http-single, http-batch, mqtt (default: all)
  --quick           1 repetition, 1 s warm-up, 3 s measured (a smoke test, not a result)
  --reps N          interleaved repetitions per system (default 3)
  --warmup S        warm-up seconds before each measured window (default 3)
  --duration S      measured seconds per repetition (default 10)
  --set k=v,...     change a scenario's load, e.g. mqtt.connections=50,mqtt.window=20,http-batch.batch=500
                    (keys: connections, window, batch, devices)
  --gateway-env K=V,...  extra RPM_* settings for our gateway (diagnostics, e.g. RPM_SQLITE_SYNCHRONOUS=NORMAL)
  --profile         run only our gateway under node --cpu-prof; writes benchmarks/profiles/<scenario>.{cpuprofile,md}
  --no-build        skip npm run build (dist/ must be current)

Full runs write benchmarks/RESULTS.md and benchmarks/results.json; --quick, --only, --set and
--reps/--duration/--warmup changes write RESULTS.partial.md / results.partial.json instead.`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const f = flags(argv);
if (f.has('help') || f.has('h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const quick = f.has('quick');
const reps = num(f, 'reps', quick ? 1 : 3);
const warmup = num(f, 'warmup', quick ? 1 : 3);
const duration = num(f, 'duration', quick ? 3 : 10);
const profile = f.has('profile');

const overrides: Partial<Record<ScenarioId, Partial<Record<keyof Load, number>>>> = {};
for (const kv of (f.get('set') ?? '').split(',').filter((s) => s !== '')) {
  const m = /^(http-single|http-batch|mqtt)\.(connections|window|batch|devices)=(\d+)$/.exec(kv);
  if (m === null) throw new Error(`--set: cannot read '${kv}'`);
  const [, id, key, value] = m as unknown as [string, ScenarioId, keyof Load, string];
  overrides[id] = { ...(overrides[id] ?? {}), [key]: Number(value) };
}
const only = f.get('only')?.split(',');
let specs = scenarioSpecs(overrides).filter((s) => only === undefined || only.includes(s.id));
if (specs.length === 0) throw new Error(`--only: no scenario among ${only?.join(', ')}`);
if (profile) specs = specs.map((s) => ({ ...s, systems: ['ours'] }));

const gatewayEnv: Record<string, string> = {};
for (const kv of (f.get('gateway-env') ?? '').split(',').filter((x) => x !== '')) {
  const m = /^(RPM_[A-Z0-9_]+)=(.*)$/.exec(kv);
  if (m === null) throw new Error(`--gateway-env: cannot read '${kv}'`);
  gatewayEnv[m[1] as string] = m[2] as string;
}

const partial = quick || only !== undefined || f.has('set') || f.has('gateway-env') || f.has('reps') || f.has('duration') || f.has('warmup');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

if (!f.has('no-build')) {
  log('npm run build');
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
const machine = describeMachine(root, canPin());
if (!machine.pinned) log('warning: taskset is not usable here; generator and SUT are NOT pinned to separate cores');

const profileDir = path.join(root, 'benchmarks', 'profiles');
const started = Date.now();
const results: ScenarioResult[] = [];
for (const spec of specs) {
  log(`${spec.id}: ${spec.title}`);
  const scenarioProfileDir = profile ? path.join(profileDir, `${spec.id}-raw`) : undefined;
  results.push(await runScenario(spec, { root, reps, warmup, duration, log, gatewayEnv, ...(scenarioProfileDir === undefined ? {} : { profileDir: scenarioProfileDir }) }));
  if (scenarioProfileDir !== undefined) {
    const file = readdirSync(scenarioProfileDir).find((n) => n.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no .cpuprofile in ${scenarioProfileDir}`);
    const target = path.join(profileDir, `${spec.id}.cpuprofile`);
    renameSync(path.join(scenarioProfileDir, file), target);
    writeFileSync(path.join(profileDir, `${spec.id}.md`), profileMarkdown(`${spec.id}: gateway CPU profile`, summarizeProfile(target)));
    log(`  profile: ${path.relative(root, target)} and ${spec.id}.md`);
  }
}

const minutes = (Date.now() - started) / 60_000;
const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
const suffix = profile ? '.profile' : partial ? '.partial' : '';
const info = { machine, command, reps, warmup, duration, minutes, suffix };
const outDir = path.join(root, 'benchmarks');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, `RESULTS${suffix}.md`), resultsMarkdown(info, results));
writeFileSync(
  path.join(outDir, `results${suffix}.json`),
  `${JSON.stringify({ ...info, scenarios: results.map((r) => ({ ...r, spec: r.spec })) }, null, 2)}\n`,
);
log(`wrote benchmarks/RESULTS${suffix}.md and results${suffix}.json (${minutes.toFixed(1)} min)`);
