import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../core/logging.js';
import { readingTraces, spanContextOf } from '../core/tracing.js';
import { startRelayedTracing } from '../connectors/telemetry/otel-sdk.js';
import { type Clock, systemClock } from '../core/ports/clock.js';
import { loadSecretKeys } from '../connectors/files/secret-keys-file.js';
import { parentEnd, PortLink } from '../connectors/threads/port-link.js';
import { AlertingService, logRaisedAlerts } from '../pipeline/alerting-service.js';
import { CarePlans } from '../pipeline/care-plans.js';
import { ClusterHubBridge } from '../pipeline/cluster/hub-bridge.js';
import { JOBS } from '../pipeline/cluster/units.js';
import { observeEngine } from '../pipeline/rules-observations.js';
import { WorklistHub } from '../pipeline/worklist/worklist-hub.js';
import { CALLS, CHANNELS, NOTES, RULES_THREAD_NODE, RULES_THREAD_UNIT, type RulesThreadData } from './rules-thread-protocol.js';

/**
 * The single process's rules thread (a composition root, like worker/start.ts): the streaming
 * rules engine on its own event loop and its own database connections, so ingest and the rules
 * never wait for each other (the clinical-state transaction and its fsync included).
 *
 * It works as a worker of the distributed mode holding the one rule partition of one: the main
 * thread posts a nudge (a log position) after each commit, never the readings; the engine reads the
 * log from its durable cursor and writes verdicts, alerts and cursor in one transaction; alert
 * changes go back as ids (ClusterHubBridge) and the main thread's streams read them from the store.
 * Care-plan saves and patient moves arrive as events and drop what the engine caches.
 */
const data = workerData as RulesThreadData;
const { config } = data;
const port = parentEnd(parentPort);
let link: PortLink | undefined;
// Log lines go to the main thread's logger (its destination, its level); none is lost before the link exists.
const early: string[] = [];
const log = createLogger(config.logLevel, {
  write: (line: string) => {
    if (link === undefined) early.push(line);
    else link.note(NOTES.log, line);
  },
}).child({ thread: 'rules' });
const theLink = new PortLink(log);
link = theLink;
for (const line of early.splice(0)) theLink.note(NOTES.log, line);

// Traced in the main thread: the rules' spans are recorded here and exported there.
const tracing = data.tracing ? startRelayedTracing((span) => theLink.note(NOTES.span, span)) : undefined;
theLink.onNote(NOTES.readingTraces, (traces) => {
  if (typeof traces !== 'object' || traces === null) return;
  for (const [readingId, traceparent] of Object.entries(traces as Record<string, unknown>)) {
    const sc = typeof traceparent === 'string' ? spanContextOf(traceparent) : undefined;
    if (sc !== undefined) readingTraces.remember(readingId, sc);
  }
});

let relayedNow = data.clock.kind === 'relayed' ? data.clock.nowMs : 0;
const clock: Clock = data.clock.kind === 'system' ? systemClock : { now: () => relayedNow };
theLink.onNote(NOTES.clock, (v) => {
  if (typeof v === 'number') relayedNow = v;
});

async function open(): Promise<{ stop(drainForMs: number): Promise<void>; engine: AlertingService; carePlanPatients(): Promise<string[]> }> {
  const keys = loadSecretKeys(config);
  // Only the adapters of the configured store are loaded (the thread's start is part of the gateway's).
  const store = config.store;
  const stores =
    store.kind === 'sqlite'
      ? (await import('../connectors/sqlite/index.js')).createSqliteStores({ path: store.path, synchronous: store.synchronous, secrets: keys.cipher })
      : await (await import('../connectors/open-stores.js')).openStores(config, keys.cipher, log, 'rpm-rules-thread');
  const carePlans = new CarePlans(stores.alerts);
  const engine = new AlertingService({
    readings: stores.readings,
    progress: stores.progress,
    alerts: stores.alerts,
    registry: stores.registry,
    carePlans,
    clock,
    log,
    newId: randomUUID,
    historyBudget: config.rules.history,
  });
  // Alert changes reach the main thread's worklist streams as ids (read back from the store there).
  const hub = new WorklistHub();
  await new ClusterHubBridge(hub, theLink, stores.alerts, RULES_THREAD_NODE, log).start();
  engine.onAlertChange((alert, change) => hub.publish({ type: 'alert', change, alert }));
  logRaisedAlerts(engine, log);
  observeEngine(engine, clock).onPass((pass) => theLink.note(NOTES.pass, pass));
  await theLink.subscribe(CHANNELS.patients, (m) => {
    if (typeof m.patientId === 'string') engine.forgetOrganization(m.patientId);
  });
  await theLink.subscribe(CHANNELS.carePlans, (m) => {
    if (typeof m.patientId === 'string') carePlans.forget(m.patientId);
  });
  const carePlanPatients = (): Promise<string[]> => stores.alerts.carePlanPatients();
  // The mailbox, as a rule partition's in a worker: nudges wake the engine (calls coalesce), the clock sweeps run on its turn.
  const stopConsuming = await theLink.consume(RULES_THREAD_UNIT, async (job) => {
    switch (job.name) {
      case JOBS.committed:
      case JOBS.attributed:
        engine.kick();
        return;
      case JOBS.sweepClock:
        await engine.sweepClock();
        return;
      case JOBS.sweepMissing:
        await engine.sweepMissing(await carePlanPatients());
        return;
      default:
        log.warn({ job: job.name }, 'unknown job for the rules thread; ignored');
    }
  });
  await theLink.repeat(RULES_THREAD_UNIT, JOBS.sweepClock, { name: JOBS.sweepClock, data: {} }, config.rules.slaSweepMs);
  await theLink.repeat(RULES_THREAD_UNIT, JOBS.sweepMissing, { name: JOBS.sweepMissing, data: {} }, config.rules.missingDataSweepMs);
  // Catch up on readings committed before a crash or restart, then follow the nudges.
  engine.kick();
  return {
    engine,
    carePlanPatients,
    async stop(drainForMs) {
      // The deadline first: a job waiting for the engine's turn (a clock sweep behind a long
      // catch-up) would otherwise wait for the whole backlog. At most drainForMs more of it; the
      // rest waits behind the durable cursor.
      const stopped = engine.stop({ drainForMs });
      await stopConsuming();
      await theLink.close();
      await stopped;
      hub.closeAll();
      await stores.close();
      // Its last spans (the final pass) go out before the link does.
      await tracing?.shutdown();
    },
  };
}

const opened = open();
// A failed start is reported to the caller of `started` (the main thread's start fails).
opened.catch(() => undefined);
theLink.answer(CALLS.started, async () => {
  await opened;
  return true;
});
theLink.answer(CALLS.drain, async () => {
  await (await opened).engine.drain();
});
theLink.answer(CALLS.sweepClock, async () => {
  const { engine } = await opened;
  await engine.sweepClock();
  await engine.drain();
});
theLink.answer(CALLS.sweepMissing, async () => {
  const { engine, carePlanPatients } = await opened;
  await engine.sweepMissing(await carePlanPatients());
});
theLink.answer(CALLS.stop, async (m) => {
  const running = await opened;
  try {
    await running.stop(typeof m.drainForMs === 'number' ? m.drainForMs : 5000);
  } finally {
    // Once the answer is out, nothing keeps the thread alive: it ends.
    setImmediate(() => {
      theLink.detach('stopped');
      port.unref();
    });
  }
});
theLink.attach(port);
