import { RpmError } from '../core/errors/rpm-error.js';
import type { Logger } from '../core/logging.js';
import type { Reading } from '../core/model/reading.js';
import type { CommitBatch, CommitOutcome, ForwardJob, ReadingStore, Rejection } from '../core/ports/reading-store.js';

export interface GroupCommitOptions {
  /** Largest transaction, in readings and rejections. */
  readonly maxBatch: number;
  /**
   * Hard bound on pending rows: readings and rejection records of every admitted submission whose
   * transaction has not committed or failed yet (the one being written included). A submission
   * that does not fit is refused (HTTP 503) or waits outside the bound (MQTT: its socket is not
   * read meanwhile). Must be at least the largest submission (RPM_MAX_READINGS_PER_REQUEST).
   */
  readonly maxPending: number;
  /** Extra wait to gather a bigger group; 0 commits on the next turn of the event loop. */
  readonly lingerMs: number;
}

interface Waiter {
  readonly batch: CommitBatch;
  readonly size: number;
  resolve(outcomes: CommitOutcome[]): void;
  reject(err: unknown): void;
}

export interface SubmitOptions {
  /**
   * Wait for room instead of being refused when the pending bound is reached (MQTT: the publish
   * cannot be refused, so it waits and aedes stops reading that socket). Waiting submissions are
   * admitted in arrival order, before any new submission.
   */
  readonly waitForCapacity?: boolean;
}

/** A failed commit, for whoever judges the store's health (readiness). */
export type CommitFailedListener = (error: unknown) => void;

/** What one transaction held and cost; for metrics (group sizes, latency, ingest by transport). */
export interface CommittedGroup {
  /** Requests and MQTT publishes that shared the transaction. */
  readonly submissions: number;
  /** Readings plus rejection records written. */
  readonly rows: number;
  readonly rejections: readonly Rejection[];
  /** Time spent in `ReadingStore.commit` (the write and its fsync). */
  readonly durationMs: number;
}

export type CommittedListener = (readings: readonly Reading[], outcomes: readonly CommitOutcome[], group: CommittedGroup) => void;

/**
 * Group commit: every request and MQTT publish that arrives while a transaction is being
 * prepared or written joins the next one, so one fsync acknowledges many devices.
 * Callers get their promise resolved only after the transaction holding their rows has
 * committed; that is what lets the edges acknowledge (HTTP 202, MQTT PUBACK) safely.
 * Transactions run one at a time, in arrival order.
 */
export class GroupCommitter {
  private queue: Waiter[] = [];
  /** Submissions waiting for room (admitted in order as commits free it); not counted as pending. */
  private admission: Waiter[] = [];
  private pendingRows = 0;
  private peakPendingRows = 0;
  private shed = 0;
  private flushing = false;
  private scheduled = false;
  private closed = false;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly listeners: CommittedListener[] = [];
  private readonly failureListeners: CommitFailedListener[] = [];
  private commits = 0;
  private committedRows = 0;
  private failedCommits = 0;

  constructor(
    private readonly store: ReadingStore,
    private readonly options: GroupCommitOptions,
    private readonly log: Logger,
  ) {}

  get pending(): number {
    return this.pendingRows;
  }

  /** No room for another row, or submissions are already waiting for room: new work is shed. */
  get saturated(): boolean {
    return this.pendingRows >= this.options.maxPending || this.admission.length > 0;
  }

  /** Submissions waiting for room (MQTT publishes whose sockets are not read meanwhile). */
  get waiting(): number {
    return this.admission.length;
  }

  get stats(): { commits: number; committedRows: number; failedCommits: number; pending: number; peakPending: number; shed: number } {
    return {
      commits: this.commits,
      committedRows: this.committedRows,
      failedCommits: this.failedCommits,
      pending: this.pendingRows,
      peakPending: this.peakPendingRows,
      shed: this.shed,
    };
  }

  /** Called after each commit with the readings that were newly accepted or found duplicate. */
  onCommitted(listener: CommittedListener): void {
    this.listeners.push(listener);
  }

  /** Called after each failed commit (nothing of it was acknowledged). */
  onCommitFailed(listener: CommitFailedListener): void {
    this.failureListeners.push(listener);
  }

  /**
   * Commit a batch with the next group. Resolves after the durable commit; rejects with
   * RPM_ERR_OVERLOADED when the pending bound leaves no room (unless told to wait), with
   * RPM_ERR_STORE_FAILURE when the transaction failed, with RPM_ERR_SHUTTING_DOWN after close.
   */
  submit(batch: CommitBatch, options: SubmitOptions = {}): Promise<CommitOutcome[]> {
    // Same Retry-After as the HTTP admission hook: a request admitted just before shutdown and
    // refused here is answered 503 RPM_ERR_SHUTTING_DOWN too, and the contract promises Retry-After.
    if (this.closed) return Promise.reject(new RpmError('RPM_ERR_SHUTTING_DOWN', undefined, { retryAfterSeconds: 5 }));
    const size = batch.readings.length + batch.rejections.length;
    if (size === 0) return Promise.resolve([]);
    const fits = this.admission.length === 0 && this.hasRoom(size);
    if (!fits && options.waitForCapacity !== true) {
      this.shed += 1;
      return Promise.reject(
        new RpmError('RPM_ERR_OVERLOADED', `${this.pendingRows} readings are waiting to commit (limit ${this.options.maxPending})`, { retryAfterSeconds: 1 }),
      );
    }
    return new Promise<CommitOutcome[]>((resolve, reject) => {
      const waiter: Waiter = { batch, size, resolve, reject };
      if (fits) this.admit(waiter);
      else this.admission.push(waiter);
    });
  }

  /** Resolves when everything submitted so far is committed (or failed). */
  drain(): Promise<void> {
    if (this.pendingRows === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Refuse new work and wait for what is pending. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
    // Whatever still waits for room was never admitted (so never acknowledged): refuse it.
    for (const w of this.admission.splice(0)) w.reject(new RpmError('RPM_ERR_SHUTTING_DOWN', undefined, { retryAfterSeconds: 5 }));
  }

  /**
   * Whether `size` more rows stay within the bound. The configuration keeps every submission
   * within it (RPM_COMMIT_MAX_PENDING ≥ RPM_MAX_READINGS_PER_REQUEST); were one larger, it would be
   * admitted alone into an empty queue rather than wait forever.
   */
  private hasRoom(size: number): boolean {
    return this.pendingRows + size <= this.options.maxPending || this.pendingRows === 0;
  }

  private admit(waiter: Waiter): void {
    this.queue.push(waiter);
    this.pendingRows += waiter.size;
    if (this.pendingRows > this.peakPendingRows) this.peakPendingRows = this.pendingRows;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      void this.flush();
    };
    if (this.options.lingerMs > 0 && this.pendingRows < this.options.maxBatch) setTimeout(run, this.options.lingerMs);
    else setImmediate(run);
  }

  private takeGroup(): Waiter[] {
    const group: Waiter[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (next === undefined || (group.length > 0 && rows + next.size > this.options.maxBatch)) break;
      group.push(next);
      rows += next.size;
      this.queue.shift();
    }
    return group;
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.takeGroup();
        await this.commitGroup(group);
      }
    } finally {
      this.flushing = false;
      this.notify();
    }
  }

  private async commitGroup(group: Waiter[]): Promise<void> {
    const readings: Reading[] = [];
    const rejections: Rejection[] = [];
    // Outbox jobs point into their submission's readings; re-base them onto the group's.
    const forwards: ForwardJob[] = [];
    let rows = 0;
    for (const w of group) {
      const base = readings.length;
      for (const f of w.batch.forwards ?? []) forwards.push({ reading: base + f.reading, destinationId: f.destinationId });
      for (const r of w.batch.readings) readings.push(r);
      for (const r of w.batch.rejections) rejections.push(r);
      rows += w.size;
    }
    let outcomes: CommitOutcome[];
    const started = performance.now();
    try {
      outcomes = await this.store.commit(forwards.length === 0 ? { readings, rejections } : { readings, rejections, forwards });
    } catch (err) {
      this.pendingRows -= rows;
      this.failedCommits += 1;
      this.log.error({ err, rows }, 'commit failed; nothing in the group was acknowledged');
      const failure = new RpmError('RPM_ERR_STORE_FAILURE', undefined, { cause: err, retryAfterSeconds: 1 });
      for (const w of group) w.reject(failure);
      for (const listener of this.failureListeners) {
        try {
          listener(err);
        } catch (listenerErr) {
          this.log.error({ err: listenerErr }, 'commit failure listener failed');
        }
      }
      this.notify();
      return;
    }
    this.pendingRows -= rows;
    this.commits += 1;
    this.committedRows += rows;
    let offset = 0;
    for (const w of group) {
      const n = w.batch.readings.length;
      w.resolve(outcomes.slice(offset, offset + n));
      offset += n;
    }
    const info: CommittedGroup = { submissions: group.length, rows, rejections, durationMs: performance.now() - started };
    for (const listener of this.listeners) {
      try {
        listener(readings, outcomes, info);
      } catch (err) {
        // A listener (rules, forwarding) must never undo an acknowledged commit.
        this.log.error({ err }, 'commit listener failed');
      }
    }
    this.notify();
  }

  private notify(): void {
    // Room was freed: admit waiting submissions in arrival order while the next one fits.
    while (this.admission.length > 0 && this.hasRoom((this.admission[0] as Waiter).size)) {
      this.admit(this.admission.shift() as Waiter);
    }
    if (this.pendingRows === 0 && this.queue.length === 0 && this.admission.length === 0) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }
}
