import { rmSync } from 'node:fs';
import { planFaults } from '../../simulators/faults.js';
import { buildFleet } from '../../simulators/fleet.js';
import { GatewayApi } from '../../simulators/io/admin-api.js';
import { provisionFleet } from '../../simulators/io/provision.js';
import { runFleet } from '../../simulators/io/runner.js';
import { Ledger } from '../../simulators/ledger.js';
import { type Check, compareAckedWithStored, formatChecks, lossChecks } from '../../simulators/loss-check.js';
import { senders } from '../../simulators/model.js';
import { Rng } from '../../simulators/rng.js';
import { formatSummary, RunStats } from '../../simulators/run-stats.js';
import { ChildGateway } from '../../test/helpers/child-gateway.js';
import { ADMIN_TOKEN, tempDir } from '../../test/helpers/gateway.js';
import { type KillRecord, killLoop } from './kill-loop.js';
import { LossCluster } from './loss-cluster.js';
import { parseOptions, USAGE } from './options.js';
import { storedRows } from './stored-rows.js';

/**
 * `npm run check:loss` (`-- --mode distributed`: the same against 2 gateways + 2 workers + Redis): "zero acknowledged readings lost" under repeated SIGKILL
 * (performance-reliability.md §3.9). The simulator's ledger records every reading sent, acknowledged
 * (HTTP 202 outcome, MQTT PUBACK) or failed; the gateway is killed and restarted under the load;
 * afterwards the SQLite file must hold every acknowledged reading exactly once. Prints one line per
 * check and `N passed, N failed`; exits 1 on any failure.
 */

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const n = (x: number): string => x.toLocaleString('en-US');

function recoveryChecks(kills: readonly KillRecord[], recovered: boolean, ledger: Ledger): Check[] {
  // Restart → first acknowledgement of that gateway life, from the ledger's phase stamps.
  const firstAck = new Map<number, number>();
  for (const e of ledger.entries()) {
    if (e.ackPhase === null || e.ackedMs === null) continue;
    firstAck.set(e.ackPhase, Math.min(firstAck.get(e.ackPhase) ?? Number.POSITIVE_INFINITY, e.ackedMs));
  }
  const recoveries = kills.map((k) => (firstAck.get(k.index) ?? Number.NaN) - k.readyAtMs).filter(Number.isFinite).sort((a, b) => a - b);
  const median = recoveries[Math.floor(recoveries.length / 2)] ?? Number.NaN;
  const max = recoveries.at(-1) ?? Number.NaN;
  const stalled = kills.filter((k) => k.stalled).map((k) => k.index);
  const notKilled = kills.filter((k) => k.signal !== 'SIGKILL').map((k) => k.index);
  return [
    { name: 'every kill was a SIGKILL', ok: notKilled.length === 0, detail: `${kills.length} kills${notKilled.length === 0 ? '' : `; not by SIGKILL: ${notKilled.join(', ')}`}` },
    {
      name: 'every gateway life acknowledged over HTTP and MQTT',
      ok: stalled.length === 0 && recovered,
      detail: `restart → first acknowledgement median ${(median / 1000).toFixed(2)} s, max ${(max / 1000).toFixed(2)} s${stalled.length === 0 ? '' : `; stalled before kills ${stalled.join(', ')}`}${recovered ? '' : '; no progress after the last restart'}`,
    },
  ];
}

/** Evidence that kills landed mid-transmission: readings stored before the kill whose answer the kill cut off. */
function cutAnswers(ledger: Ledger): string {
  let retried = 0;
  let alreadyStored = 0;
  for (const e of ledger.entries()) {
    if (e.failures === 0 || e.ackedMs === null || e.outcome === 'rejected') continue;
    retried++;
    // Only HTTP answers tell "duplicate"; an MQTT PUBACK says only "acknowledged".
    if (e.outcome === 'duplicate') alreadyStored++;
  }
  return `acknowledged only after a failed transmission: ${n(retried)} readings; of these, ${n(alreadyStored)} were answered "duplicate" over HTTP (committed before a kill that cut off their answer)`;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.help) {
    say(USAGE);
    return 0;
  }
  const started = Date.now();
  const dataDir = tempDir('rpm-loss-');
  // Rate limiting is not under test; each device here sends many times a minute.
  const env = { RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000000', RPM_LOG_LEVEL: 'warn' };
  const distributed = opts.mode === 'distributed';
  const single = distributed ? undefined : new ChildGateway({ dataDir, env });
  let cluster: LossCluster | undefined;
  const stop = new AbortController();
  try {
    if (single !== undefined) await single.start();
    else cluster = await LossCluster.start(env);
    const gateway = (single ?? cluster) as ChildGateway | LossCluster;
    const anchorMs = Date.now();
    const boot = anchorMs.toString(36);
    const fleet = buildFleet({ seed: opts.seed, idPrefix: `loss-${opts.seed}`, devices: opts.devices, transport: 'mixed', hubShare: 0.3, episodes: 'none', anchorMs });
    const senderList = senders(fleet);
    const mqtt = senderList.filter((s) => s.transport === 'mqtt').length;
    if (mqtt === 0 || mqtt === senderList.length) throw new Error(`seed ${opts.seed} gives senders of one transport only; choose another --seed or more --devices`);
    say(
      `loss check: ${opts.kills} SIGKILLs under load; ${fleet.devices.length} devices (${fleet.hubs.length} hubs) = ${senderList.length} connections ` +
        `(${mqtt} MQTT, ${senderList.length - mqtt} HTTP); ${opts.rate} readings/s, window ${opts.window}; seed ${opts.seed}; ` +
        (distributed ? 'distributed: 2 gateways behind a TCP balancer + 2 workers, PostgreSQL and Redis of their own' : `data in ${dataDir}`),
    );
    const { credentials } = await provisionFleet(new GatewayApi(gateway.baseUrl, ADMIN_TOKEN), fleet, { organizationName: 'Loss check (simulated test data)' });
    const ledger = new Ledger();
    const stats = new RunStats();
    const rng = Rng.seeded(opts.seed);
    // Resends of acknowledged batches and malformed readings ride along: dedupe and rejection are crash-tested too.
    const faults = planFaults(['duplicates', 'malformed'], fleet, senderList, rng.fork('faults'), { startMs: anchorMs, durationMs: null });
    const run = runFleet({
      fleet,
      credentials,
      httpUrl: gateway.baseUrl,
      mqttUrl: gateway.mqttUrl,
      boot,
      anchorMs,
      historyMs: 0,
      durationMs: null,
      rate: opts.rate,
      faults,
      window: opts.window,
      ackTimeoutMs: 5_000,
      reconnectMaxMs: 2_000,
      drainTimeoutMs: 60_000,
      ledger,
      stats,
      signal: stop.signal,
      log: (l) => say(`  simulator: ${l}`),
    });
    let loop: Awaited<ReturnType<typeof killLoop>>;
    try {
      loop = await killLoop({ gateway, kills: opts.kills, minAcks: opts.minAcks, stats, ledger, rng: rng.fork('kills'), log: (l) => say(`  ${l}`) });
    } finally {
      // Ends the load; the runner then drains what is unacknowledged against the last gateway.
      stop.abort();
    }
    const result = await run;
    const exits = cluster !== undefined ? await cluster.stopAll() : [await (single as ChildGateway).stop('SIGTERM', 30_000)];
    const exit = exits.find((e) => e.code !== 0) ?? exits[0] ?? { code: null, signal: null };
    const { rows, rejections } = cluster !== undefined ? await cluster.storedRows(boot) : storedRows(dataDir, boot);
    const report = compareAckedWithStored(ledger.entries(), rows, boot);
    const lastPhase = loop.kills.length;
    const checks: Check[] = [
      ...lossChecks(ledger.entries(), report, (p) => `gateway life ${String(p + 1).padStart(2)} (${p === 0 ? 'start' : `after kill ${p}`} → ${p === lastPhase ? 'drain' : `kill ${p + 1}`})`),
      ...recoveryChecks(loop.kills, loop.recovered, ledger),
      { name: 'drained: nothing left unacknowledged', ok: result.leftUnsent === 0, detail: `${n(result.leftUnsent)} readings still queued at the end` },
      {
        name: 'clean SIGTERM shutdown after the last restart',
        ok: exits.every((e) => e.code === 0),
        detail: `${exits.length === 1 ? 'exit code' : `${exits.length} processes, exit codes`} ${exits.map((e) => e.code).join(', ')}${exit.signal === null ? '' : `, signal ${exit.signal}`}`,
      },
    ];
    say('');
    say(formatSummary(result.summary));
    say(
      `counts: sent ${n(ledger.size)} readings, acknowledged and expected stored ${n(report.mustStore)}, ` +
        `stored ${n(report.stored)} (${n(report.storedUnacked)} without an acknowledgement, allowed), rejection records ${n(rejections)}, process starts ${gateway.starts}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    say(cutAnswers(ledger));
    say('');
    say(formatChecks(checks));
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    stop.abort();
    await single?.dispose();
    await cluster?.dispose(opts.keepData);
    if (opts.keepData) say(`data kept in ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`check:loss failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
