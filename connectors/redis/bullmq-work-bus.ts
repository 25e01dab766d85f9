import { type Job, Queue, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { WorkBus, WorkJob, WorkJobData, WorkPost } from '../../core/ports/work-bus.js';

export interface BullWorkBusOptions {
  readonly url: string;
  /** Key prefix of every queue (a cluster's processes share it; tests use their own). */
  readonly prefix?: string;
  /** Called when a consumer's handler fails or the connection reports an error (never with job data). */
  readonly onError?: (err: Error, unit: string | undefined) => void;
}

// Producers fail fast while Redis is away: a post is a nudge that the holder's periodic catch-up
// replaces, so it must never queue up in memory or hold up the caller (an acknowledgement).
const PRODUCER: RedisOptions = { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 };
// BullMQ's workers block on Redis and must retry for ever (its documented requirement).
const CONSUMER: RedisOptions = { maxRetriesPerRequest: null };

/** BullMQ queue names may not contain ':' (BullMQ's key separator). */
export const queueNameOf = (unit: string): string => `unit.${unit.replaceAll(':', '.')}`;

/**
 * WorkBus on BullMQ over Redis: one queue per unit, consumed by the unit's holder with
 * concurrency 1 (jobs of a unit never overlap), repeatable jobs as BullMQ job schedulers. Completed
 * jobs are removed at once; nothing here is the record of anything (see the port).
 */
export class BullWorkBus implements WorkBus {
  private readonly producer: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Set<Worker>();
  private readonly prefix: string;

  constructor(private readonly options: BullWorkBusOptions) {
    this.prefix = options.prefix ?? 'rpm';
    this.producer = new Redis(options.url, PRODUCER);
    this.producer.on('error', (err: Error) => options.onError?.(err, undefined));
  }

  async post(posts: readonly WorkPost[]): Promise<void> {
    const byUnit = new Map<string, { name: string; data: WorkJobData; opts: { jobId?: string; delay?: number; removeOnComplete: boolean; removeOnFail: number } }[]>();
    for (const p of posts) {
      const list = byUnit.get(p.unit) ?? [];
      const delay = p.delayMs === undefined ? undefined : Math.max(0, Math.round(p.delayMs));
      // BullMQ refuses ':' in custom ids (its key separator).
      const jobId = p.id?.replaceAll(':', '.');
      list.push({ name: p.job.name, data: p.job.data, opts: { ...(jobId === undefined ? {} : { jobId }), ...(delay === undefined || delay === 0 ? {} : { delay }), removeOnComplete: true, removeOnFail: 100 } });
      byUnit.set(p.unit, list);
    }
    await Promise.all([...byUnit].map(([unit, jobs]) => this.queue(unit).addBulk(jobs)));
  }

  async consume(unit: string, handler: (job: WorkJob) => Promise<void>): Promise<() => Promise<void>> {
    const connection = new Redis(this.options.url, CONSUMER);
    connection.on('error', (err: Error) => this.options.onError?.(err, unit));
    const worker = new Worker(
      queueNameOf(unit),
      async (job: Job<WorkJobData>) => {
        await handler({ name: job.name, data: job.data });
      },
      { connection, prefix: this.prefix, concurrency: 1, autorun: true },
    );
    worker.on('error', (err) => this.options.onError?.(err, unit));
    worker.on('failed', (_job, err) => this.options.onError?.(err, unit));
    this.workers.add(worker);
    await worker.waitUntilReady();
    return async () => {
      this.workers.delete(worker);
      // Forced: a job is a nudge the next holder's catch-up replaces, and a graceful close waits for
      // a blocking read that may sit on a connection Redis already dropped.
      await worker.close(true);
      connection.disconnect();
    };
  }

  async repeat(unit: string, key: string, job: WorkJob, everyMs: number): Promise<void> {
    await this.queue(unit).upsertJobScheduler(key, { every: everyMs }, { name: job.name, data: job.data, opts: { removeOnComplete: true, removeOnFail: 100 } });
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.close(true)));
    this.workers.clear();
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    this.producer.disconnect();
  }

  private queue(unit: string): Queue {
    let q = this.queues.get(unit);
    if (q === undefined) {
      q = new Queue(queueNameOf(unit), { connection: this.producer, prefix: this.prefix });
      q.on('error', (err: Error) => this.options.onError?.(err, unit));
      this.queues.set(unit, q);
    }
    return q;
  }
}
