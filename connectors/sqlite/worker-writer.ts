import { Worker } from 'node:worker_threads';
import type { CommitBatch } from '../../core/ports/reading-store.js';
import { type CommitStatuses, encodeBatch } from './batch-writer.js';
import type { SqliteOptions } from './database.js';

interface Pending {
  resolve(statuses: CommitStatuses): void;
  reject(err: Error): void;
}

// Compiled, the worker is a .js file next to this one; run from TypeScript sources (tsx,
// vitest) a small .mjs entry registers tsx in the worker first.
const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(RUNNING_FROM_SOURCE ? './writer-worker-source.mjs' : './writer-worker.js', import.meta.url);

/**
 * Client side of the writer thread. Commits are sent in order and answered in order; a
 * commit resolves only after the worker's transaction has committed. If the worker dies,
 * everything in flight is rejected (never acknowledged) and the next commit starts a new one.
 */
export class WorkerWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;

  constructor(private readonly options: SqliteOptions) {}

  commit(batch: CommitBatch): Promise<CommitStatuses> {
    // One JSON string clones far faster than the structured clone of many small objects, and the
    // flat row values of a WireBatch (batch-writer.ts) stringify and parse faster than the objects.
    return this.send((seq) => ({ seq, json: JSON.stringify(encodeBatch(batch)) }));
  }

  /** The readiness probe write, queued behind the commits sent before it. */
  async probe(): Promise<void> {
    await this.send((seq) => ({ seq, probe: true }));
  }

  private send(message: (seq: number) => object): Promise<CommitStatuses> {
    if (this.closed) return Promise.reject(new Error('writer closed'));
    const worker = this.ensureWorker();
    const seq = ++this.seq;
    return new Promise<CommitStatuses>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.postMessage(message(seq));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (worker === undefined) return;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.postMessage({ close: true });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_URL, {
      workerData: this.options,
    });
    worker.on('message', (msg: { seq: number; statuses?: CommitStatuses; error?: string }) => {
      const p = this.pending.get(msg.seq);
      if (p === undefined) return;
      this.pending.delete(msg.seq);
      if (msg.statuses !== undefined) p.resolve(msg.statuses);
      else p.reject(new Error(msg.error ?? 'commit failed'));
    });
    const fail = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const [, p] of this.pending) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed || this.pending.size > 0) fail(new Error(`writer thread exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }
}
