import type { AlertLatency } from '../alerting/latency.js';
import type { RulesThroughput } from '../alerting/throughput.js';
import { RAISE_EVERY } from '../alerting/roles.js';
import { fmt, median } from './stats.js';
import { type TargetRow, verdict } from './verdict.js';

/** Markdown and target rows for the rules engine scenarios: `rules` (throughput) and `alert-latency`. */

export interface RulesRun {
  readonly result: RulesThroughput;
  readonly command: string;
}

export function rulesTargets(r: RulesRun): TargetRow[] {
  const pure = median(r.result.pure.perSecond);
  const e2e = median(r.result.e2e.map((e) => e.perSecond));
  // Issue 3 sets no floor here ("report what you reach"), so the figure is reported, not judged.
  return [
    { scenario: 'rules', label: 'rules throughput on one core, pure evaluation (issue 3 sets no target)', text: `REPORTED: ${fmt(pure, 0)} readings/s` },
    { scenario: 'rules', label: 'rules throughput on one core, AlertingService end to end over SQLite (no target)', text: `REPORTED: ${fmt(e2e, 0)} readings/s` },
  ];
}

export function rulesMarkdown(r: RulesRun): string {
  const a = r.result;
  return [
    '## rules: rules engine throughput on one core',
    '',
    `One process pinned to the SUT core (\`${r.command}\`). Care plan: programs general + hypertension + heart-failure + diabetes → ${a.rules.length} rules (${a.rules.join(', ')}). Workload: ${fmt(a.pure.patients, 0)} patients × ${a.pure.days} days of home readings, 7 a day (BP morning with a repeat 5 min later and evening, morning weight, fasting and bedtime glucose, SpO2 with pulse at noon), about 2 % abnormal; ${fmt(a.pure.readings, 0)} readings in measurement order, deterministic (seeded PRNG).`,
    '',
    `**Pure evaluation** (\`verdictAt\` for every rule watching the reading's kind over the patient's history trimmed to the engine's look-back, then \`evaluateCondition\`; no I/O): ${fmt(a.pure.verdicts, 0)} verdicts and ${fmt(a.pure.opened, 0)} conditions opened per pass, after one warm-up pass.`,
    '',
    '| repetition | readings/s |',
    '|---|---:|',
    ...a.pure.perSecond.map((x, i) => `| ${i + 1} | ${fmt(x, 0)} |`),
    `| **median** | **${fmt(median(a.pure.perSecond), 0)}** |`,
    '',
    '**AlertingService end to end** (`connectors/sqlite` stores in a temp dir, synchronous=FULL; the readings are committed first, then one `drain()` is timed: reading-log scan, per-patient history loads, condition states, alert + cursor transactions).',
    '',
    '| repetition | readings | alerts raised | drain s | readings/s | (commit beforehand, s) |',
    '|---|---:|---:|---:|---:|---:|',
    ...a.e2e.map((e, i) => `| ${i + 1} | ${fmt(e.readings, 0)} | ${fmt(e.alerts, 0)} | ${fmt(e.seconds, 2)} | ${fmt(e.perSecond, 0)} | ${fmt(e.commitSeconds, 2)} |`),
    `| **median** | | | | **${fmt(median(a.e2e.map((e) => e.perSecond)), 0)}** | |`,
    '',
  ].join('\n');
}

export function latencyTargets(b: AlertLatency): TargetRow[] {
  return [
    { scenario: 'alert-latency', label: `ingest rate held through the gateway (target ${fmt(b.targetPerSecond, 0)} readings/s, ≥ 95 % counted as held)`, text: verdict(b.achievedPerSecond, 0.95 * b.targetPerSecond, { digits: 0, unit: 'readings/s' }) },
    {
      scenario: 'alert-latency',
      label: `reading-to-alert latency p99 ≤ 50 ms at ${fmt(b.targetPerSecond, 0)} readings/s (HTTP 202 → SSE event)`,
      // An alert that never reached the stream is not fast: a run missing more than 1 % of them is not a pass.
      text:
        b.missing > 0.01 * b.raisingReadings
          ? `**MISS: ${fmt(b.missing, 0)} of ${fmt(b.raisingReadings, 0)} alerts never reached the stream** (p99 of those that did: ${fmt(b.alertMs.p99, 1)} ms)`
          : verdict(b.alertMs.p99, 50, { atMost: true, digits: 1, unit: 'ms' }),
    },
  ];
}

export function latencyMarkdown(b: AlertLatency): string {
  return [
    '## alert-latency: reading-to-alert latency through the running gateway',
    '',
    `- Gateway: \`npm start\`'s command (\`node <its flags> dist/gateway/main.js\`, below), default durability (SQLite WAL, synchronous=FULL, group commit), ${b.sutCores === 1 ? 'pinned to the SUT core (`--latency-sut-cores 1`)' : 'on both cores as `npm start` runs (its rules thread beside the main thread; `taskset -c 0,1`, sharing core 0 with the generator)'}; ${fmt(b.patients, 0)} patients on the same care plan as \`rules\`, each with a multi-parameter device relayed by one of ${b.hubs} hubs (registered straight into SQLite before start, ${fmt(b.provisionS, 1)} s).`,
    `- Load (generator core): each hub sends one request of ${b.readingsPerRequest} readings (one per patient of the hub) on a fixed schedule, sequentially per hub as a real hub does, ${fmt(b.targetPerSecond, 0)} readings/s in total, ${b.warmupS} s warm-up + ${b.durationS} s measured; 1 in ${RAISE_EVERY} readings per patient is a glucose of 60 mg/dL (opens a glucose-low alert; the next, 112 mg/dL, resolves it).`,
    `- Before the clock starts, every patient's device sends one normal reading through its hub and the run waits until the engine has evaluated them all (${fmt(b.engineWarmS, 1)} s): the engine loads a never-seen patient's history from the store, only a few per pass, so a cold start would measure that catch-up instead. After the load, the run waits until the engine has evaluated every committed reading (${b.drainS === null ? 'not within 60 s: its alerts count as missing' : `${fmt(b.drainS, 1)} s`}) and 1 s more for the stream.`,
    '- SSE client (generator core, its own process): a nurse of the organization on `GET /v1/worklist/stream`. For every alert-raising reading sent in the window, latency = arrival of its `created` event − arrival of the 202 for its request (same wall clock in both processes).',
    '',
    '| measure | value |',
    '|---|---|',
    `| readings acknowledged in the window | ${fmt(b.acceptedInWindow, 0)} in ${b.durationS} s = **${fmt(b.achievedPerSecond, 0)} readings/s** (target ${fmt(b.targetPerSecond, 0)}) |`,
    `| requests behind schedule by more than one period | ${fmt(b.lateRequests, 0)} |`,
    `| load errors (non-202, connection) | ${fmt(b.loadErrors, 0)} |`,
    `| ack latency (send → 202) p50 / p99 / max | ${fmt(b.ackMs.p50, 1)} / ${fmt(b.ackMs.p99, 1)} / ${fmt(b.ackMs.max, 1)} ms |`,
    `| alert-raising readings in the window | ${fmt(b.raisingReadings, 0)} |`,
    `| matched alerts on the stream | ${fmt(b.matched, 0)} (missing: ${fmt(b.missing, 0)}; event before the 202 reached the client: ${fmt(b.beforeAck, 0)}, counted as 0 ms) |`,
    `| **alert latency p50 / p90 / p99 / max** | **${fmt(b.alertMs.p50, 1)} / ${fmt(b.alertMs.p90, 1)} / ${fmt(b.alertMs.p99, 1)} / ${fmt(b.alertMs.max, 1)} ms** |`,
    `| SSE events received (created + updated) | ${fmt(b.sseEvents, 0)} |`,
    `| gateway CPU in the window | ${b.gatewayCores === null ? 'n/a' : `${fmt(b.gatewayCores, 2)} cores`} |`,
    `| gateway exit code after SIGTERM | ${String(b.gatewayExit)} |`,
    '',
    '<details><summary>Commands</summary>',
    '',
    '```',
    b.commands.gateway,
    b.commands.sse,
    b.commands.load,
    '```',
    '',
    '</details>',
    '',
  ].join('\n');
}
