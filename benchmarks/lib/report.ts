import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { Rep } from './measure.js';
import type { ScenarioResult } from './run-scenario.js';
import type { SystemName, Target } from './scenarios.js';
import type { AlertLatency } from '../alerting/latency.js';
import type { IdleResult } from './idle-capacity.js';
import { idleMarkdown, idleTargets, stormMarkdown, stormTargets } from './report-fleet.js';
import { latencyMarkdown, latencyTargets, type RulesRun, rulesMarkdown, rulesTargets } from './report-rules.js';
import { fmt, median, range } from './stats.js';
import type { StormResult } from './storm.js';
import type { TargetRow } from './verdict.js';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly date: string;
  readonly loadAverageAtStart: readonly number[];
  readonly pinned: boolean;
}

export function describeMachine(root: string, pinned: boolean): Machine {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    date: new Date().toISOString(),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    pinned,
  };
}

export interface RunInfo {
  readonly machine: Machine;
  readonly command: string;
  readonly reps: number;
  readonly warmup: number;
  readonly duration: number;
  readonly minutes: number;
  /** '' for RESULTS.md, '.partial' or '.profile' otherwise. */
  readonly suffix: string;
  /** Wall-clock seconds per scenario, in run order. */
  readonly timings: Readonly<Record<string, number>>;
  readonly loadAverageAtEnd: readonly number[];
  /** Free text from --note (e.g. what else ran on the machine). */
  readonly note?: string;
}

/** Scenarios that are not timed-window ingest runs, each reported in its own section. */
export interface ExtraResults {
  readonly idle?: IdleResult;
  readonly storm?: StormResult;
  readonly rules?: RulesRun;
  readonly latency?: AlertLatency;
}

const of = (reps: readonly Rep[], system: string): Rep[] => reps.filter((r) => r.system === system);

/** ours/peer per repetition, pairing repetition i of one with repetition i of the other. */
export function pairedRatios(reps: readonly Rep[], a: SystemName, b: SystemName, metric: (r: Rep) => number): number[] {
  const bs = of(reps, b);
  return of(reps, a).flatMap((ra) => {
    const rb = bs.find((x) => x.rep === ra.rep);
    return rb === undefined ? [] : [metric(ra) / metric(rb)];
  });
}

export interface Verdict {
  readonly target: Target;
  readonly value: number;
  readonly pass: boolean;
  readonly text: string;
}

export function judge(target: Target, reps: readonly Rep[]): Verdict {
  const value =
    target.kind === 'ratio'
      ? median(pairedRatios(reps, target.of, target.to, (r) => r.messagesPerSec))
      : median(of(reps, target.of).map((r) => r.readingsPerSec));
  const pass = value >= target.min;
  const delta = Math.abs(value / target.min - 1) * 100;
  const shown = (x: number): string => (target.kind === 'ratio' ? fmt(x, 2) : fmt(x, 0));
  const text = Number.isNaN(value)
    ? 'NO DATA'
    : `${pass ? 'PASS' : 'MISS'}: ${shown(value)} is ${delta.toFixed(0)}% ${pass ? 'above' : 'below'} ${shown(target.min)}`;
  return { target, value, pass, text };
}

function repTable(reps: readonly Rep[]): string[] {
  const rows = reps.map((r) => {
    const bound = r.generatorCores > 0.9 && r.sutCores < 0.85 ? ' (gen-bound?)' : '';
    const issues = [r.errors > 0 ? `${r.errors} errors` : '', r.non2xx > 0 ? `${r.non2xx} non-2xx` : '', ...r.notes].filter((x) => x !== '').join('; ');
    return `| ${r.system} | ${r.rep} | ${fmt(r.messagesPerSec, 0)} | ${fmt(r.readingsPerSec, 0)} | ${fmt(r.sutCpuUsPerReading, 2)} | ${fmt(r.sutCores, 2)} | ${fmt(r.generatorCores, 2)}${bound} | ${fmt(r.latencyMs.p50, 2)} | ${fmt(r.latencyMs.p99, 2)} | ${issues} |`;
  });
  return [
    '| system | rep | msgs/s | readings/s | SUT CPU µs / reading | SUT cores | generator cores | p50 ms | p99 ms | issues |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ];
}

function summaryTable(s: ScenarioResult): string[] {
  const systems = s.spec.systems.filter((n) => of(s.reps, n).length > 0);
  return [
    '| system | readings/s median (min–max) | msgs/s median | SUT CPU µs / reading median (min–max) | p99 ms median |',
    '|---|---|---:|---|---:|',
    ...systems.map((n) => {
      const rs = of(s.reps, n);
      const rate = rs.map((r) => r.readingsPerSec);
      const cpu = rs.map((r) => r.sutCpuUsPerReading);
      const [rl, rh] = range(rate);
      const [cl, ch] = range(cpu);
      return `| ${n} | ${fmt(median(rate), 0)} (${fmt(rl, 0)}–${fmt(rh, 0)}) | ${fmt(median(rs.map((r) => r.messagesPerSec)), 0)} | ${fmt(median(cpu), 2)} (${fmt(cl, 2)}–${fmt(ch, 2)}) | ${fmt(median(rs.map((r) => r.latencyMs.p99)), 1)} |`;
    }),
  ];
}

function ratioRows(s: ScenarioResult): string[] {
  const pairs: (readonly [SystemName, SystemName])[] = [
    ...s.spec.targets.flatMap((t) => (t.kind === 'ratio' ? [[t.of, t.to] as const] : [])),
    ...s.spec.contextRatios,
  ];
  const rows = pairs.flatMap(([a, b]) => {
    const thr = pairedRatios(s.reps, a, b, (r) => r.messagesPerSec);
    if (thr.length === 0) return [];
    const cpu = pairedRatios(s.reps, a, b, (r) => r.sutCpuUsPerReading);
    const [tl, th] = range(thr);
    const [cl, ch] = range(cpu);
    return [
      `| ${a} / ${b} | ${thr.map((x) => fmt(x, 2)).join(', ')} | **${fmt(median(thr), 2)}** (${fmt(tl, 2)}–${fmt(th, 2)}) | ${fmt(median(cpu), 2)} (${fmt(cl, 2)}–${fmt(ch, 2)}) |`,
    ];
  });
  return [
    '| same-run ratio | throughput per rep | throughput median (min–max) | CPU µs/reading ratio median (min–max) |',
    '|---|---|---|---|',
    ...rows,
  ];
}

export function scenarioMarkdown(s: ScenarioResult): string {
  const l = s.spec.load;
  const load =
    s.spec.protocol === 'http'
      ? `autocannon, ${l.connections} connections, pipelining 1, ${l.batch} reading(s) per request, ${l.devices} devices`
      : `MQTT.js, ${l.connections} clients × ${l.window ?? 10} QoS 1 publishes in flight, ${l.batch} reading(s) per publish, ${l.devices} devices`;
  const v = s.verification;
  const lines = [
    `## ${s.spec.id}: ${s.spec.title}`,
    '',
    `Load: ${load}; every reading has a fresh client id (insert path, not the duplicate path).`,
    '',
    '**Targets**',
    '',
    ...s.spec.targets.map((t) => `- ${t.label}: **${judge(t, s.reps).text}**`),
    '',
    ...summaryTable(s),
    '',
    ...ratioRows(s),
    '',
    ...(v === undefined
      ? []
      : [
          `Store check (ours): ${v.stored.toLocaleString('en-US')} readings in SQLite after shutdown; ${v.acked.toLocaleString('en-US')} acknowledged ` +
            `(priming included), at most ${v.unackedBound.toLocaleString('en-US')} sent but abandoned unacknowledged when a driver stopped; ` +
            `${v.rejections} rejections; gateway exit code ${v.exitCode}. **${v.ok ? 'OK' : 'MISMATCH'}**.`,
          '',
        ]),
    ...Object.entries(s.skipped).map(([n, why]) => `Skipped ${n}: ${why}`),
    '<details><summary>Each repetition, in run order</summary>',
    '',
    ...repTable(s.reps),
    '',
    '</details>',
    '',
    '<details><summary>Commands</summary>',
    '',
    ...Object.entries(s.commands).flatMap(([n, c]) => [`- ${n}`, '', '  ```', `  ${c.sut}`, `  ${c.driver}`, '  ```', '']),
    '</details>',
    '',
  ];
  return lines.join('\n');
}

function extraTargets(x: ExtraResults): TargetRow[] {
  return [
    ...(x.idle === undefined ? [] : idleTargets(x.idle)),
    ...(x.storm === undefined ? [] : stormTargets(x.storm)),
    ...(x.rules === undefined ? [] : rulesTargets(x.rules)),
    ...(x.latency === undefined ? [] : latencyTargets(x.latency)),
  ];
}

function extraSections(x: ExtraResults): string[] {
  return [
    ...(x.idle === undefined ? [] : [idleMarkdown(x.idle)]),
    ...(x.storm === undefined ? [] : [stormMarkdown(x.storm)]),
    ...(x.rules === undefined ? [] : [rulesMarkdown(x.rules)]),
    ...(x.latency === undefined ? [] : [latencyMarkdown(x.latency)]),
  ];
}

export function resultsMarkdown(info: RunInfo, scenarios: readonly ScenarioResult[], extras: ExtraResults = {}): string {
  const m = info.machine;
  const verdicts = scenarios.flatMap((s) => s.spec.targets.map((t) => ({ s, v: judge(t, s.reps) })));
  return [
    '# Benchmark results',
    '',
    `Produced by \`${info.command}\` in **${info.minutes.toFixed(1)} min** (build included). Ingest scenarios: ${info.reps} interleaved repetition(s), ${info.warmup} s warm-up + ${info.duration} s measured each.`,
    'These are figures from a shared 2-vCPU VM: compare ratios and CPU per reading within this run, not absolute rates across runs (load average at start and end below).',
    ...(info.note === undefined ? [] : ['', `> ${info.note}`]),
    `How to read these numbers: [README.md](README.md). Raw numbers: [results${info.suffix}.json](results${info.suffix}.json).`,
    '',
    '| machine | |',
    '|---|---|',
    `| CPU | ${m.cpu}, ${m.cores} cores |`,
    `| Node | ${m.node} |`,
    `| commit | ${m.commit}${m.dirty ? ' + uncommitted changes' : ''} |`,
    `| date | ${m.date} |`,
    `| load average at start / end | ${m.loadAverageAtStart.join(' ')} / ${info.loadAverageAtEnd.join(' ')} |`,
    `| pinning | ${m.pinned ? 'generator on core 0, system under test on core 1 (taskset)' : 'NOT pinned (taskset unavailable)'} |`,
    '',
    '## Targets',
    '',
    '| scenario | target | result | CPU view: peer µs ÷ ours µs per reading (median) |',
    '|---|---|---|---|',
    ...verdicts.map(({ s, v }) => {
      const t = v.target;
      const cpu = t.kind === 'ratio' ? fmt(median(pairedRatios(s.reps, t.to, t.of, (r) => r.sutCpuUsPerReading)), 2) : '';
      return `| ${s.spec.id} | ${t.label} | **${v.text}** | ${cpu} |`;
    }),
    ...extraTargets(extras).map((r) => `| ${r.scenario} | ${r.label} | **${r.text}** | |`),
    '',
    "Why a target is missed, with the profiles behind it and what would move it: [README.md, where the gateway's time goes](README.md#where-the-gateways-time-goes-and-why-the-ingest-targets-are-missed).",
    '',
    '## Time per scenario',
    '',
    '| scenario | seconds |',
    '|---|---:|',
    ...Object.entries(info.timings).map(([k, v]) => `| ${k} | ${v.toFixed(0)} |`),
    '',
    ...scenarios.map(scenarioMarkdown),
    ...extraSections(extras),
  ].join('\n');
}
