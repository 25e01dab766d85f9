import type { Logger } from '../core/logging.js';
import type { Clock } from '../core/ports/clock.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import type { GroupCommitter } from './group-committer.js';

export interface StoreHealthStatus {
  /** Commits are expected to succeed: none failed since the last success or probe. */
  readonly writable: boolean;
  /** When the current run of failures began (null while writable). */
  readonly failingSinceMs: number | null;
}

/**
 * Whether the reading store can commit, judged from real commits: a failed commit (disk full,
 * I/O error, a database that stays locked) makes it "failing" at once; the next successful commit
 * makes it writable again. While failing, the gateway probes the store itself every `probeMs`
 * (a one-row durable write), because a load balancer that reads readiness stops sending traffic
 * and no commit would ever prove the store well again: readiness recovers by itself.
 */
export class StoreHealth {
  private failingSinceMs: number | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;
  private readonly listeners: Array<(writable: boolean) => void> = [];

  constructor(
    committer: GroupCommitter,
    private readonly store: ReadingStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly probeMs = 1000,
  ) {
    committer.onCommitted(() => this.succeeded());
    committer.onCommitFailed(() => this.failed());
  }

  get writable(): boolean {
    return this.failingSinceMs === null;
  }

  status(): StoreHealthStatus {
    return { writable: this.writable, failingSinceMs: this.failingSinceMs };
  }

  /** Told of every change between writable and failing. */
  onChange(listener: (writable: boolean) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    this.stopped = true;
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.probeTimer = null;
  }

  private failed(): void {
    if (this.failingSinceMs === null) {
      this.failingSinceMs = this.clock.now();
      this.log.error('the reading store is failing commits: not ready until a commit or a probe write succeeds');
      this.tell(false);
    }
    this.scheduleProbe();
  }

  private succeeded(): void {
    if (this.failingSinceMs === null) return;
    const failedForMs = this.clock.now() - this.failingSinceMs;
    this.failingSinceMs = null;
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.log.warn({ failedForMs }, 'the reading store commits again: ready');
    this.tell(true);
  }

  private scheduleProbe(): void {
    if (this.stopped || this.probeTimer !== null || this.probing) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      this.probing = true;
      this.store.probeWrite().then(
        () => {
          this.probing = false;
          this.succeeded();
        },
        () => {
          this.probing = false;
          if (this.failingSinceMs !== null) this.scheduleProbe();
        },
      );
    }, this.probeMs);
    this.probeTimer.unref();
  }

  private tell(writable: boolean): void {
    for (const l of this.listeners) {
      try {
        l(writable);
      } catch (err) {
        this.log.error({ err }, 'store health listener failed');
      }
    }
  }
}
