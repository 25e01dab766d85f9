import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AlertStore } from '../core/ports/alert-store.js';
import type { Clock } from '../core/ports/clock.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import { VENDORS, type VendorName } from '../core/model/vendor.js';
import type { RulesObserver } from '../pipeline/rules-observations.js';
import type { GroupCommitter } from '../pipeline/group-committer.js';
import type { EventLoopDelay } from './event-loop-monitor.js';
import { IGNORED_REASONS } from './vendors/translation.js';
import type { PullMetricsSink } from './vendors/withings-puller.js';
import type { VendorMetricsSink, VendorRequestOutcome } from './vendors/vendor-service.js';
import type { WorklistHub } from '../pipeline/worklist/worklist-hub.js';
import type { EscalationObserver, UndeliverableReason } from '../pipeline/worklist/sla-escalator.js';

export interface MetricsSources {
  readonly committer: GroupCommitter;
  /** The rules engine when it runs in this process (not in a gateway of the distributed mode). */
  /** The rules engine of the single process (its background thread); none in a gateway of the distributed mode. */
  readonly alerting: RulesObserver | undefined;
  /** The single process's rules thread: restarts after unexpected ends, and whether it runs. */
  readonly rulesThread?: { readonly restarts: number; readonly running: boolean };
  readonly readings: ReadingStore;
  readonly alerts: AlertStore;
  readonly hub: WorklistHub;
  readonly clock: Clock;
  readonly maxPendingRows: number;
  /** Event-loop delay over the last minute (gateway/event-loop-monitor.ts). */
  readonly loop: { delay(): EventLoopDelay };
  /** Whether the reading store commits (pipeline/store-health.ts). */
  readonly storeHealth: { readonly writable: boolean };
  /** Staff sessions live now (rpm_staff_sessions). */
  readonly liveSessions?: () => Promise<number>;
}

/** The bounded escalation-level label: 1, 2, 3, then 4+ together. */
const levelLabel = (level: number): string => (level >= 4 ? '4+' : String(Math.max(1, level)));
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const OPEN_STATUSES = ['open', 'claimed', 'acknowledged'] as const;
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the MQTT edge reports (a subset of MqttBroker, so tests need no broker). */
export interface MqttGaugeSource {
  readonly aedes: { readonly connectedClients: number };
  inFlight(): number;
  rateLimited(): number;
}

/** A delivery queue's rows, each count at most `cap` (a scrape must stay cheap however large the backlog). */
export interface BacklogCounts {
  /** Waiting to be sent: never tried, or failed and due for a retry. */
  readonly waiting: number;
  /** Given up on (dead letters): they wait for an operator, not for the worker. */
  readonly dead: number;
}

/** A delivery queue to watch (the FHIR outbox): counts its rows at scrape time. */
export type BacklogSource = (cap: number) => Promise<BacklogCounts> | BacklogCounts;

/** One FHIR destination's queue and circuit, as the metrics report it. */
export interface DestinationGauge {
  readonly id: string;
  readonly paused: boolean;
  /** Pending or failed deliveries (capped). */
  readonly waiting: number;
  readonly oldestWaitingSinceMs: number | undefined;
  /** Dead letters (capped). */
  readonly dead: number;
  /** undefined while paused (no pump, no breaker). */
  readonly circuit: 'closed' | 'half-open' | 'open' | undefined;
}

export type DestinationSource = (cap: number) => Promise<readonly DestinationGauge[]>;

const CIRCUIT_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Outbox rows counted per scrape at most; more shows as this value (the Grafana panels say "≥"). */
const OUTBOX_COUNT_CAP = 10_000;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** A counter that follows a running total the source keeps, read at scrape time. */
function totalCounter(registry: Registry, name: string, help: string, total: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

/**
 * Prometheus metrics of the gateway, on a registry of its own (several gateways may share a
 * test process). Labels are operational only (transport, outcome, severity): never a patient,
 * device or staff id, so the scrape output carries no PHI and stays low-cardinality.
 * Counters are fed by pipeline observers; gauges are read at scrape time.
 */
export class GatewayMetrics implements VendorMetricsSink, PullMetricsSink, EscalationObserver {
  readonly registry = new Registry();
  private mqtt: MqttGaugeSource | undefined;
  private readonly backlogs = new Map<string, BacklogSource>();
  private destinations: DestinationSource | undefined;
  private vendorPulls: ((cap: number) => Promise<{ readonly waiting: number; readonly dead: number }>) | undefined;
  private readonly vendor: {
    readonly requests: Counter<'vendor' | 'outcome'>;
    readonly requestSeconds: Histogram<'vendor'>;
    readonly readings: Counter<'vendor' | 'outcome'>;
    readonly ignored: Counter<'vendor' | 'reason'>;
    readonly deviceStatus: Counter<'vendor'>;
    readonly pulls: Counter<'vendor' | 'outcome'>;
    readonly tokenRefreshes: Counter<'vendor' | 'outcome'>;
  };

  private readonly ops: {
    readonly httpRequests: Counter<'method' | 'route' | 'status'>;
    readonly httpSeconds: Histogram<'method' | 'route' | 'status_class'>;
    readonly notifications: Counter<'channel' | 'outcome' | 'reason'>;
    readonly escalations: Counter<'level' | 'severity'>;
    readonly undeliverable: Counter<'reason'>;
    readonly mqttSessions: Counter<'event'>;
    readonly logins: Counter<'outcome'>;
  };

  constructor(private readonly src: MetricsSources) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });

    // What an on-call engineer asks first: which routes answer what, how fast, and what is refused.
    this.ops = {
      httpRequests: new Counter({
        name: 'rpm_http_requests_total',
        help: 'HTTP requests answered, by method, route pattern (never the URL) and status; refusals included (503 RPM_ERR_OVERLOADED, 429, 401 …)',
        labelNames: ['method', 'route', 'status'] as const,
        registers: [r],
      }),
      httpSeconds: new Histogram({
        name: 'rpm_http_request_duration_seconds',
        help: 'Time from request start to the end of the answer, by method, route pattern and status class (2xx, 4xx, 5xx); a worklist stream counts its whole life',
        labelNames: ['method', 'route', 'status_class'] as const,
        buckets: HTTP_BUCKETS,
        registers: [r],
      }),
      notifications: new Counter({
        name: 'rpm_notifications_total',
        help: 'Escalation notifications by channel (sms) and outcome: sent, retry (failed, will be retried), failed (given up), with the reason (ok, no-phone, the provider error code)',
        labelNames: ['channel', 'outcome', 'reason'] as const,
        registers: [r],
      }),
      escalations: new Counter({
        name: 'rpm_escalations_total',
        help: 'SLA escalations of unacknowledged alerts, by the level reached (1, 2, 3, 4+) and severity',
        labelNames: ['level', 'severity'] as const,
        registers: [r],
      }),
      undeliverable: new Counter({
        name: 'rpm_escalations_undeliverable_total',
        help: 'Escalations that reached nobody: the organization has no charge nurse (no-charge-nurse) or none with a phone (no-phone)',
        labelNames: ['reason'] as const,
        registers: [r],
      }),
      mqttSessions: new Counter({
        name: 'rpm_mqtt_session_events_total',
        help: 'Device MQTT sessions: connected, disconnected, taken-over (a new connection with the same client id replaced the session)',
        labelNames: ['event'] as const,
        registers: [r],
      }),
      logins: new Counter({
        name: 'rpm_staff_logins_total',
        help: 'Staff logins by outcome: success, failure (wrong email or password), delayed (refused while the account waits after wrong passwords); per-address 429s are in rpm_http_requests_total',
        labelNames: ['outcome'] as const,
        registers: [r],
      }),
    };
    for (const channel of ['sms']) {
      this.ops.notifications.inc({ channel, outcome: 'sent', reason: 'ok' }, 0);
      this.ops.notifications.inc({ channel, outcome: 'failed', reason: 'no-phone' }, 0);
    }
    for (const level of ['1', '2', '3', '4+']) for (const severity of SEVERITIES) this.ops.escalations.inc({ level, severity }, 0);
    for (const reason of ['no-charge-nurse', 'no-phone']) this.ops.undeliverable.inc({ reason }, 0);
    for (const event of ['connected', 'disconnected', 'taken-over']) this.ops.mqttSessions.inc({ event }, 0);
    for (const outcome of ['success', 'failure', 'delayed']) this.ops.logins.inc({ outcome }, 0);
    new Gauge({
      name: 'rpm_alerts_open',
      help: 'Unresolved alerts by severity and status (open, claimed, acknowledged; snoozed ones keep their status)',
      labelNames: ['severity', 'status'] as const,
      registers: [r],
      async collect() {
        const counts = await src.alerts.openAlertCounts();
        for (const severity of SEVERITIES) for (const status of OPEN_STATUSES) this.set({ severity, status }, 0);
        for (const c of counts) this.set({ severity: c.severity, status: c.status }, c.count);
      },
    });
    new Gauge({
      name: 'rpm_staff_sessions',
      help: 'Staff login sessions live now (not signed out, not idle past RPM_SESSION_IDLE_MINUTES, before their absolute end)',
      registers: [r],
      async collect() {
        this.set((await src.liveSessions?.()) ?? 0);
      },
    });

    const readings = new Counter({
      name: 'rpm_readings_total',
      help: 'Readings by transport and outcome: accepted (newly stored), duplicate (already stored), rejected (refused with a reason)',
      labelNames: ['transport', 'outcome'] as const,
      registers: [r],
    });
    const groupRows = new Histogram({
      name: 'rpm_commit_group_rows',
      help: 'Rows (readings and rejection records) per commit transaction',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000],
      registers: [r],
    });
    const groupSubmissions = new Histogram({
      name: 'rpm_commit_group_submissions',
      help: 'HTTP requests and MQTT publishes sharing one commit transaction (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [r],
    });
    const commitSeconds = new Histogram({
      name: 'rpm_commit_duration_seconds',
      help: 'Time to write and fsync one commit transaction',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
    // Every series exists from the start (at 0), so rates and panels work before the first reading.
    for (const transport of ['http', 'mqtt']) for (const outcome of ['accepted', 'duplicate', 'rejected']) readings.inc({ transport, outcome }, 0);
    src.committer.onCommitted((batch, outcomes, group) => {
      groupRows.observe(group.rows);
      groupSubmissions.observe(group.submissions);
      commitSeconds.observe(group.durationMs / 1000);
      for (let i = 0; i < batch.length; i++) {
        const reading = batch[i];
        const outcome = outcomes[i];
        if (reading !== undefined && outcome !== undefined) readings.inc({ transport: reading.transport, outcome: outcome.status });
      }
      for (const rej of group.rejections) readings.inc({ transport: rej.transport, outcome: 'rejected' });
    });

    totalCounter(r, 'rpm_commit_failures_total', 'Commit transactions that failed (nothing of them was acknowledged)', () => src.committer.stats.failedCommits);
    new Gauge({
      name: 'rpm_commit_pending_rows',
      help: 'Rows waiting for their commit (queue depth); at rpm_commit_pending_rows_limit the gateway sheds load',
      registers: [r],
      collect() {
        this.set(src.committer.pending);
      },
    });
    new Gauge({ name: 'rpm_commit_pending_rows_limit', help: 'RPM_COMMIT_MAX_PENDING', registers: [r] }).set(src.maxPendingRows);
    new Gauge({
      name: 'rpm_store_writable',
      help: '1 while the reading store commits; 0 from a failed commit until a commit or a probe write succeeds (readiness follows it)',
      registers: [r],
      collect() {
        this.set(src.storeHealth.writable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'rpm_commit_waiting_submissions',
      help: 'MQTT publishes waiting for room under the pending bound (not counted in rpm_commit_pending_rows; their sockets are not read meanwhile)',
      registers: [r],
      collect() {
        this.set(src.committer.waiting);
      },
    });
    totalCounter(r, 'rpm_commit_shed_total', 'Submissions refused with RPM_ERR_OVERLOADED because the pending bound left no room for them', () => src.committer.stats.shed);
    new Gauge({
      name: 'rpm_event_loop_delay_p99_seconds',
      help: 'Event-loop delay p99 (time the loop was busy beyond a 10 ms timer): the worst 5-s window of the last minute',
      registers: [r],
      collect() {
        this.set(src.loop.delay().p99Seconds);
      },
    });
    new Gauge({
      name: 'rpm_event_loop_delay_max_seconds',
      help: 'Longest event-loop stall within the last minute',
      registers: [r],
      collect() {
        this.set(src.loop.delay().maxSeconds);
      },
    });

    const self = this;
    new Gauge({
      name: 'rpm_mqtt_clients',
      help: 'Connected MQTT clients (all transports)',
      registers: [r],
      collect() {
        this.set(self.mqtt?.aedes.connectedClients ?? 0);
      },
    });
    new Gauge({
      name: 'rpm_mqtt_publishes_in_flight',
      help: 'MQTT publishes waiting for their commit (no PUBACK yet)',
      registers: [r],
      collect() {
        this.set(self.mqtt?.inFlight() ?? 0);
      },
    });

    totalCounter(
      r,
      'rpm_mqtt_publishes_rate_limited_total',
      'MQTT publishes refused (not stored, no PUBACK, connection closed) because their device was over RPM_RATE_LIMIT_PER_DEVICE_PER_MIN',
      () => self.mqtt?.rateLimited() ?? 0,
    );

    const evaluationLag = new Histogram({
      name: 'rpm_rule_evaluation_lag_seconds',
      help: 'From receipt of a reading (just before its commit) until the rules engine has written its verdicts',
      buckets: LATENCY_BUCKETS,
      registers: [r],
    });
    const alertLatency = new Histogram({
      name: 'rpm_alert_latency_seconds',
      help: 'From receipt of the reading that raised or changed an alert until the alert was written (reading commit → alert)',
      labelNames: ['change'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [r],
    });
    const alertsRaised = new Counter({ name: 'rpm_alerts_raised_total', help: 'Alerts raised by the rules engine, by severity', labelNames: ['severity'] as const, registers: [r] });
    for (const severity of ['low', 'medium', 'high', 'critical']) alertsRaised.inc({ severity }, 0);
    for (const change of ['created', 'updated']) alertLatency.zero({ change });
    src.alerting?.onPass((pass) => {
      for (const severity of pass.raised) alertsRaised.inc({ severity });
      for (const ms of pass.evaluationLagsMs) evaluationLag.observe(ms / 1000);
      for (const a of pass.alertLatenciesMs) alertLatency.observe({ change: a.change }, a.ms / 1000);
    });
    if (src.rulesThread !== undefined) {
      const thread = src.rulesThread;
      totalCounter(r, 'rpm_rules_thread_restarts_total', 'Times the rules thread of the single process ended unexpectedly and was started again (its work resumed from the durable cursor)', () => thread.restarts);
      new Gauge({
        name: 'rpm_rules_thread_up',
        help: 'Whether the rules thread of the single process runs now (1) or is being started again (0)',
        registers: [r],
        collect() {
          this.set(thread.running ? 1 : 0);
        },
      });
    }
    new Gauge({
      name: 'rpm_rules_history_observations',
      help: 'Readings the rules engine holds in memory for its windows (bounded by RPM_RULES_HISTORY_TOTAL)',
      registers: [r],
      collect() {
        this.set(src.alerting?.historyObservations ?? 0);
      },
    });
    new Gauge({
      name: 'rpm_rule_backlog_readings',
      help: 'Committed readings the rules engine has not evaluated yet (readings after its durable cursor)',
      registers: [r],
      async collect() {
        this.set(await src.readings.countReadingsSince(await src.alerts.evaluationCursor()));
      },
    });

    new Gauge({
      name: 'rpm_sse_subscribers',
      help: 'Open worklist streams (Server-Sent Events)',
      registers: [r],
      collect() {
        this.set(src.hub.subscribers);
      },
    });
    new Gauge({
      name: 'rpm_notification_outbox_pending',
      help: `Escalation SMS waiting in the outbox (counted up to ${OUTBOX_COUNT_CAP})`,
      registers: [r],
      async collect() {
        this.set((await src.alerts.pendingNotifications(OUTBOX_COUNT_CAP)).length);
      },
    });
    // prom-client collects all metrics of a scrape at once: the two gauges share one count per queue.
    let counting: Promise<Map<string, BacklogCounts>> | undefined;
    const countBacklogs = (): Promise<Map<string, BacklogCounts>> => {
      counting ??= (async () => {
        const out = new Map<string, BacklogCounts>();
        for (const [queue, count] of self.backlogs) out.set(queue, await count(OUTBOX_COUNT_CAP));
        return out;
      })().finally(() => {
        counting = undefined;
      });
      return counting;
    };
    new Gauge({
      name: 'rpm_delivery_backlog',
      help: `Items waiting for delivery (pending, or failed and to be retried), per queue (fhir); counted up to ${OUTBOX_COUNT_CAP}`,
      labelNames: ['queue'] as const,
      registers: [r],
      async collect() {
        for (const [queue, counts] of await countBacklogs()) this.set({ queue }, counts.waiting);
      },
    });
    new Gauge({
      name: 'rpm_delivery_dead_letters',
      help: `Items given up on (dead letters, waiting for an operator's retry), per queue (fhir); counted up to ${OUTBOX_COUNT_CAP}`,
      labelNames: ['queue'] as const,
      registers: [r],
      async collect() {
        for (const [queue, counts] of await countBacklogs()) this.set({ queue }, counts.dead);
      },
    });

    // Per FHIR destination; one read of the destinations per scrape, shared by the gauges.
    let reading: Promise<readonly DestinationGauge[]> | undefined;
    const readDestinations = (): Promise<readonly DestinationGauge[]> => {
      reading ??= Promise.resolve(self.destinations?.(OUTBOX_COUNT_CAP) ?? []).finally(() => {
        reading = undefined;
      });
      return reading;
    };
    const perDestination = (name: string, help: string, value: (d: DestinationGauge, nowMs: number) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['destination'] as const,
        registers: [r],
        async collect() {
          const all = await readDestinations();
          // Destinations come and go (ids change): start from an empty set each scrape.
          this.reset();
          const now = src.clock.now();
          for (const d of all) {
            const v = value(d, now);
            if (v !== undefined) this.set({ destination: d.id }, v);
          }
        },
      });
    };
    perDestination('rpm_fhir_destination_backlog', `Deliveries waiting for the destination (pending, or failed and to be retried); counted up to ${OUTBOX_COUNT_CAP}`, (d) => d.waiting);
    perDestination(
      'rpm_fhir_destination_oldest_waiting_seconds',
      'Age of the oldest delivery waiting for the destination (0 when none waits)',
      (d, now) => (d.oldestWaitingSinceMs === undefined ? 0 : Math.max(0, now - d.oldestWaitingSinceMs) / 1000),
    );
    perDestination('rpm_fhir_destination_dead_letters', `Dead letters of the destination (refused by the EHR, or waiting until it knows their subject); counted up to ${OUTBOX_COUNT_CAP}`, (d) => d.dead);
    perDestination('rpm_fhir_destination_circuit_state', "The destination's circuit breaker: 0 closed, 1 half-open (probing), 2 open; absent while paused", (d) =>
      d.circuit === undefined ? undefined : CIRCUIT_VALUE[d.circuit],
    );
    perDestination('rpm_fhir_destination_paused', '1 while the destination is paused (deliveries are queued, not sent)', (d) => (d.paused ? 1 : 0));

    // Vendor integrations: per vendor (a fixed list), never per organization, device or user.
    this.vendor = {
      requests: new Counter({
        name: 'rpm_vendor_requests_total',
        help: 'Vendor webhook and notification requests by outcome: ok (answered 2xx), unauthorized (credentials or signature), expired (outside the replay window), invalid (not the vendor format), failed (5xx: not acknowledged)',
        labelNames: ['vendor', 'outcome'] as const,
        registers: [r],
      }),
      requestSeconds: new Histogram({
        name: 'rpm_vendor_request_duration_seconds',
        help: 'Time to answer a vendor request (Withings wants a 2xx within 2 s)',
        labelNames: ['vendor'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
        registers: [r],
      }),
      readings: new Counter({
        name: 'rpm_vendor_readings_total',
        help: 'Vendor records by outcome: accepted (newly stored), duplicate (already stored, e.g. a webhook then a backfill), rejected (refused with a reason, unbound devices included)',
        labelNames: ['vendor', 'outcome'] as const,
        registers: [r],
      }),
      ignored: new Counter({
        name: 'rpm_vendor_ignored_total',
        help: 'Vendor measures deliberately not stored, by reason (unknown-type, unsupported-type, non-vital, control-solution, sensor-condition, objective, …)',
        labelNames: ['vendor', 'reason'] as const,
        registers: [r],
      }),
      deviceStatus: new Counter({
        name: 'rpm_vendor_device_status_total',
        help: 'Device status reports (battery) from vendors, applied to bound devices',
        labelNames: ['vendor'] as const,
        registers: [r],
      }),
      pulls: new Counter({
        name: 'rpm_vendor_pulls_total',
        help: 'Attempts of pulls of vendor measures (Withings getmeas) by outcome: done, failed (retried later), dead (given up; an operator must act)',
        labelNames: ['vendor', 'outcome'] as const,
        registers: [r],
      }),
      tokenRefreshes: new Counter({
        name: 'rpm_vendor_token_refreshes_total',
        help: 'OAuth 2 token refreshes (Withings) by outcome: ok, refused (the user must authorize again), failed (retried)',
        labelNames: ['vendor', 'outcome'] as const,
        registers: [r],
      }),
    };
    for (const vendor of VENDORS) {
      for (const outcome of ['ok', 'unauthorized', 'expired', 'invalid', 'failed']) this.vendor.requests.inc({ vendor, outcome }, 0);
      for (const outcome of ['accepted', 'duplicate', 'rejected']) this.vendor.readings.inc({ vendor, outcome }, 0);
      this.vendor.requestSeconds.zero({ vendor });
      this.vendor.deviceStatus.inc({ vendor }, 0);
      for (const reason of IGNORED_REASONS[vendor]) this.vendor.ignored.inc({ vendor, reason }, 0);
    }
    for (const outcome of ['done', 'failed', 'dead']) this.vendor.pulls.inc({ vendor: 'withings', outcome }, 0);
    for (const outcome of ['ok', 'refused', 'failed']) this.vendor.tokenRefreshes.inc({ vendor: 'withings', outcome }, 0);
    let countingPulls: Promise<{ readonly waiting: number; readonly dead: number }> | undefined;
    const countPulls = (): Promise<{ readonly waiting: number; readonly dead: number }> => {
      countingPulls ??= Promise.resolve(self.vendorPulls?.(OUTBOX_COUNT_CAP) ?? { waiting: 0, dead: 0 }).finally(() => {
        countingPulls = undefined;
      });
      return countingPulls;
    };
    new Gauge({
      name: 'rpm_vendor_pull_backlog',
      help: `Pulls of vendor measures by state: waiting (pending, or failed and to be retried) and dead; counted up to ${OUTBOX_COUNT_CAP}`,
      labelNames: ['state'] as const,
      registers: [r],
      async collect() {
        const c = await countPulls();
        this.set({ state: 'waiting' }, c.waiting);
        this.set({ state: 'dead' }, c.dead);
      },
    });
  }

  /** One HTTP answer (gateway/http/request-observer.ts). */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.ops.httpRequests.inc({ method, route, status: String(status) });
    this.ops.httpSeconds.observe({ method, route, status_class: `${Math.floor(status / 100)}xx` }, seconds);
  }

  escalated(level: number, severity: string): void {
    this.ops.escalations.inc({ level: levelLabel(level), severity });
  }

  notification(channel: string, outcome: 'sent' | 'failed' | 'retry', reason: string): void {
    this.ops.notifications.inc({ channel, outcome, reason: reason.slice(0, 40) });
  }

  undeliverable(reason: UndeliverableReason): void {
    this.ops.undeliverable.inc({ reason });
  }

  mqttSession(event: 'connected' | 'disconnected' | 'taken-over'): void {
    this.ops.mqttSessions.inc({ event });
  }

  login(outcome: 'success' | 'failure' | 'delayed'): void {
    this.ops.logins.inc({ outcome });
  }

  vendorRequest(vendor: VendorName, outcome: VendorRequestOutcome, seconds: number): void {
    this.vendor.requests.inc({ vendor, outcome });
    this.vendor.requestSeconds.observe({ vendor }, seconds);
  }

  vendorReadings(vendor: VendorName, result: { readonly accepted: number; readonly duplicate: number; readonly rejected: number }): void {
    if (result.accepted > 0) this.vendor.readings.inc({ vendor, outcome: 'accepted' }, result.accepted);
    if (result.duplicate > 0) this.vendor.readings.inc({ vendor, outcome: 'duplicate' }, result.duplicate);
    if (result.rejected > 0) this.vendor.readings.inc({ vendor, outcome: 'rejected' }, result.rejected);
  }

  vendorIgnored(vendor: VendorName, reason: string, count: number): void {
    // Reasons come from the adapters' fixed vocabulary; bounded anyway, whatever a payload says.
    this.vendor.ignored.inc({ vendor, reason: reason.slice(0, 40) }, count);
  }

  vendorDeviceStatus(vendor: VendorName): void {
    this.vendor.deviceStatus.inc({ vendor });
  }

  vendorPull(vendor: 'withings', outcome: 'done' | 'failed' | 'dead'): void {
    this.vendor.pulls.inc({ vendor, outcome });
  }

  vendorTokenRefresh(vendor: 'withings', outcome: 'ok' | 'refused' | 'failed'): void {
    this.vendor.tokenRefreshes.inc({ vendor, outcome });
  }

  /** Reports the vendor pull queue as rpm_vendor_pull_backlog{state}. */
  watchVendorPulls(source: (cap: number) => Promise<{ readonly waiting: number; readonly dead: number }>): void {
    this.vendorPulls = source;
  }

  /** Reports each FHIR destination, labelled by its configured id (configuration, not a person or device). */
  watchDestinations(source: DestinationSource): void {
    this.destinations = source;
  }

  /** The broker is created after the HTTP app; it reports from then on. */
  watchMqtt(source: MqttGaugeSource): void {
    this.mqtt = source;
  }

  /** Reports a delivery queue as rpm_delivery_backlog{queue} and rpm_delivery_dead_letters{queue}. */
  watchBacklog(queue: string, source: BacklogSource): void {
    this.backlogs.set(queue, source);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
