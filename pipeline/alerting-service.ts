import { type Context, context, ROOT_CONTEXT, type Span, type SpanContext, trace } from '@opentelemetry/api';
import { alertTraces, contextOf, failSpan, linksTo, readingTraces, tracer } from '../core/tracing.js';
import { RpmError } from '../core/errors/rpm-error.js';
import type { Logger } from '../core/logging.js';
import type { Alert, AlertEvent } from '../core/model/alert.js';
import type { Reading } from '../core/model/reading.js';
import type { AlertStore } from '../core/ports/alert-store.js';
import { inPartition, type RulePartition } from '../core/cluster/partitions.js';
import type { Clock } from '../core/ports/clock.js';
import type { ProgressStore } from '../core/ports/progress-store.js';
import type { CommitOutcome, ReadingStore, SequencedReading } from '../core/ports/reading-store.js';
import type { RegistryStore } from '../core/ports/registry-store.js';
import { needsLastResolved, syncAlert } from '../rules/alert-sync.js';
import { advanceClock, type ConditionChange, type ConditionState, conditionFromJson, EMPTY_CONDITION, evaluateCondition } from '../rules/conditions.js';
import type { RuleDefinition } from '../rules/model.js';
import { missingVerdict, type Observation, ruleWatches, type Verdict, verdictAt } from '../rules/verdicts.js';
import type { CarePlans } from './care-plans.js';
import { heldFromRules } from './held-readings.js';
import { PassSize } from './pass-size.js';
import { type HistoryBudget, PatientHistory, toObservation } from './patient-history.js';

/** A device's unassigned readings in [fromMs, toMs) now belong to a patient. */
export interface Attribution {
  readonly deviceId: string;
  readonly patientId: string;
  readonly fromMs: number;
  readonly toMs: number | null;
}

export type AlertChangeListener = (alert: Alert, change: 'created' | 'updated') => void;
/** A pass was written: the readings it evaluated and the alerts it created or updated (metrics). */
export type EvaluatedListener = (readings: readonly Reading[], alerts: { readonly created: readonly Alert[]; readonly updated: readonly Alert[] }) => void;

export interface AlertingDeps {
  readonly readings: ReadingStore;
  readonly alerts: AlertStore;
  readonly registry: RegistryStore;
  readonly carePlans: CarePlans;
  readonly clock: Clock;
  readonly log: Logger;
  readonly newId: () => string;
  /** Readings evaluated per transaction of the engine. */
  readonly batchSize?: number;
  /** How much reading history the engine keeps in memory (default: DEFAULT_HISTORY_BUDGET). */
  readonly historyBudget?: HistoryBudget;
  /** Where the engine stands in the attribution log (moved with its evaluation writes). */
  readonly progress: ProgressStore;
  /**
   * The distributed mode's share of the work: only these patients' readings, with the partition's
   * own cursor. Unset: every patient (the single process).
   */
  readonly partition?: RulePartition;
}

/** The progress name of the engine's place in the attribution log. */
export function attributionProgressName(partition: RulePartition | undefined): string {
  return partition === undefined ? 'rules-attributions' : `rules-attributions:${partition.count}:${partition.index}`;
}

/** Attributions handled per pass of the engine. */
const ATTRIBUTIONS_PER_PASS = 100;

interface Pending {
  readonly conditions: { patientId: string; ruleId: string; state: ConditionState }[];
  readonly created: Alert[];
  readonly updated: Alert[];
  /** The stored version each updated alert was read at: the write applies only if it is still there. */
  readonly expected: Map<string, number>;
  readonly events: AlertEvent[];
}

const newPending = (): Pending => ({ conditions: [], created: [], updated: [], expected: new Map(), events: [] });

/** How often a pass is judged again at once because an alert changed under it (a nurse's action) before the error is left to the retry timer. */
const MAX_JUDGED_AGAIN = 5;

const alertChangedMeanwhile = (err: unknown): boolean => err instanceof RpmError && err.code === 'RPM_ERR_ALERT_CHANGED';

function sameCondition(a: ConditionState, b: ConditionState): boolean {
  return (
    a.open === b.open &&
    a.severity === b.severity &&
    a.openedAtMs === b.openedAtMs &&
    a.confirmation === b.confirmation &&
    a.pendingSinceMs === b.pendingSinceMs &&
    a.flapping === b.flapping &&
    a.late === b.late &&
    a.episode?.first.atMs === b.episode?.first.atMs &&
    a.episode?.worst.readingId === b.episode?.worst.readingId &&
    a.episode?.worst.atMs === b.episode?.worst.atMs &&
    a.transitions.length === b.transitions.length &&
    a.transitions.every((t, i) => t === b.transitions[i])
  );
}

/**
 * The streaming rules engine. It follows the committed reading log with a durable cursor:
 * after each commit (and at start-up, to catch up after a crash) it evaluates the new readings
 * per patient against the patient's care plan, updates condition states and alerts, and writes
 * all of it together with the cursor in one transaction. Evaluation is on measurement time;
 * late and backfilled readings are merged into the history and each condition changes at most
 * once per pass. Runs beside ingest, never in front of an acknowledgement.
 */
/** Wait before re-running a pass that failed, when no new commit kicks the engine sooner. */
const RETRY_MS = 1000;
/** Patients whose condition states are kept in memory. */
const MAX_CACHED_PATIENTS = 50_000;
/** Committed readings kept for the next pass; past this the pass reads the log from the store. */
const MAX_BUFFERED = 50_000;
/** History rows a pass may expect to load from the store (beyond its first uncached patient; see fewColdPatients). */
const LOAD_ROWS_PER_PASS = 4000;
/** How long stop() keeps evaluating a backlog before leaving it to the next start. */
const STOP_DRAIN_MS = 5000;
/** Patients whose missing-data rules are checked per turn of the event loop. */
const SWEEP_CHUNK = 250;

/** Let I/O (ingest, HTTP, MQTT) run before the next synchronous stretch. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The one log line of a raised alert: ids only (alert, rule, organization), never the patient or the values. */
export function logRaisedAlerts(engine: AlertingService, log: Logger): void {
  engine.onAlertChange((alert, change) => {
    if (change === 'created') {
      log.info({ alertId: alert.id, ruleId: alert.ruleId, severity: alert.severity, status: alert.status, organizationId: alert.organizationId, late: alert.late }, 'alert raised');
    }
  });
}

export class AlertingService {
  private readonly history: PatientHistory;
  private readonly passSize: PassSize;
  private readonly listeners: AlertChangeListener[] = [];
  private readonly evaluatedListeners: EvaluatedListener[] = [];
  private readonly organizations = new Map<string, string | null>();
  /**
   * Condition states per patient, as last committed. Only this engine writes them, so the copy is
   * updated after each committed pass and read instead of the store (a query and a JSON parse per
   * patient per pass). Bounded: an evicted patient is read from the store again.
   */
  private readonly conditions = new Map<string, Map<string, unknown>>();
  /**
   * Readings just committed, with their log positions, in log order: a pass takes them from here
   * instead of reading back what was just written. Only a run that continues the cursor without a
   * gap is used; anything else (start-up catch-up, a dropped buffer) is read from the store.
   */
  private buffered: SequencedReading[] = [];
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private failure: { readonly error: unknown } | null = null;
  private retry: NodeJS.Timeout | null = null;
  /** Set by stop(): no pass starts after this instant (performance.now()). */
  private stopBy: number | null = null;

  constructor(private readonly deps: AlertingDeps) {
    this.history = new PatientHistory(deps.readings, deps.historyBudget);
    this.passSize = new PassSize(deps.batchSize ?? 2000);
  }

  /** Observations of reading history held in memory (metrics). */
  get historyObservations(): number {
    return this.history.size;
  }

  /** The patient moved to another organization: alerts raised from now name the new one. */
  forgetOrganization(patientId: string): void {
    this.organizations.delete(patientId);
  }

  onAlertChange(listener: AlertChangeListener): void {
    this.listeners.push(listener);
  }

  onEvaluated(listener: EvaluatedListener): void {
    this.evaluatedListeners.push(listener);
  }

  /** A group was committed (the GroupCommitter's listener): keep what it inserted, then evaluate. */
  committed(readings: readonly Reading[], outcomes: readonly CommitOutcome[]): void {
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i];
      const reading = readings[i];
      if (o?.status !== 'accepted' || reading === undefined) continue;
      if (o.seq === undefined) {
        // A store that does not say where its rows went: the store's log is the only truth.
        this.buffered = [];
        break;
      }
      this.buffered.push({ seq: o.seq, reading });
    }
    if (this.buffered.length > MAX_BUFFERED) this.buffered = [];
    this.kick();
  }

  /** New readings were committed: evaluate them soon (calls coalesce). */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    if (this.retry !== null) {
      clearTimeout(this.retry);
      this.retry = null;
    }
    this.running = this.loop()
      .then(
        () => {
          this.failure = null;
        },
        (error: unknown) => {
          // kick() is fire-and-forget (after each commit): a failed pass (database busy or
          // full) must not become an unhandled rejection that ends the process, ingest with
          // it. Nothing of the pass was written (one transaction with the cursor), so its
          // readings are evaluated again by the next kick or by this retry.
          this.failure = { error };
          this.deps.log.error({ err: error }, 'rule evaluation pass failed; it will be retried');
          if (!this.stopped) {
            this.retry = setTimeout(() => {
              this.retry = null;
              this.kick();
            }, RETRY_MS);
            this.retry.unref();
          }
        },
      )
      .finally(() => this.settled());
  }

  /** A pass (or an exclusive evaluation) ended: run once more if commits arrived meanwhile. */
  private settled(): void {
    this.running = null;
    if (this.again && !this.stopped) {
      this.again = false;
      this.kick();
    }
  }

  /** Resolves once every reading committed so far has been evaluated; rejects if the last pass failed. */
  async drain(): Promise<void> {
    this.kick();
    while (this.running !== null) await this.running;
    if (this.failure !== null) throw this.failure.error;
  }

  /**
   * Evaluate what is committed, for at most `drainForMs`, then stop. A larger backlog (the engine
   * was behind under load) is left behind the durable cursor and evaluated at the next start, so
   * a shutdown never waits for it past its deadline.
   */
  async stop(options: { drainForMs?: number } = {}): Promise<void> {
    this.stopBy = performance.now() + (options.drainForMs ?? STOP_DRAIN_MS);
    // A failure was logged; what it left unevaluated is caught up from the cursor at the next start.
    await this.drain().catch(() => undefined);
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
  }

  /**
   * Readings of a device committed unassigned were attributed to a patient (the store wrote it to
   * its attribution log with the change). The engine passed them by (no patient then) and judges
   * them from the attribution log, as late data: windows they touch are re-judged, an alert carries
   * the reading's time, and nothing stale is replayed as new. Resolves once that is written.
   */
  async evaluateAttributed(_a: Attribution): Promise<void> {
    await this.drain();
  }

  /**
   * Judges the readings of attributions recorded since the engine's place in the attribution log
   * (this partition's patients only), then moves that place, in one fenced write. Readings an
   * attribution changed carry the `attributed` flag and are judged only here, never by the log
   * pass, whichever of the two reads them first: each is judged exactly once, across crashes.
   */
  private async attributionPass(): Promise<void> {
    const name = attributionProgressName(this.deps.partition);
    const from = await this.deps.progress.position(name);
    const records = await this.deps.readings.attributionsSince(from, ATTRIBUTIONS_PER_PASS);
    const last = records[records.length - 1];
    if (last === undefined) return;
    const cursor = await this.deps.alerts.evaluationCursor(this.deps.partition);
    const byPatient = new Map<string, Reading[]>();
    for (const a of records) {
      if (this.deps.partition !== undefined && !inPartition(a.patientId, this.deps.partition)) continue;
      const rows = await this.deps.readings.queryReadings({ patientId: a.patientId, fromMs: a.fromMs, ...(a.toMs === null ? {} : { toMs: a.toMs }), limit: 1_000_000 });
      const only = a.readingIds === null ? null : new Set(a.readingIds);
      const fresh = rows.filter((r) => r.deviceId === a.deviceId && r.flags.includes('attributed') && !heldFromRules(r) && (only === null || only.has(r.id)));
      if (fresh.length === 0) continue;
      const list = byPatient.get(a.patientId) ?? [];
      // One patient evaluated once per pass, with all of its attributed readings.
      for (const r of fresh) if (!list.some((x) => x.id === r.id)) list.push(r);
      byPatient.set(a.patientId, list.sort((x, y) => x.measuredAtMs - y.measuredAtMs));
    }
    const pending = newPending();
    const evaluated: Reading[] = [];
    for (const [patientId, fresh] of byPatient) {
      try {
        await this.evaluatePatient(patientId, fresh, cursor, pending);
        evaluated.push(...fresh);
      } catch (err) {
        this.deps.log.error({ err, patientRef: patientId.length }, 'rule evaluation of attributed readings failed for a patient');
      }
    }
    await this.write(cursor, pending, { fence: cursor, progress: { name, seq: last.seq } });
    if (evaluated.length > 0) this.evaluated(evaluated, { created: pending.created, updated: pending.updated });
  }

  /**
   * A nurse confirmed that readings whose user the device could not tell are the patient's
   * (`ReadingStore.decideUser`, which wrote them to the attribution log with the change). The
   * engine passed them by (held from the rules) and judges them from the attribution log, as late
   * data, like readings attributed late. Resolves once that is written.
   */
  async evaluateConfirmed(_patientId: string, _confirmed: readonly Reading[]): Promise<void> {
    await this.drain();
  }

  /** The buffered readings that continue the log right after `cursor`, or null to read the store. */
  private takeBuffered(cursor: number, limit: number): SequencedReading[] | null {
    let start = 0;
    while (start < this.buffered.length && (this.buffered[start] as SequencedReading).seq <= cursor) start++;
    if (start > 0) this.buffered = this.buffered.slice(start);
    if (this.buffered[0]?.seq !== cursor + 1) return null;
    let end = 1;
    while (end < this.buffered.length && end < limit && (this.buffered[end] as SequencedReading).seq === cursor + 1 + end) end++;
    // Not removed yet: a pass that fails leaves the cursor where it was and takes them again.
    return this.buffered.slice(0, end);
  }

  /**
   * The longest prefix of the batch (in log order) whose patients' histories, where not cached,
   * are expected to load at most LOAD_ROWS_PER_PASS rows from the store (at least one patient's),
   * so after a restart, or while evicted patients come back, the loads are spread over several
   * short passes instead of one long one.
   */
  private fewColdPatients(batch: SequencedReading[]): SequencedReading[] {
    const cold = new Set<string>();
    let rows = 0;
    for (let i = 0; i < batch.length; i++) {
      const patientId = (batch[i] as SequencedReading).reading.patientId;
      if (patientId === null || cold.has(patientId)) continue;
      const cost = this.history.loadCost(patientId);
      if (cost === 0) continue;
      if (cold.size > 0 && rows + cost > LOAD_ROWS_PER_PASS) return batch.slice(0, i);
      cold.add(patientId);
      rows += cost;
    }
    return batch;
  }

  /** Run `fn` while no log pass runs; commits that arrive meanwhile are evaluated right after. */
  private async exclusive(fn: () => Promise<void>): Promise<void> {
    while (this.running !== null) await this.running.catch(() => undefined);
    const run = fn();
    this.running = run.catch(() => undefined).finally(() => this.settled());
    await run;
  }

  /** Missing-data rules run on the clock: no reading of a kind for too long opens a condition. */
  async sweepMissing(patientIds: readonly string[]): Promise<void> {
    // In chunks, each written on its own, with a turn of the event loop between them: one
    // synchronous pass over every patient of a large clinic would hold ingest up for as long.
    for (let i = 0; i < patientIds.length; i += SWEEP_CHUNK) {
      if (i > 0) await nextTurn();
      const chunk = patientIds.slice(i, i + SWEEP_CHUNK);
      await this.judgedAgainIfChanged(() => this.sweepMissingChunk(chunk));
    }
  }

  private async sweepMissingChunk(patientIds: readonly string[]): Promise<void> {
    const now = this.deps.clock.now();
    const pending = newPending();
    for (const patientId of patientIds) {
      const plan = await this.deps.carePlans.get(patientId);
      const missing = plan.rules.filter((r) => r.type === 'missing');
      if (missing.length === 0) continue;
      const states = await this.conditionsOf(patientId);
      for (const rule of missing) {
        if (rule.type !== 'missing') continue;
        const measured = await this.deps.readings.lastMeasuredAt(patientId, rule.kind);
        const last = measured ?? plan.savedAtMs ?? now;
        const deadline = last + rule.hours * 3_600_000;
        const start = conditionFromJson(states.get(rule.id));
        if (now < deadline) {
          // Open, yet nothing is missing: a reading measured before the deadline arrived after
          // the condition opened (a scale that synced late), too old to clear it on arrival.
          if (start.open) await this.apply(patientId, rule, start, [missingVerdict(rule.kind, rule.hours, null, now, measured ?? null)], pending);
          continue;
        }
        await this.apply(patientId, rule, start, [missingVerdict(rule.kind, rule.hours, rule.severity, deadline, measured ?? null)], pending);
      }
    }
    const cursor = await this.deps.alerts.evaluationCursor(this.deps.partition);
    await this.write(cursor, pending, { fence: cursor });
    if (pending.created.length + pending.updated.length > 0) this.evaluated([], { created: pending.created, updated: pending.updated });
  }

  /**
   * The clock moved on: a wait for a repeat reading whose window has passed expires (the alert
   * then says "no repeat: call the patient"). Runs on the engine's own turn, as readings do.
   */
  async sweepClock(): Promise<void> {
    await this.exclusive(() => this.judgedAgainIfChanged(() => this.sweepClockOnce()));
  }

  private async sweepClockOnce(): Promise<void> {
    const partition = this.deps.partition;
    const waiting = (await this.deps.alerts.pendingConfirmations()).filter((a) => partition === undefined || inPartition(a.patientId, partition));
    if (waiting.length === 0) return;
    const pending = newPending();
    const now = this.deps.clock.now();
    for (const alert of waiting) {
      const rule = (await this.deps.carePlans.get(alert.patientId)).rules.find((r) => r.id === alert.ruleId);
      if (rule === undefined) continue;
      const start = conditionFromJson((await this.conditionsOf(alert.patientId)).get(rule.id));
      const { state, change } = advanceClock(rule, start, now);
      await this.record(alert.patientId, rule, start, state, change, pending);
    }
    const cursor = await this.deps.alerts.evaluationCursor(this.deps.partition);
    await this.write(cursor, pending, { fence: cursor });
    this.evaluated([], { created: pending.created, updated: pending.updated });
  }

  private async loop(): Promise<void> {
    for (let pass = 0; ; pass++) {
      // Each pass runs without a break (nothing may interleave with its reads and its write); between
      // passes ingest gets its turn, and the pass size keeps each one short (pass-size.ts).
      if (pass > 0) await nextTurn();
      if (this.stopBy !== null && performance.now() > this.stopBy) return;
      if (!(await this.judgedAgainIfChanged(() => this.pass()))) return;
    }
  }

  /** One pass: the attribution log's news, then the next readings of the log. False when the log had none. */
  private async pass(): Promise<boolean> {
    const started = performance.now();
    await this.attributionPass();
    const batchSize = this.passSize.current;
    const cursor = await this.deps.alerts.evaluationCursor(this.deps.partition);
    const { batch, through } = await this.nextBatch(cursor, batchSize);
    if (through === cursor) return false;
    const byPatient = new Map<string, Reading[]>();
    for (const { reading } of batch) {
      // Unassigned readings belong to no patient yet; attributed ones are judged from the attribution
      // log; held ones (user unconfirmed or rejected) are not judged.
      if (reading.patientId === null || reading.flags.includes('attributed') || heldFromRules(reading)) continue;
      let list = byPatient.get(reading.patientId);
      if (list === undefined) byPatient.set(reading.patientId, (list = []));
      list.push(reading);
    }
    const pending = newPending();
    const traced = new PassTrace(batch.length, byPatient);
    try {
      await context.with(traced.context, async () => {
        for (const [patientId, fresh] of byPatient) {
          try {
            await this.evaluatePatient(patientId, fresh, through, pending);
          } catch (err) {
            // One patient's broken care plan must not stop everyone else's alerts.
            this.deps.log.error({ err, patientRef: patientId.length }, 'rule evaluation failed for a patient');
          }
        }
        await this.write(through, pending, { fence: cursor, alertContext: (a) => traced.alert(a) });
      });
    } catch (err) {
      traced.failed(err);
      throw err;
    } finally {
      traced.end(pending);
    }
    this.passSize.record(batch.length, performance.now() - started);
    this.evaluated(batch.map((b) => b.reading), { created: pending.created, updated: pending.updated });
    return true;
  }

  /**
   * The next readings after `cursor` and the log position the pass may move the cursor to: the
   * single engine takes what was just committed (or reads the log); a partition reads its share
   * of a window of the log, so its cursor moves even when none of the window is its own.
   */
  private async nextBatch(cursor: number, batchSize: number): Promise<{ batch: SequencedReading[]; through: number }> {
    if (this.deps.partition === undefined) {
      const batch = this.fewColdPatients(this.takeBuffered(cursor, batchSize) ?? (await this.deps.readings.readingsSince(cursor, batchSize)));
      return { batch, through: batch[batch.length - 1]?.seq ?? cursor };
    }
    const slice = await this.deps.readings.partitionSince(cursor, batchSize, this.deps.partition);
    const batch = this.fewColdPatients(slice.readings);
    // A pass cut short (cold patients) ends just before the first reading it left for the next one.
    const cutAt = slice.readings[batch.length];
    return { batch, through: cutAt === undefined ? slice.throughSeq : cutAt.seq - 1 };
  }

  private async evaluatePatient(patientId: string, fresh: readonly Reading[], maxSeq: number, pending: Pending): Promise<void> {
    const plan = await this.deps.carePlans.get(patientId);
    let minT = Number.POSITIVE_INFINITY;
    let maxT = Number.NEGATIVE_INFINITY;
    for (const r of fresh) {
      minT = Math.min(minT, r.measuredAtMs);
      maxT = Math.max(maxT, r.measuredAtMs);
    }
    const history = await this.history.get(patientId, minT, plan.lookbackByKind, fresh, maxSeq);
    const freshIds = new Set(fresh.map((r) => r.id));
    const states = await this.conditionsOf(patientId);
    const observations = fresh.map(toObservation);
    for (const rule of plan.rules) {
      const watched = observations.filter((o) => ruleWatches(rule, o.kind));
      if (watched.length === 0) continue;
      const verdicts: Verdict[] = [];
      for (const o of watched) {
        const v = verdictAt(rule, o, history);
        if (v !== null) verdicts.push(v);
      }
      if (verdicts.length === 0) continue;
      const persisted = conditionFromJson(states.get(rule.id));
      // The last evaluated time is not written on every reading; after a restart it is the
      // newest earlier reading the rule watches.
      const start = { ...persisted, lastEvaluatedAtMs: lastWatched(rule, history, freshIds, persisted.lastEvaluatedAtMs) };
      await this.apply(patientId, rule, start, verdicts, pending);
    }
    // Keep each kind's look-back (and a margin for late readings) behind the newest reading evaluated,
    // not behind the wall clock: a catch-up or backfill of older readings would otherwise reload
    // the patient's whole window from the store on every batch.
    this.history.trim(patientId, plan.lookbackByKind, Math.min(this.deps.clock.now(), maxT));
  }

  private async apply(patientId: string, rule: RuleDefinition, start: ConditionState, verdicts: readonly Verdict[], pending: Pending): Promise<void> {
    const { state, change } = evaluateCondition(rule, start, verdicts, this.deps.clock.now());
    await this.record(patientId, rule, start, state, change, pending);
  }

  /** Write a condition's new state and turn its change into alert writes. */
  private async record(patientId: string, rule: RuleDefinition, start: ConditionState, state: ConditionState, change: ConditionChange | null, pending: Pending): Promise<void> {
    if (!sameCondition(start, state)) pending.conditions.push({ patientId, ruleId: rule.id, state });
    if (change === null) return;
    const existing =
      pending.created.find((a) => a.patientId === patientId && a.ruleId === rule.id && a.status !== 'resolved') ??
      pending.updated.find((a) => a.patientId === patientId && a.ruleId === rule.id && a.status !== 'resolved') ??
      (await this.storedUnresolved(patientId, rule.id, pending));
    // Only when a nurse may have resolved a still-breaching episode (re-notify).
    const lastResolved = needsLastResolved(change, existing) ? await this.deps.alerts.lastResolvedAlert(patientId, rule.id) : undefined;
    const sync = syncAlert(rule, change, existing, {
      patientId,
      organizationId: await this.organizationOf(patientId),
      nowMs: this.deps.clock.now(),
      newId: this.deps.newId(),
      ...(lastResolved === undefined ? {} : { lastResolved }),
    });
    if (sync.create !== undefined) pending.created.push(sync.create);
    if (sync.update !== undefined) {
      const i = pending.created.findIndex((a) => a.id === sync.update?.id);
      const j = pending.updated.findIndex((a) => a.id === sync.update?.id);
      if (i >= 0) pending.created[i] = sync.update;
      else if (j >= 0) pending.updated[j] = sync.update;
      else pending.updated.push(sync.update);
    }
    pending.events.push(...sync.events);
  }

  /** The patient's unresolved alert of the rule as stored, its version kept for the write's check. */
  private async storedUnresolved(patientId: string, ruleId: string, pending: Pending): Promise<Alert | undefined> {
    const alert = await this.deps.alerts.unresolvedAlert(patientId, ruleId);
    if (alert !== undefined && !pending.expected.has(alert.id)) pending.expected.set(alert.id, alert.version);
    return alert;
  }

  /**
   * Runs a pass (or a sweep) again, at once, when its write found an alert changed since the pass
   * read it (a nurse claimed, acknowledged or resolved it meanwhile: RPM_ERR_ALERT_CHANGED). Nothing
   * of it was written; the new run reads the alert as it is now. Anything else is thrown.
   */
  private async judgedAgainIfChanged<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!alertChangedMeanwhile(err) || attempt >= MAX_JUDGED_AGAIN) throw err;
        this.deps.log.info({ code: 'RPM_ERR_ALERT_CHANGED', attempt }, 'an alert changed while the rules judged it; judging the pass again');
      }
    }
  }

  /**
   * Writes a pass with the cursor. `fence`: the cursor the pass started from; if another worker
   * moved it meanwhile (it took the partition over), nothing is written (RPM_ERR_CURSOR_MOVED) and
   * the cached condition states are dropped, since they may be that worker's by now.
   */
  private async write(
    cursor: number,
    pending: Pending,
    options: { fence?: number; progress?: { name: string; seq: number }; alertContext?: (alert: Alert) => AlertSpan | undefined } = {},
  ): Promise<void> {
    try {
      await this.deps.alerts.applyEvaluation({
        cursor,
        ...(this.deps.partition === undefined ? {} : { partition: this.deps.partition }),
        ...(options.fence === undefined ? {} : { fence: options.fence }),
        ...(options.progress === undefined ? {} : { progress: options.progress }),
        conditions: pending.conditions,
        created: pending.created,
        updated: pending.updated,
        expectedVersions: pending.expected,
        events: pending.events,
      });
    } catch (err) {
      this.conditions.clear();
      throw err;
    }
    for (const c of pending.conditions) this.conditions.get(c.patientId)?.set(c.ruleId, c.state);
    // Each alert's listeners (the worklist's SSE push, logs, metrics) run inside its span, when traced.
    const announce = (a: Alert, change: 'created' | 'updated'): void => {
      const span = options.alertContext?.(a);
      if (span === undefined) {
        for (const l of this.listeners) l(a, change);
        return;
      }
      try {
        context.with(span.context, () => {
          for (const l of this.listeners) l(a, change);
        });
      } finally {
        span.end();
      }
    };
    for (const a of pending.created) announce(a, 'created');
    for (const a of pending.updated) announce(a, 'updated');
  }

  private evaluated(readings: readonly Reading[], alerts: Parameters<EvaluatedListener>[1]): void {
    for (const l of this.evaluatedListeners) {
      try {
        l(readings, alerts);
      } catch (err) {
        // Observers (metrics) never fail a pass that is already written.
        this.deps.log.error({ err }, 'evaluation listener failed');
      }
    }
  }

  private async conditionsOf(patientId: string): Promise<ReadonlyMap<string, unknown>> {
    let states = this.conditions.get(patientId);
    if (states === undefined) {
      states = await this.deps.alerts.conditionStates(patientId);
      if (this.conditions.size >= MAX_CACHED_PATIENTS) {
        const oldest = this.conditions.keys().next();
        if (oldest.done !== true) this.conditions.delete(oldest.value);
      }
      this.conditions.set(patientId, states);
    }
    return states;
  }

  private async organizationOf(patientId: string): Promise<string | null> {
    if (this.organizations.has(patientId)) return this.organizations.get(patientId) ?? null;
    const org = (await this.deps.registry.getPatient(patientId))?.organizationId ?? null;
    this.organizations.set(patientId, org);
    return org;
  }
}

/** The history is ordered by measurement time, so the newest earlier reading is found from the end. */
function lastWatched(rule: RuleDefinition, history: readonly Observation[], fresh: ReadonlySet<string>, persisted: number | null): number | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const o = history[i] as Observation;
    if (fresh.has(o.id) || !ruleWatches(rule, o.kind)) continue;
    return persisted === null || o.measuredAtMs > persisted ? o.measuredAtMs : persisted;
  }
  return persisted;
}

/** An alert's span: the context its listeners run in, ended after them. */
interface AlertSpan {
  readonly context: Context;
  end(): void;
}

/**
 * The trace of one rules pass. The pass is its own root span, linked to the requests and publishes
 * whose readings it judged; each of those readings (when its request was traced) also gets a
 * `rpm.rules.judge` span in its request's trace, linked back to the pass, so one trace follows a
 * reading from the request through its commit to the verdict, the alert it raised and the SSE push
 * (the alert's listeners run inside `rpm.alert.raise`). No patient id or value is recorded.
 */
class PassTrace {
  private readonly pass: Span;
  private readonly judges = new Map<string, Span>();
  readonly context: Context;

  constructor(readings: number, byPatient: ReadonlyMap<string, readonly Reading[]>) {
    const origins = new Map<string, SpanContext>();
    for (const list of byPatient.values()) {
      for (const r of list) {
        const sc = readingTraces.get(r.id);
        if (sc !== undefined) origins.set(r.id, sc);
      }
    }
    this.pass = tracer.startSpan('rpm.rules.pass', { root: true, links: linksTo(origins.values()), attributes: { 'rpm.readings': readings, 'rpm.readings.traced': origins.size } });
    this.context = trace.setSpan(ROOT_CONTEXT, this.pass);
    if (!this.pass.isRecording()) return;
    for (const list of byPatient.values()) {
      for (const r of list) {
        const sc = origins.get(r.id);
        if (sc === undefined) continue;
        this.judges.set(
          r.id,
          tracer.startSpan('rpm.rules.judge', { links: [{ context: this.pass.spanContext() }], attributes: { 'rpm.reading.kind': r.kind, 'rpm.reading.transport': r.transport } }, contextOf(sc)),
        );
      }
    }
  }

  /** The span an alert is announced in: a child of the verdict on its reading, else of the pass. */
  alert(a: Alert): AlertSpan | undefined {
    if (!this.pass.isRecording()) return undefined;
    const judge = a.readingId === null ? undefined : this.judges.get(a.readingId);
    const parent = judge === undefined ? this.context : trace.setSpan(ROOT_CONTEXT, judge);
    const span = tracer.startSpan(a.version === 1 ? 'rpm.alert.raise' : 'rpm.alert.update', {
      attributes: { 'rpm.alert.id': a.id, 'rpm.rule.id': a.ruleId, 'rpm.alert.severity': a.severity, 'rpm.alert.status': a.status },
    }, parent);
    // The escalation SMS, minutes later, continues this trace.
    alertTraces.remember(a.id, span.spanContext());
    return { context: trace.setSpan(parent, span), end: () => span.end() };
  }

  failed(err: unknown): void {
    failSpan(this.pass, err);
  }

  end(pending: { readonly created: readonly Alert[]; readonly updated: readonly Alert[] }): void {
    this.pass.setAttribute('rpm.alerts.created', pending.created.length);
    this.pass.setAttribute('rpm.alerts.updated', pending.updated.length);
    for (const j of this.judges.values()) j.end();
    this.pass.end();
  }
}
