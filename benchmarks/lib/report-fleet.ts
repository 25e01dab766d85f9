import type { IdleResult, IdleRun, IdleStep } from './idle-capacity.js';
import { fmt, median } from './stats.js';
import type { StormResult, StormRun } from './storm.js';
import { type TargetRow, verdict, yesNo } from './verdict.js';

/** Markdown and target rows for the connection scenarios: `idle` (capacity) and `storm`. */

const n = (x: number): string => x.toLocaleString('en-US');

/** Median over repetitions of one system at one step (steps that ran only). */
function stepMedian(runs: readonly IdleRun[], system: string, target: number, pick: (s: IdleStep) => number): number {
  return median(runs.filter((r) => r.system === system).flatMap((r) => r.steps.filter((s) => s.target === target && s.open !== null).map(pick)));
}

function largestMeasured(r: IdleResult): number | undefined {
  return [...r.steps].reverse().find((t) => Number.isFinite(stepMedian(r.runs, 'ours', t, (s) => s.kbPerConnection)));
}

export function idleTargets(r: IdleResult): TargetRow[] {
  const rows: TargetRow[] = [];
  const top = largestMeasured(r);
  const over = top === undefined ? Number.NaN : stepMedian(r.runs, 'ours', top, (s) => s.kbPerConnection) - stepMedian(r.runs, 'bare-aedes', top, (s) => s.kbPerConnection);
  rows.push({ scenario: 'idle', label: `ours − bare aedes RSS per idle connection ≤ 10 KB (§4 M3), at the largest step measured (${top === undefined ? '—' : n(top)})`, text: verdict(over, 10, { atMost: true, digits: 2, unit: 'KB' }) });
  const over20k = median(r.runs.filter((x) => x.system === 'ours').flatMap((x) => x.steps.filter((s) => s.target === 20_000 && s.open !== null).map((s) => (s.rssKb - x.baselineRssKb) / 1024)));
  const open20k = stepMedian(r.runs, 'ours', 20_000, (s) => s.open ?? Number.NaN);
  rows.push({ scenario: 'idle', label: `20k idle devices within 1 GB over the gateway's baseline RSS (§4 goals)${Number.isFinite(open20k) && open20k < 20_000 ? ` — measured at ${n(open20k)} open` : ''}`, text: verdict(over20k, 1024, { atMost: true, digits: 0, unit: 'MB' }) });
  const fifty = r.runs.find((x) => x.system === 'ours')?.steps.find((s) => s.target === 50_000);
  if (fifty !== undefined) rows.push({ scenario: 'idle', label: '50k idle devices: RSS per connection measured', text: fifty.open === null ? `NOT MEASURED: ${fifty.note}` : fifty.note === '' ? 'MEASURED' : `MEASURED, ${fifty.note}` });
  return rows;
}

export function idleMarkdown(r: IdleResult): string {
  const systems = ['ours', 'bare-aedes'] as const;
  const summary = r.steps.flatMap((t) =>
    systems.map((sys) => {
      const m = (pick: (s: IdleStep) => number): number => stepMedian(r.runs, sys, t, pick);
      const notes = [...new Set(r.runs.filter((x) => x.system === sys).flatMap((x) => x.steps.filter((s) => s.target === t).map((s) => s.note)))].filter((x) => x !== '');
      return `| ${n(t)} | ${sys} | ${fmt(m((s) => s.open ?? Number.NaN), 0)} | ${fmt(m((s) => s.rssKb / 1024), 0)} | **${fmt(m((s) => s.kbPerConnection), 2)}** | ${fmt(m((s) => s.marginalKbPerConnection), 2)} | ${fmt(m((s) => s.connectsPerSecond), 0)} | ${fmt(m((s) => s.connectMs.p99), 1)} | ${fmt(m((s) => s.sutCpuMsPerConnect), 2)} | ${notes.join('; ')} |`;
    }),
  );
  const reps = r.runs.flatMap((run) =>
    run.steps.map(
      (s) =>
        `| ${run.system} | ${run.rep} | ${n(s.target)} | ${s.open === null ? '—' : n(s.open)} | ${fmt(run.baselineRssKb / 1024, 0)} | ${fmt(s.rssKb / 1024, 0)} | ${fmt(s.kbPerConnection, 2)} | ${fmt(s.marginalKbPerConnection, 2)} | ${fmt(s.connectsPerSecond, 0)} | ${fmt(s.connectMs.p50, 1)} / ${fmt(s.connectMs.p99, 1)} | ${s.failed} | ${s.busyRetries} | ${run.dropped} |`,
    ),
  );
  return [
    '## idle: idle MQTT connection capacity (RSS per connection)',
    '',
    `Devices connect over raw MQTT 3.1.1 (\`drivers/mqtt-idle.ts\`, keep-alive 3600 s, clean session, nothing published), up to 5,000 per driver process, each driver from its own loopback source address. Each system starts fresh per repetition (${Math.max(...r.runs.map((x) => x.rep))} interleaved: ours, bare-aedes, …); connections are added in steps and RSS (\`VmRSS\`, median of 5 reads after a settle) is read after each. **KB / connection = (RSS at the step − RSS before the first connection) ÷ connections open**; the marginal figure (RSS growth since the previous step ÷ connections added) leaves out one-off costs such as a heap that grew once, and is the better guide to what the next 10k devices cost. V8 returns freed heap lazily, so the Node systems' figures carry some garbage; compare them within this run. ${r.fleetNote}.`,
    '',
    'Ours: each device logs in as device id + its own secret through the real path (credential lookup, keyed HMAC-SHA256 check, SHA-256 digest cache), hashes in the production format, registered straight into SQLite (`lib/fleet.ts`). Bare aedes: anonymous, in-memory, no hooks.',
    '',
    '| step | system | open | RSS MB | KB / connection | marginal KB / connection (since previous step) | connects/s | connect p99 ms | SUT CPU ms / connect | notes |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...summary,
    '',
    '<details><summary>Each repetition</summary>',
    '',
    '| system | rep | step | open | baseline MB | RSS MB | KB / conn | marginal KB / conn | connects/s | connect p50 / p99 ms | failed | CONNACK 3 retries | dropped while idle |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|',
    ...reps,
    '',
    '</details>',
    '',
    '<details><summary>Commands</summary>',
    '',
    ...Object.entries(r.commands).flatMap(([k, c]) => [`- ${k}`, '', '  ```', `  ${c.sut}`, `  ${c.driver}   # one per 5,000 devices, each with its own --from/--to and --local-address`, '  ```', '']),
    '</details>',
    '',
  ].join('\n');
}

export function stormTargets(r: StormResult): TargetRow[] {
  const ours = r.runs.find((x) => x.system === 'ours');
  const w = r.options.windowS;
  const rows: TargetRow[] = [
    {
      scenario: 'storm',
      label: `every reading of ${n(r.options.devices)} devices acknowledged and stored exactly once (replays deduplicated)`,
      text: yesNo(ours?.store?.ok, ours?.store === undefined ? '' : `${n(ours.store.stored)} stored, ${n(ours.store.expected)} expected, ${ours.store.rejections} rejections`),
    },
    { scenario: 'storm', label: `all ${n(r.options.devices)} devices reconnected and caught up within the ${w} s window + 10 s`, text: verdict(ours?.drainS ?? Number.NaN, w + 10, { atMost: true, digits: 1, unit: 's' }) },
  ];
  if (ours?.cold !== undefined) {
    const cold = ours.cold.first.connectsPerSecond;
    rows.push({ scenario: 'storm', label: `after a gateway restart (nothing cached, production keyed-HMAC hashes): ${n(r.options.devices)} first connects within ${w} s (derived from the measured first-connect rate)`, text: verdict(cold, r.options.devices / w, { digits: 0, unit: 'connects/s' }) });
  }
  return rows;
}

function stormRow(s: StormRun): string {
  return `| ${s.system} | ${n(s.devicesCaughtUp)} | ${fmt(s.drainS, 1)} | ${fmt(s.connectsPerSecond, 0)} | ${fmt(s.connectMs.p50, 1)} / ${fmt(s.connectMs.p99, 1)} / ${fmt(s.connectMs.max, 1)} | ${fmt(s.catchUpMs.p50, 0)} / ${fmt(s.catchUpMs.p99, 0)} / ${fmt(s.catchUpMs.max, 0)} | ${s.busyRefusals} / ${s.otherRefusals} / ${s.lostDuringReplay} | ${fmt(s.sutCores, 2)} | ${fmt(s.sutCpuMsPerDevice, 2)} | ${fmt(s.peakRssKb / 1024, 0)} |`;
}

export function stormMarkdown(r: StormResult): string {
  const o = r.options;
  const ours = r.runs.find((x) => x.system === 'ours');
  const cold = ours?.cold;
  return [
    '## storm: reconnect storm with replay',
    '',
    `${n(o.devices)} devices (\`drivers/mqtt-storm.ts\`, raw MQTT, ${o.perDriver.toLocaleString('en-US')} per driver process). Before: each connects, publishes ${o.pre} reading(s) and gets the PUBACK, publishes ${o.unacked} more and its connection is cut at once (the PUBACKs never reach it; the readings may or may not have been committed). After 1 s of outage every device reconnects at its own moment spread evenly over **${o.windowS} s** (${fmt(o.devices / o.windowS, 0)} reconnects/s offered), replays its ${o.unacked} unacknowledged readings (same ids and bodies, DUP set) plus ${o.backlog} buffered during the outage, all in flight at once, and keeps the connection. A refused CONNECT or a connection lost before every PUBACK is retried 0.5–1.5 s later. Ours authenticates each device (warm digest cache: a network outage, not a gateway restart) and commits every reading durably before its PUBACK; bare aedes is in-memory, no hooks. One run per system (each costs a whole window), ours first.`,
    '',
    '| system | devices caught up | drain s (storm start → last PUBACK) | reconnects/s done | CONNECT→CONNACK p50 / p99 / max ms | catch-up p50 / p99 / max ms (slot → last PUBACK) | refused busy / other / lost in replay | SUT cores | SUT CPU ms / device | peak RSS MB |',
    '|---|---:|---:|---:|---|---|---|---:|---:|---:|',
    ...r.runs.map(stormRow),
    '',
    ...(ours?.store === undefined ? [] : [`Store check (ours): ${n(ours.store.stored)} readings in SQLite after shutdown, ${n(ours.store.expected)} expected (${n(o.devices)} × ${ours.readingsPerDevice}); ${ours.store.rejections} rejections; exit code ${ours.store.exitCode}. **${ours.store.ok ? 'OK: each reading exactly once' : 'MISMATCH'}**.`, '']),
    ...(cold === undefined
      ? []
      : [
          `First connects after a restart, production format (keyed HMAC-SHA256, \`gateway/auth/device-secret.ts\`; ${n(cold.first.devices)} devices this process never saw, ${cold.first.concurrency} CONNECTs in flight): **${fmt(cold.first.connectsPerSecond, 0)} connects/s**, ${fmt(cold.first.sutCpuMsPerConnect, 2)} ms SUT CPU each, CONNACK p50 / p99 ${fmt(cold.first.connectMs.p50, 1)} / ${fmt(cold.first.connectMs.p99, 1)} ms, ${cold.first.busyRetries} busy refusals. The same devices again (digest cached): ${fmt(cold.warm.connectsPerSecond, 0)} connects/s, ${fmt(cold.warm.sutCpuMsPerConnect, 2)} ms CPU each. At the first rate, ${n(o.devices)} devices reconnecting to a gateway that has just restarted are verified in about ${fmt(o.devices / cold.first.connectsPerSecond, 0)} s.`,
          '',
          `Credentials still stored as argon2id from before the keyed format (m=19 MiB, t=2; ${n(cold.legacy.devices)} devices): ${fmt(cold.legacy.connectsPerSecond, 0)} connects/s, ${fmt(cold.legacy.sutCpuMsPerConnect, 1)} ms SUT CPU each, ${cold.legacy.busyRetries} CONNACK 3 retries (at most 16 argon2id checks at once). Each such credential pays this once in its life: its hash is rewritten in the keyed format on that first success.`,
          '',
        ]),
    '<details><summary>Commands</summary>',
    '',
    ...r.runs.flatMap((s) => [`- ${s.system}`, '', '  ```', `  ${s.commands.sut}`, `  ${s.commands.driver}   # one per ${n(o.perDriver)} devices; then 'storm <epoch ms> <window ms> <devices>' on stdin`, '  ```', '']),
    '</details>',
    '',
  ].join('\n');
}
