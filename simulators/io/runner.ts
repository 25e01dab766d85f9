import type { FaultPlan } from '../faults.js';
import type { Ledger } from '../ledger.js';
import { type Fleet, type Sender, senders } from '../model.js';
import { DeviceStream, NO_QUIRKS, type SimReading } from '../readings.js';
import { Rng } from '../rng.js';
import { type RunStats, type Summary, summarize } from '../run-stats.js';
import { HttpLink } from './http-link.js';
import type { Link, LinkEvents } from './link.js';
import { MqttLink } from './mqtt-link.js';
import { SenderAgent } from './sender-agent.js';

/**
 * Drives a fleet against a running gateway: uploads the history backlog, then plays the live
 * phase in real time (the patients' schedules, or a fixed total rate for load tests), applies
 * the planned faults, and drains what is unacknowledged at the end.
 */

export interface RunOptions {
  readonly fleet: Fleet;
  /** Sender id (cellular device or hub) → secret. */
  readonly credentials: ReadonlyMap<string, string>;
  readonly httpUrl: string;
  readonly mqttUrl: string;
  /** Tag in every client id; a run's readings are told apart from earlier runs' by it. */
  readonly boot: string;
  /** "Now" for the fleet: history ends and the live phase begins here. */
  readonly anchorMs: number;
  /** Backlog to upload first: the patients' schedules over this much time before the anchor. */
  readonly historyMs: number;
  /** Live phase length; null: until `signal` aborts. */
  readonly durationMs: number | null;
  /** Readings per second across the fleet instead of the patients' schedules (load tests). */
  readonly rate: number | null;
  readonly spotCheckEveryMs?: number;
  readonly faults: FaultPlan;
  readonly window?: number;
  readonly maxBatchDevice?: number;
  readonly maxBatchHub?: number;
  /** Hubs upload what accumulated at this interval (0: as soon as they can). */
  readonly hubUploadEveryMs?: number;
  readonly ackTimeoutMs?: number;
  /** Longest MQTT reconnect backoff (default 10 s); the loss checker shortens it to fit many restarts in minutes. */
  readonly reconnectMaxMs?: number;
  /** After the live phase, how long to wait for what is still unacknowledged. */
  readonly drainTimeoutMs?: number;
  /** New connections per second at start (a listen backlog is finite). */
  readonly connectRate?: number;
  readonly ledger: Ledger;
  readonly stats: RunStats;
  /** Aborting ends the live phase early (then the drain runs as usual). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: Progress) => void;
  readonly log?: (line: string) => void;
  /** Senders reach the gateway another way than our JSON (vendor formats): their link. */
  readonly linkFor?: (sender: Sender, events: LinkEvents) => Link;
  /** Device clocks stamp whole seconds only (vendor formats with second resolution). */
  readonly wholeSecondStamps?: boolean;
}

export interface Progress {
  readonly elapsedS: number;
  readonly phase: 'history' | 'live' | 'drain';
  readonly transmissions: number;
  readonly acked: number;
  readonly rejected: number;
  readonly queued: number;
  readonly inFlight: number;
  readonly connected: number;
  readonly mqttSenders: number;
  readonly p99Ms: number;
}

export interface RunResult {
  readonly summary: Summary;
  /** Readings still queued or in flight when the run ended (never acknowledged). */
  readonly leftUnsent: number;
}

const TICK_MS = 50;
const SCHEDULE_CHUNK_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runFleet(o: RunOptions): Promise<RunResult> {
  const log = o.log ?? (() => {});
  const { fleet, ledger, stats, faults } = o;
  const root = Rng.seeded(fleet.seed);
  const patients = new Map(fleet.patients.map((p) => [p.id, p]));
  const streams = new Map<string, DeviceStream>();
  for (const d of fleet.devices) {
    const patient = patients.get(d.patientId);
    if (patient === undefined) throw new Error(`device ${d.id}: unknown patient ${d.patientId}`);
    streams.set(d.id, new DeviceStream(d, patient, root.fork(`device:${d.id}`), o.boot, faults.quirks.get(d.id) ?? NO_QUIRKS, undefined, o.wholeSecondStamps === true));
  }

  const agents = new Map<string, SenderAgent>();
  const agentOfDevice = new Map<string, SenderAgent>();
  const senderList: Sender[] = senders(fleet);
  for (const s of senderList) {
    const secret = o.credentials.get(s.id);
    if (secret === undefined) throw new Error(`no secret for ${s.id}: provision the fleet first`);
    let agent: SenderAgent | undefined;
    const events: LinkEvents = {
      ready: () => agent?.pump(),
      rejectedLater: (clientId, code) => {
        if (!ledger.rejected(clientId, code, Date.now())) return;
        stats.rejected++;
        stats.rejection(code);
      },
      payloadRejected: (code) => stats.rejection(code),
    };
    const link: Link =
      o.linkFor !== undefined
        ? o.linkFor(s, events)
        : s.transport === 'http'
        ? new HttpLink(o.httpUrl, secret, events, o.ackTimeoutMs)
        : new MqttLink(
            o.mqttUrl,
            s.id,
            secret,
            events,
            {
              connected: (ms) => {
                stats.connects++;
                stats.connected++;
                stats.recordConnect(ms);
              },
              connectFailed: (reason, fatal) => {
                stats.connectFailures++;
                stats.connectFailureReason(reason);
                if (fatal) stats.problem(`MQTT connection refused: ${reason}`);
              },
              disconnected: (unexpected) => {
                if (unexpected) stats.disconnects++;
                stats.connected--;
              },
            },
            o.ackTimeoutMs,
            o.reconnectMaxMs,
          );
    agent = new SenderAgent(s, link, {
      window: o.window ?? 1,
      maxBatch: s.hub ? (o.maxBatchHub ?? 200) : (o.maxBatchDevice ?? 20),
      faults,
      ledger,
      stats,
      rng: root.fork(`agent:${s.id}`),
      log,
    });
    // Hubs batch: after the backlog, they upload at intervals rather than per reading.
    agent.batchUploads = s.hub && (o.hubUploadEveryMs ?? (o.rate === null ? 30_000 : 0)) > 0;
    agents.set(s.id, agent);
    for (const id of s.deviceIds) agentOfDevice.set(id, agent);
  }
  const mqttAgents = [...agents.values()].filter((a) => a.link.transport === 'mqtt');
  const route = (r: SimReading): void => agentOfDevice.get(r.deviceId)?.enqueue([r]);

  const started = Date.now();
  const elapsedS = (): number => (Date.now() - started) / 1000;
  let phase: Progress['phase'] = 'history';
  const progress = (): void =>
    o.onProgress?.({
      elapsedS: elapsedS(),
      phase,
      transmissions: stats.transmissions,
      acked: stats.acked,
      rejected: stats.rejected,
      queued: [...agents.values()].reduce((n, a) => n + a.queued, 0),
      inFlight: stats.inFlight,
      connected: stats.connected,
      mqttSenders: mqttAgents.length,
      p99Ms: stats.percentileMs(99),
    });
  const progressTimer = setInterval(progress, 1000);

  // The backlog: every device's schedule over the history window, oldest first.
  if (o.historyMs > 0) {
    for (const stream of streams.values()) {
      agentOfDevice.get(stream.device.id)?.enqueue(stream.scheduled(o.anchorMs - o.historyMs, o.anchorMs));
    }
  }

  // Connect at a bounded rate; HTTP senders are ready at once.
  const connectEvery = 1000 / (o.connectRate ?? 500);
  const offlineAtStart = (id: string): boolean => {
    const w = faults.offline.get(id);
    return w !== undefined && w.fromMs <= o.anchorMs && w.toMs > o.anchorMs;
  };
  for (const [i, a] of [...agents.values()].entries()) {
    if (offlineAtStart(a.sender.id)) continue;
    if (a.link.transport === 'http') a.link.open();
    else if (i * connectEvery < TICK_MS) a.link.open();
    else setTimeout(() => a.link.open(), i * connectEvery).unref();
  }

  // Live phase. Real time; each tick moves due readings into the senders' outboxes.
  phase = 'live';
  const liveStart = Date.now();
  const endAt = o.durationMs === null ? Number.POSITIVE_INFINITY : liveStart + o.durationMs;
  const horizon = new Map<string, number>();
  const upcoming = new Map<string, SimReading[]>();
  let emitted = 0;
  let rr = 0;
  const deviceIds = [...streams.keys()];
  const done = new Set<string>();
  const stormRng = root.fork('storm');
  const hubUploadEvery = o.hubUploadEveryMs ?? (o.rate === null ? 30_000 : 0);
  const hubAgents = [...agents.values()].filter((a) => a.sender.hub);
  const hubPhase = new Map(hubAgents.map((a) => [a.sender.id, root.fork(`hub-phase:${a.sender.id}`).uniform(0, Math.max(1, hubUploadEvery))]));

  while (!(o.signal?.aborted ?? false) && Date.now() < endAt) {
    const now = Date.now();
    if (o.rate !== null) {
      // Open loop: the fleet's total rate, spread round-robin; each reading measured now.
      const due = Math.floor((o.rate * (now - liveStart)) / 1000) - emitted;
      for (let i = 0; i < due; i++) {
        const id = deviceIds[rr++ % deviceIds.length] as string;
        route((streams.get(id) as DeviceStream).at(now));
      }
      emitted += Math.max(0, due);
    } else {
      for (const [id, stream] of streams) {
        let h = horizon.get(id) ?? o.anchorMs;
        let list = upcoming.get(id) ?? [];
        if (h < now + TICK_MS) {
          list = list.concat(stream.scheduled(h, h + SCHEDULE_CHUNK_MS, o.spotCheckEveryMs === undefined ? {} : { spotCheckEveryMs: o.spotCheckEveryMs, spotFromMs: o.anchorMs }));
          h += SCHEDULE_CHUNK_MS;
          horizon.set(id, h);
        }
        let k = 0;
        while (k < list.length && (list[k] as SimReading).measuredAtMs <= now) route(list[k++] as SimReading);
        upcoming.set(id, k === 0 ? list : list.slice(k));
      }
    }
    // Hubs upload what accumulated at their own interval (each hub on its own phase).
    if (hubUploadEvery > 0) {
      for (const a of hubAgents) {
        const p = hubPhase.get(a.sender.id) ?? 0;
        if (Math.floor((now - liveStart - p) / hubUploadEvery) !== Math.floor((now - TICK_MS - liveStart - p) / hubUploadEvery)) a.openUploads();
      }
    }
    if (faults.burstAtMs !== null && !done.has('burst') && now >= faults.burstAtMs) {
      done.add('burst');
      log('fault: morning burst: every device measures and transmits now');
      for (const stream of streams.values()) route(stream.at(now));
      for (const a of hubAgents) a.openUploads();
    }
    if (faults.storm !== null && !done.has('storm') && now >= faults.storm.atMs) {
      done.add('storm');
      log(`fault: reconnect storm: ${mqttAgents.length} MQTT connections drop and reconnect within ${(faults.storm.windowMs / 1000).toFixed(0)} s`);
      for (const a of mqttAgents) {
        a.link.hold();
        const delay = stormRng.fork(a.sender.id).uniform(0, faults.storm.windowMs);
        setTimeout(() => {
          if (!(faults.offline.get(a.sender.id) !== undefined && offlineNow(faults, a.sender.id, Date.now()))) a.link.open();
        }, delay).unref();
      }
    }
    for (const [id, w] of faults.offline) {
      const a = agents.get(id);
      if (a === undefined) continue;
      if (!done.has(`off:${id}`) && now >= w.fromMs && now < w.toMs) {
        done.add(`off:${id}`);
        a.link.hold();
        a.link.drop();
      } else if (!done.has(`on:${id}`) && now >= w.toMs) {
        done.add(`on:${id}`);
        a.link.open();
      }
    }
    await sleep(TICK_MS);
  }

  // Drain: everything still unacknowledged gets its chance while the gateway is up.
  phase = 'drain';
  for (const a of agents.values()) {
    a.batchUploads = false;
    if (!a.link.ready && !a.dead) a.link.open();
    a.openUploads();
  }
  const drainUntil = Date.now() + (o.drainTimeoutMs ?? 30_000);
  while (Date.now() < drainUntil && [...agents.values()].some((a) => !a.idle && !a.dead)) await sleep(TICK_MS);
  clearInterval(progressTimer);
  progress();
  const leftUnsent = [...agents.values()].reduce((n, a) => n + a.queued, 0);
  if (leftUnsent > 0) log(`${leftUnsent} readings were still unacknowledged when the drain ended`);
  await Promise.all([...agents.values()].map((a) => a.stop()));
  return { summary: summarize(stats, ledger, (Date.now() - started) / 1000), leftUnsent };
}

function offlineNow(faults: FaultPlan, id: string, now: number): boolean {
  const w = faults.offline.get(id);
  return w !== undefined && now >= w.fromMs && now < w.toMs;
}
