import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { allPartitions, type RulePartition } from '../core/cluster/partitions.js';
import { requireClusterConfig } from '../core/config/cluster.js';
import type { Config } from '../core/config/schema.js';
import { ConfigError } from '../core/errors/rpm-error.js';
import { createLogger, type Logger } from '../core/logging.js';
import { type Clock, systemClock } from '../core/ports/clock.js';
import { FhirSink } from '../connectors/fhir/fhir-sink.js';
import { loadSecretKeys } from '../connectors/files/secret-keys-file.js';
import { openStores } from '../connectors/open-stores.js';
import { createPool } from '../connectors/postgres/database.js';
import { fixClusterSetting, PostgresLeases, PostgresMembership } from '../connectors/postgres/postgres-leases.js';
import { BullWorkBus } from '../connectors/redis/bullmq-work-bus.js';
import { RedisClusterEvents } from '../connectors/redis/redis-cluster-events.js';
import { InfluxSink } from '../connectors/timeseries/influx-sink.js';
import { TwilioSmsNotifier } from '../connectors/twilio/twilio-sms-notifier.js';
import { AlertingService } from '../pipeline/alerting-service.js';
import { CarePlans } from '../pipeline/care-plans.js';
import { ClusterHubBridge } from '../pipeline/cluster/hub-bridge.js';
import { destinationOfUnit, fhirUnit, JOBS, partitionOfUnit, REMINDERS_UNIT, rulesUnit, TIMERS_UNIT, TIMESERIES_UNIT } from '../pipeline/cluster/units.js';
import { WorkOwner } from '../pipeline/cluster/work-owner.js';
import { DeliveryWorker } from '../pipeline/delivery-worker.js';
import { DeviceDirectory } from '../pipeline/device-directory.js';
import { PatientIdentityService } from '../pipeline/patients/patient-identity-service.js';
import { fhirJobHandlers } from '../pipeline/scheduling/fhir-job-handlers.js';
import { ReminderWorker } from '../pipeline/scheduling/reminder-worker.js';
import { TimeSeriesWriter } from '../pipeline/timeseries-writer.js';
import { LogNotifier } from '../pipeline/worklist/log-notifier.js';
import { activeChargeNurses, SlaEscalator } from '../pipeline/worklist/sla-escalator.js';
import { StoredSessionLiveness, TimerGuard } from '../pipeline/worklist/timer-guard.js';
import { WorklistHub } from '../pipeline/worklist/worklist-hub.js';
import { continuingTrace, every, type RunningUnit, startRulePartition } from './units.js';

export interface RunningWorker {
  /** Port of the operations endpoint (/healthz, /readyz, /metrics). */
  readonly opsPort: number;
  /** Units of work held here now (rule partitions, destinations, the time-series writer, timers). */
  units(): readonly string[];
  /** Runs one round of work sharing now (tests). */
  rebalance(): Promise<void>;
  /** Resolves once every held unit has done what the store holds for it now. */
  drain(): Promise<void>;
  /** Runs the held rule partitions' clock sweep now (waits for a repeat reading that expired). */
  sweepClock(): Promise<void>;
  /** If the timers unit is held here: SLA escalation (when `escalate`) and timers of ended sessions, now. */
  runTimers(escalate: boolean): Promise<void>;
  /** Stops in order; `complete` false when a step did not finish (its work waits in the store). */
  close(): Promise<{ readonly complete: boolean }>;
}

export interface WorkerOptions {
  readonly log?: Logger;
  readonly clock?: Clock;
}

/** The safety net under the nudges of each held unit (a nudge lost with Redis delays work by this much). */
const CATCH_UP_MS = 1000;
/** How long a unit may take to stop (finish its pass, close its consumer) before it is left behind. */
const UNIT_STOP_MS = 2000;

/** Whether `work` settled within `ms` (its rejection is passed on); the timer never outlives the answer. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The worker of the distributed mode (`rpm worker`): the background work of the single process,
 * shared among the live workers by leases in PostgreSQL. Units: one per rule partition (the rules
 * engine for the patients hashed to it), one per enabled FHIR destination (delivery), the
 * time-series writer, the cluster's timers (SLA escalation and its SMS, snooze ends, timers of
 * ended sessions), and scheduling's delayed jobs (visit reminders by SMS, FHIR Appointments). Each unit is held by one worker at a time; a dead worker's units move within two
 * rounds. What a unit does is read from the durable store (cursors, the outbox, positions), so a
 * move or a Redis restart delays work and never loses or repeats an effect. The composition root
 * of the role: the only module here that imports connectors/.
 */
export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<RunningWorker> {
  const log = (options.log ?? createLogger(config.logLevel)).child({ role: 'worker', node: config.nodeName });
  const clock = options.clock ?? systemClock;
  const { redis, databaseUrl } = requireClusterConfig(config, 'worker');
  const keys = loadSecretKeys(config);
  const stores = await openStores(config, keys.cipher, log, `rpm-worker:${config.nodeName}`);
  const pool = createPool({ url: databaseUrl, poolSize: 2, statementTimeoutMs: 10_000, applicationName: `rpm-worker-membership:${config.nodeName}` });
  const closeOnFailure = async (): Promise<void> => {
    await pool.end().catch(() => undefined);
    await stores.close().catch(() => undefined);
  };
  const partitionCount = config.rules.partitions;
  const fixed = await fixClusterSetting(pool, 'rules.partitions', String(partitionCount)).catch(async (err: unknown) => {
    await closeOnFailure();
    throw err;
  });
  if (fixed !== String(partitionCount)) {
    await closeOnFailure();
    throw new ConfigError([`RPM_RULES_PARTITIONS is ${partitionCount}, but this database's workers share patients in ${fixed} partitions (fixed at its first start); set RPM_RULES_PARTITIONS=${fixed}`]);
  }

  const onRedisError = (err: Error): void => log.warn({ err: err.message }, 'Redis connection problem (work resumes from the store when it is back)');
  const bus = new BullWorkBus({ url: redis.url, prefix: redis.prefix, onError: onRedisError });
  const events = new RedisClusterEvents({ url: redis.url, prefix: redis.prefix, onError: onRedisError });
  const leases = new PostgresLeases({ url: databaseUrl, applicationName: `rpm-worker-leases:${config.nodeName}` });

  // Alert changes made here reach the nurses' streams on every gateway (as ids; gateways read the alert).
  const hub = new WorklistHub();
  await new ClusterHubBridge(hub, events, stores.alerts, config.nodeName, log).start();
  const carePlans = new CarePlans(stores.alerts);
  const directory = new DeviceDirectory(stores.registry);
  // A device changed at a gateway (FHIR Device resources are built from the registry).
  await events.subscribe('devices', (m) => {
    if (typeof m.deviceId === 'string') directory.invalidate(m.deviceId);
  });
  // A patient moved to another organization at a gateway: alerts and points carry the new one.
  const engines = new Set<AlertingService>();
  await events.subscribe('patients', (m) => {
    if (typeof m.patientId !== 'string') return;
    for (const engine of engines) engine.forgetOrganization(m.patientId);
    timeSeries?.forgetOrganization(m.patientId);
  });
  // A care plan saved at a gateway: the engines here judge with the new plan from now on.
  await events.subscribe('care-plans', (m) => {
    if (typeof m.patientId === 'string') carePlans.forget(m.patientId);
  });
  events.onReconnect(() => directory.invalidateAll());

  // Each engine holds its share of the history budget, sized for a worker holding half the partitions.
  const historyBudget = { perKind: config.rules.history.perKind, total: Math.max(config.rules.history.perKind, Math.ceil((config.rules.history.total * 2) / partitionCount)) };
  const engineFor = (partition: RulePartition): AlertingService => {
    const engine = new AlertingService({
      readings: stores.readings,
      progress: stores.progress,
      alerts: stores.alerts,
      registry: stores.registry,
      carePlans,
      clock,
      log,
      newId: randomUUID,
      historyBudget,
      partition,
    });
    engine.onAlertChange((alert, change) => hub.publish({ type: 'alert', change, alert }));
    return engine;
  };

  const owned = new Set<string>();
  const fhirSink = new FhirSink({ systemBase: config.fhir.systemBase, timeoutMs: config.fhir.timeoutMs, log });
  // SMS: escalations to staff and visit reminders to patients (no PHI either way).
  const notifier = config.twilio === undefined ? new LogNotifier(log) : new TwilioSmsNotifier(config.twilio);
  const deliveries = new DeliveryWorker({
    store: stores.forwarding,
    sink: fhirSink,
    device: (id) => directory.device(id),
    audit: stores.audit,
    clock,
    log,
    options: config.fhir,
    owns: (destinationId) => owned.has(fhirUnit(destinationId)),
  });
  const timeSeriesSink = config.timeSeries === undefined ? undefined : new InfluxSink({ ...config.timeSeries, timeoutMs: 10_000 });
  const timeSeries =
    timeSeriesSink === undefined ? undefined : new TimeSeriesWriter({ readings: stores.readings, progress: stores.progress, sink: timeSeriesSink, registry: stores.registry, log });

  const running = new Map<string, RunningUnit>();
  const startUnit = async (unit: string): Promise<RunningUnit> => {
    const partition = partitionOfUnit(unit);
    if (partition !== undefined) {
      const engine = engineFor(partition);
      engines.add(engine);
      const running = await startRulePartition(unit, partition, engine, {
        bus,
        alerts: stores.alerts,
        log,
        slaSweepMs: config.rules.slaSweepMs,
        missingDataSweepMs: config.rules.missingDataSweepMs,
        catchUpMs: CATCH_UP_MS,
      });
      return {
        ...running,
        async stop() {
          await running.stop();
          engines.delete(engine);
        },
      };
    }
    const destinationId = destinationOfUnit(unit);
    if (destinationId !== undefined) {
      // The delivery worker's pump for this destination starts with the refresh (it owns it now).
      await deliveries.refresh();
      const stopConsuming = await bus.consume(unit, continuingTrace(unit, async (job) => {
        if (job.name === JOBS.refresh) await deliveries.refresh();
        else if (job.name === JOBS.patientMapped && typeof job.data.patientId === 'string') await deliveries.patientMapped(destinationId, job.data.patientId);
        else deliveries.kick();
      }));
      return {
        async stop() {
          await stopConsuming();
          // The pump stops: owns() no longer names it.
          await deliveries.refresh();
        },
      };
    }
    if (unit === TIMESERIES_UNIT && timeSeries !== undefined) {
      timeSeries.kick();
      const stopConsuming = await bus.consume(unit, async () => timeSeries.kick());
      const stopCatchUp = every(CATCH_UP_MS, async () => timeSeries.kick(), log, 'time-series catch-up');
      return {
        async stop() {
          await stopCatchUp();
          await stopConsuming();
        },
      };
    }
    if (unit === TIMERS_UNIT) {
      const escalator = new SlaEscalator({
        alerts: stores.alerts,
        hub,
        notifier,
        clock,
        log,
        chargeNurses: (organizationId) => activeChargeNurses(stores.staff, organizationId),
        phoneOf: async (staffId) => (await stores.staff.getStaff(staffId))?.phone ?? null,
      });
      // Timers of nurses whose sessions ended without a logout (idle, absolute expiry); a logout at a
      // gateway stops her timer there at once.
      const timerGuard = new TimerGuard(stores.alerts, new StoredSessionLiveness(stores.staff, clock, config.sessions.idleMs), clock, log);
      // The clock work runs as BullMQ repeatable jobs on this unit's queue (once per tick across the
      // cluster, here in its holder). Escalation must never wait for Redis: if no tick arrived for two
      // intervals (Redis away or restarted without its schedulers), the holder runs it itself.
      let lastRun = performance.now();
      const run = async (what: string): Promise<void> => {
        lastRun = performance.now();
        if (what === JOBS.sla) await escalator.runOnce();
        else if (what === JOBS.timerSweep) await timerGuard.sweep();
      };
      const stopConsuming = await bus.consume(unit, (job) => run(job.name));
      const registerRepeats = async (): Promise<void> => {
        await bus.repeat(unit, JOBS.sla, { name: JOBS.sla, data: {} }, config.rules.slaSweepMs);
        await bus.repeat(unit, JOBS.timerSweep, { name: JOBS.timerSweep, data: {} }, config.rules.slaSweepMs);
      };
      await registerRepeats().catch((err: unknown) => log.warn({ err, unit }, 'could not register the cluster timers; running them here until Redis is back'));
      const stopFallback = every(
        config.rules.slaSweepMs,
        async () => {
          if (performance.now() - lastRun < 2 * config.rules.slaSweepMs) return;
          await run(JOBS.sla);
          await run(JOBS.timerSweep);
          await registerRepeats().catch(() => undefined);
        },
        log,
        'cluster timers fallback',
      );
      return {
        async timers(escalate: boolean) {
          if (escalate) await escalator.runOnce();
          await timerGuard.sweep();
        },
        async stop() {
          await stopFallback();
          await stopConsuming();
          await escalator.stop();
        },
      };
    }
    if (unit === REMINDERS_UNIT) {
      // Scheduling's durable jobs (visit reminders, FHIR Appointments), claimed from the job table
      // under their own lease and sent with the job id as Twilio's idempotency token. BullMQ delayed
      // jobs posted by the gateways after each booking's commit wake this holder at each due time;
      // its own look at the table (the next due time it knows of, at least every RPM_JOB_POLL_S) is
      // the sweep that makes an empty Redis only a delay.
      const reminders = new ReminderWorker({
        jobs: stores.jobs,
        store: stores.scheduling,
        identities: new PatientIdentityService({ store: stores.identities, audit: stores.audit, clock }),
        notifier,
        audit: stores.audit,
        clock,
        log,
        owner: `${config.nodeName}:${process.pid}:${randomUUID()}`,
        leaseMs: config.scheduling.jobLeaseMs,
        pollMs: config.scheduling.jobPollMs,
        handlers: Object.values(
          fhirJobHandlers({ forwarding: stores.forwarding, scheduling: stores.scheduling, visits: stores.visits, staff: stores.staff, sink: fhirSink, audit: stores.audit, clock, patientRecheckMs: config.fhir.patientRecheckMs }),
        ),
      });
      // The unit's lease makes this the only process sending scheduling jobs: jobs still marked
      // running were claimed by the previous holder, which lost the unit with its store connection
      // (it died, or stops now). They are due again at once rather than after their lease; a send the
      // old holder had in flight is repeated with the same idempotency token, which Twilio drops.
      // Listening first: a unit that cannot start (its consumer) leaves nothing running behind it.
      const stopConsuming = await bus.consume(unit, async (job) => {
        if (job.name === JOBS.due) reminders.kick();
      });
      await reminders.start({ recover: true });
      return {
        async stop() {
          await stopConsuming();
          await reminders.stop();
        },
      };
    }
    throw new Error(`unknown unit of work: ${unit}`);
  };

  const unitNames = async (): Promise<string[]> => {
    const destinations = (await stores.forwarding.listDestinations()).filter((d) => d.enabled).map((d) => fhirUnit(d.id));
    return [...allPartitions(partitionCount).map(rulesUnit), ...destinations, ...(timeSeries === undefined ? [] : [TIMESERIES_UNIT]), TIMERS_UNIT, REMINDERS_UNIT];
  };
  const owner = new WorkOwner({
    leases,
    membership: new PostgresMembership(pool, 'worker', config.nodeName, config.cluster.roundMs * 3),
    log,
    units: unitNames,
    start: async (unit) => {
      owned.add(unit);
      try {
        running.set(unit, await startUnit(unit));
        log.info({ unit }, 'holding a unit of work');
      } catch (err) {
        owned.delete(unit);
        throw err;
      }
    },
    stop: async (unit) => {
      owned.delete(unit);
      const r = running.get(unit);
      running.delete(unit);
      // Bounded: a unit's state is in the store, so one that cannot stop cleanly (a connection
      // Redis dropped) is left behind rather than holding its lease, and the shutdown, hostage.
      const stopped = await within(r?.stop() ?? Promise.resolve(), UNIT_STOP_MS);
      if (stopped) log.info({ unit }, 'gave up a unit of work');
      else log.warn({ unit, waitedMs: UNIT_STOP_MS }, 'a unit of work did not stop in time; giving it up anyway (its work resumes from the store)');
    },
    seed: Math.floor(Math.random() * 1_000_000),
    roundMs: config.cluster.roundMs,
  });
  deliveries.start();
  owner.start();

  // Operations endpoint: liveness, readiness (the store answers and work is shared), metrics.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'rpm_worker_units_held',
    help: 'Units of work this worker holds, by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      const kinds = new Map<string, number>();
      for (const u of owned) {
        const kind = u.split(':')[0] ?? u;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      for (const [kind, n] of kinds) this.set({ kind }, n);
    },
  });
  const ready = async (): Promise<boolean> => {
    try {
      await pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const answer = (status: number, body: string, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return answer(405, JSON.stringify({ status: 'method not allowed' }));
    if (path === '/healthz') return answer(200, JSON.stringify({ status: 'ok' }));
    if (path === '/readyz') {
      void ready().then((ok) => answer(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ready' : 'store unreachable', units: owned.size })));
      return;
    }
    if (path === '/metrics') {
      void registry.metrics().then((text) => answer(200, text, registry.contentType));
      return;
    }
    answer(404, JSON.stringify({ status: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => resolve());
  });
  const opsPort = (server.address() as net.AddressInfo).port;
  log.info({ opsPort, partitions: partitionCount, timeSeries: timeSeries !== undefined }, 'worker started');

  let closing: Promise<{ readonly complete: boolean }> | undefined;
  return {
    opsPort,
    units: () => [...owned].sort(),
    rebalance: () => owner.rebalance(),
    async drain() {
      for (const unit of [...running.values()]) await unit.drain?.();
      await timeSeries?.drain().catch(() => undefined);
    },
    async sweepClock() {
      for (const unit of [...running.values()]) await unit.sweepClock?.();
    },
    async runTimers(escalate) {
      for (const unit of [...running.values()]) await unit.timers?.(escalate);
    },
    close() {
      closing ??= (async () => {
        log.info('worker shutting down: giving its work back');
        const incomplete: string[] = [];
        // Each step bounded: whatever a step leaves undone is in the store, for the next holder.
        const step = async (what: string, run: () => Promise<unknown>, ms = 5000): Promise<void> => {
          try {
            if (!(await within(run(), ms))) throw new Error(`${what} took over ${ms} ms`);
          } catch (err) {
            incomplete.push(what);
            log.warn({ err }, `worker shutdown: ${what} did not finish; going on`);
          }
        };
        // Units stop (engines finish their pass, pumps end), then leases go, so others take over at once.
        await step('units', () => owner.stop());
        await step('fhir-delivery', () => deliveries.stop());
        await step('time-series', async () => {
          await timeSeries?.stop();
          await timeSeriesSink?.close();
        });
        server.closeAllConnections();
        await step('ops endpoint', () => new Promise<void>((resolve) => server.close(() => resolve())));
        hub.closeAll();
        await step('leases', () => leases.close());
        await step('work bus', () => bus.close());
        await step('cluster events', () => events.close());
        await step('membership pool', () => pool.end());
        await step('stores', () => stores.close());
        log.info({ incomplete }, 'worker stopped');
        return { complete: incomplete.length === 0 };
      })();
      return closing;
    },
  };
}
