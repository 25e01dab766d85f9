import { RpmError } from '../../core/errors/rpm-error.js';

export interface FairQueueOptions {
  /** Tasks running at once (argon2 runs on libuv's pool of 4 threads: more would only queue there, in arrival order). */
  readonly concurrency: number;
  /** Tasks waiting per source; more from that source answer 429 at once. */
  readonly maxWaitingPerSource: number;
  /** Tasks waiting in all; past it, 503 (a last resort: per-source bounds come first). */
  readonly maxWaiting: number;
}

interface Waiting {
  readonly start: () => void;
}

/**
 * Bounded concurrency for expensive work (password hashing) with a fair queue: waiting tasks are
 * taken round-robin across sources (source-address.ts), so a flood from a few addresses costs each
 * other address one turn per round instead of the whole queue, and the `priority` lane (a login
 * from an address the account signed in from before) goes first. A flood therefore slows the
 * flooders; real users keep being served instead of everyone getting 503.
 */
export class FairQueue {
  private running = 0;
  private waiting = 0;
  /** Insertion order is the round-robin order; a source moves to the back when it is served. */
  private readonly bySource = new Map<string, Waiting[]>();
  private readonly priority: Waiting[] = [];

  constructor(private readonly options: FairQueueOptions) {}

  run<T>(source: string, task: () => Promise<T>, options: { priority?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.next();
          });
      };
      if (this.running < this.options.concurrency && this.waiting === 0) {
        start();
        return;
      }
      if (this.waiting >= this.options.maxWaiting) {
        reject(new RpmError('RPM_ERR_OVERLOADED', 'too many logins are waiting', { retryAfterSeconds: 2 }));
        return;
      }
      if (options.priority === true) {
        this.priority.push({ start });
        this.waiting++;
        return;
      }
      const queue = this.bySource.get(source) ?? [];
      if (queue.length >= this.options.maxWaitingPerSource) {
        reject(new RpmError('RPM_ERR_RATE_LIMITED', 'too many logins from this address are waiting; retry shortly', { retryAfterSeconds: 2 }));
        return;
      }
      queue.push({ start });
      if (!this.bySource.has(source)) this.bySource.set(source, queue);
      this.waiting++;
    });
  }

  /** Tasks waiting for a turn (for tests and metrics). */
  get queued(): number {
    return this.waiting;
  }

  private next(): void {
    while (this.running < this.options.concurrency && this.waiting > 0) {
      const item = this.priority.shift() ?? this.takeRoundRobin();
      if (item === undefined) return;
      this.waiting--;
      item.start();
    }
  }

  private takeRoundRobin(): Waiting | undefined {
    const first = this.bySource.entries().next();
    if (first.done === true) return undefined;
    const [source, queue] = first.value;
    const item = queue.shift();
    this.bySource.delete(source);
    if (queue.length > 0) this.bySource.set(source, queue);
    return item;
  }
}
