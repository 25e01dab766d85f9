import type { Ledger } from '../../simulators/ledger.js';
import type { Rng } from '../../simulators/rng.js';
import type { RunStats } from '../../simulators/run-stats.js';
import { type ChildGateway, sleep } from '../../test/helpers/child-gateway.js';

/**
 * The fault: while the simulator's load runs, SIGKILL the gateway and start it again on the same
 * data directory, `kills` times. Each kill waits for fresh acknowledgements on both transports
 * since the last restart (so every life of the gateway commits and acknowledges something over
 * HTTP and MQTT), plus a random amount, so kills land anywhere in the commit cycle.
 */

export interface KillRecord {
  readonly index: number;
  /** Acknowledged readings when the kill was sent. */
  readonly ackedBefore: number;
  readonly killedAtMs: number;
  /** When the next gateway answered /readyz. */
  readonly readyAtMs: number;
  readonly signal: string;
  /** The wait for acknowledgements timed out: that gateway life made no progress on some transport. */
  readonly stalled: boolean;
}

/** What gets killed: the gateway process, or (distributed mode) the next process of a cluster in turn. */
export type Killable = Pick<ChildGateway, 'baseUrl' | 'stop'> & { start(): Promise<unknown>; readonly lastKilled?: string };

export interface KillLoopOptions {
  readonly gateway: Killable;
  readonly kills: number;
  readonly minAcks: number;
  readonly stats: RunStats;
  readonly ledger: Ledger;
  readonly rng: Rng;
  readonly progressTimeoutMs?: number;
  readonly log: (line: string) => void;
}

/** Waits until both transports have new acknowledgements and `total` is reached; false on timeout. */
async function progressed(stats: RunStats, total: number, since: { http: number; mqtt: number }, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(stats.acked >= total && stats.ackedBy.http > since.http && stats.ackedBy.mqtt > since.mqtt)) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

export async function killLoop(o: KillLoopOptions): Promise<{ kills: KillRecord[]; recovered: boolean }> {
  const timeout = o.progressTimeoutMs ?? 30_000;
  const url = o.gateway.baseUrl;
  const kills: KillRecord[] = [];
  for (let k = 1; k <= o.kills; k++) {
    const since = { ...o.stats.ackedBy };
    const ok = await progressed(o.stats, o.stats.acked + o.minAcks + o.rng.int(0, o.minAcks), since, timeout);
    if (!ok) o.log(`kill ${k}: no progress on both transports within ${timeout / 1000} s (HTTP ${o.stats.ackedBy.http - since.http}, MQTT ${o.stats.ackedBy.mqtt - since.mqtt} new acks); killing anyway`);
    await sleep(o.rng.int(0, 200));
    const ackedBefore = o.stats.acked;
    const killedAtMs = Date.now();
    const exit = await o.gateway.stop('SIGKILL', 10_000);
    // Devices meet refused connections for a moment, as they would while a supervisor restarts the process.
    await sleep(o.rng.int(0, 300));
    await o.gateway.start();
    // The simulator's links keep their address: a gateway that had to move ports would strand them.
    if (o.gateway.baseUrl !== url) throw new Error(`the gateway moved from ${url} to ${o.gateway.baseUrl} (a port was taken) after kill ${k}`);
    o.ledger.phase = k;
    const record: KillRecord = { index: k, ackedBefore, killedAtMs, readyAtMs: Date.now(), signal: exit.signal ?? `exit ${exit.code}`, stalled: !ok };
    kills.push(record);
    o.log(`kill ${String(k).padStart(2)}: ${o.gateway.lastKilled === undefined ? '' : `${o.gateway.lastKilled} `}${exit.signal ?? exit.code} after ${ackedBefore.toLocaleString('en-US')} acknowledged; ready again in ${((record.readyAtMs - killedAtMs) / 1000).toFixed(1)} s`);
  }
  // The last life of the gateway must recover on both transports too.
  const since = { ...o.stats.ackedBy };
  const recovered = await progressed(o.stats, o.stats.acked + o.minAcks, since, timeout);
  return { kills, recovered };
}
