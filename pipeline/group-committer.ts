import { RpmError } from '../core/errors/rpm-error.js';
import type { Logger } from '../core/logging.js';
import type { Reading } from '../core/model/reading.js';
import type { CommitBatch, CommitOutcome, ForwardJob, ReadingStore, Rejection } from '../core/ports/reading-store.js';

export interface GroupCommitOptions {
  /** Largest transaction, in readings and rejections. */
  readonly maxBatch: number;
  /** Pending rows past which the gateway sheds load (HTTP 503, MQTT stops reading). */
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
  private pendingRows = 0;
  private flushing = false;
  private scheduled = false;
  private closed = false;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly capacityWaiters: Array<() => void> = [];
  private readonly listeners: CommittedListener[] = [];
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

  get saturated(): boolean {
    return this.pendingRows >= this.options.maxPending;
  }

  get stats(): { commits: number; committedRows: number; failedCommits: number; pending: number } {
    return { commits: this.commits, committedRows: this.committedRows, failedCommits: this.failedCommits, pending: this.pendingRows };
  }

  /** Called after each commit with the readings that were newly accepted or found duplicate. */
  onCommitted(listener: CommittedListener): void {
    this.listeners.push(listener);
  }

  submit(batch: CommitBatch): Promise<CommitOutcome[]> {
    // Same Retry-After as the HTTP admission hook: a request admitted just before shutdown and
    // refused here is answered 503 RPM_ERR_SHUTTING_DOWN too, and the contract promises Retry-After.
    if (this.closed) return Promise.reject(new RpmError('RPM_ERR_SHUTTING_DOWN', undefined, { retryAfterSeconds: 5 }));
    const size = batch.readings.length + batch.rejections.length;
    if (size === 0) return Promise.resolve([]);
    return new Promise<CommitOutcome[]>((resolve, reject) => {
      this.queue.push({ batch, size, resolve, reject });
      this.pendingRows += size;
      this.schedule();
    });
  }

  /** Resolves once pending rows fall below the shedding bound (used to stall MQTT sockets). */
  whenCapacity(): Promise<void> {
    if (!this.saturated) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
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
    if (!this.saturated) {
      for (const w of this.capacityWaiters.splice(0)) w();
    }
    if (this.pendingRows === 0 && this.queue.length === 0) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }
}
