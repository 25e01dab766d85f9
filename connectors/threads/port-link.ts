import { type MessagePort, Worker } from 'node:worker_threads';
import type { Logger } from '../../core/logging.js';
import type { ClusterEvents, WorkBus, WorkJob, WorkJobData } from '../../core/ports/work-bus.js';

/**
 * The distributed mode's WorkBus and ClusterEvents between two threads of one process (the
 * single process's background thread), over a MessagePort. Same contracts as BullMQ and Redis
 * pub/sub: jobs are nudges and ids (what to do is read from the durable store), events are fan-out
 * of ids, and a restarted peer is announced as a reconnect (receivers must assume they missed
 * something). Two additions a thread needs and a cluster does not: `call` (a request answered by
 * the other side: drain, stop) and `note` (one-way plain data: metrics of a pass, log lines).
 */

/** One end of the link: a Worker (the main thread's side) or the thread's parentPort. */
export interface PortEnd {
  postMessage(value: unknown): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
  off(event: 'message', listener: (value: unknown) => void): unknown;
}

type Frame =
  | { readonly t: 'job'; readonly unit: string; readonly job: WorkJob }
  | { readonly t: 'event'; readonly channel: string; readonly message: WorkJobData }
  | { readonly t: 'call'; readonly id: number; readonly name: string; readonly data: WorkJobData }
  | { readonly t: 'reply'; readonly id: number; readonly error?: string; readonly value?: unknown }
  | { readonly t: 'note'; readonly name: string; readonly value: unknown };

interface Consumer {
  readonly handler: (job: WorkJob) => Promise<void>;
  /** Jobs waiting, at most one per name: a later nudge of the same name is absorbed (positions: the newest covers the rest). */
  readonly waiting: Map<string, WorkJob>;
  running: boolean;
  closed: boolean;
  idle: Promise<void>;
}

export class PortLink implements WorkBus, ClusterEvents {
  private port: PortEnd | undefined;
  private readonly listener = (value: unknown): void => this.receive(value as Frame);
  /** Frames posted while no peer is attached (a thread starting or restarting); jobs coalesce by unit and name. */
  private readonly held: Frame[] = [];
  private readonly consumers = new Map<string, Consumer>();
  private readonly subscribers = new Map<string, Array<(message: WorkJobData) => void>>();
  private readonly reconnectListeners: Array<() => void> = [];
  private readonly answers = new Map<string, (data: WorkJobData) => Promise<unknown>>();
  private readonly noteListeners = new Map<string, Array<(value: unknown) => void>>();
  private readonly calls = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  private readonly repeats = new Set<NodeJS.Timeout>();
  private nextCall = 0;
  private attachedBefore = false;
  /** Set once the peer is gone for good (stopped, or given up): calls fail at once instead of waiting for a peer. */
  private ended: string | undefined;

  constructor(private readonly log: Logger) {}

  /** Talk through `port` from now on (a new thread after a restart is announced as a reconnect). */
  attach(port: PortEnd): void {
    this.port = port;
    port.on('message', this.listener);
    const held = this.held.splice(0);
    for (const f of held) port.postMessage(f);
    if (this.attachedBefore) for (const l of this.reconnectListeners) l();
    this.attachedBefore = true;
  }

  /** No peer will come again: calls fail at once from now on. */
  end(reason: string): void {
    this.ended = reason;
    this.detach(reason);
  }

  /** The peer is gone: calls in flight fail (their work is in the store for the next peer). */
  detach(reason: string): void {
    this.port?.off('message', this.listener);
    this.port = undefined;
    for (const [, c] of this.calls) c.reject(new Error(reason));
    this.calls.clear();
  }

  private send(frame: Frame): void {
    if (this.port !== undefined) {
      this.port.postMessage(frame);
      return;
    }
    if (frame.t === 'job') {
      const same = this.held.findIndex((f) => f.t === 'job' && f.unit === frame.unit && f.job.name === frame.job.name);
      if (same >= 0) this.held.splice(same, 1);
    }
    // Bounded: nudges coalesce; events and notes past this are dropped (the peer's reconnect covers them).
    if (this.held.length < 10_000 || frame.t === 'job') this.held.push(frame);
  }

  // WorkBus

  async post(posts: readonly { readonly unit: string; readonly job: WorkJob; readonly id?: string }[]): Promise<void> {
    for (const p of posts) this.send({ t: 'job', unit: p.unit, job: p.job });
  }

  async consume(unit: string, handler: (job: WorkJob) => Promise<void>): Promise<() => Promise<void>> {
    const consumer: Consumer = { handler, waiting: new Map(), running: false, closed: false, idle: Promise.resolve() };
    this.consumers.set(unit, consumer);
    return async () => {
      consumer.closed = true;
      consumer.waiting.clear();
      if (this.consumers.get(unit) === consumer) this.consumers.delete(unit);
      await consumer.idle;
    };
  }

  async repeat(unit: string, _key: string, job: WorkJob, everyMs: number): Promise<void> {
    const timer = setInterval(() => {
      if (this.consumers.has(unit)) this.enqueue(unit, job);
      else this.send({ t: 'job', unit, job });
    }, everyMs);
    timer.unref();
    this.repeats.add(timer);
  }

  private enqueue(unit: string, job: WorkJob): void {
    const c = this.consumers.get(unit);
    if (c === undefined || c.closed) return;
    c.waiting.delete(job.name);
    c.waiting.set(job.name, job);
    if (c.running) return;
    c.running = true;
    c.idle = (async () => {
      while (!c.closed && c.waiting.size > 0) {
        const [name, next] = c.waiting.entries().next().value as [string, WorkJob];
        c.waiting.delete(name);
        try {
          await c.handler(next);
        } catch (err) {
          this.log.error({ err, unit, job: next.name }, 'a job failed (its work is caught up from the store)');
        }
      }
      c.running = false;
    })();
  }

  // ClusterEvents

  async publish(channel: string, message: WorkJobData): Promise<void> {
    this.send({ t: 'event', channel, message });
  }

  async subscribe(channel: string, handler: (message: WorkJobData) => void): Promise<void> {
    const list = this.subscribers.get(channel) ?? [];
    list.push(handler);
    this.subscribers.set(channel, list);
  }

  onReconnect(handler: () => void): void {
    this.reconnectListeners.push(handler);
  }

  // Calls and notes

  /** Asks the peer to run `name` and resolves with its answer (rejects if it failed or the peer went away). */
  call<T = unknown>(name: string, data: WorkJobData = {}): Promise<T> {
    if (this.ended !== undefined) return Promise.reject(new Error(this.ended));
    const id = ++this.nextCall;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.send({ t: 'call', id, name, data });
    });
  }

  answer(name: string, fn: (data: WorkJobData) => Promise<unknown>): void {
    this.answers.set(name, fn);
  }

  note(name: string, value: unknown): void {
    this.send({ t: 'note', name, value });
  }

  onNote(name: string, listener: (value: unknown) => void): void {
    const list = this.noteListeners.get(name) ?? [];
    list.push(listener);
    this.noteListeners.set(name, list);
  }

  private receive(f: Frame): void {
    switch (f.t) {
      case 'job':
        this.enqueue(f.unit, f.job);
        return;
      case 'event':
        for (const h of this.subscribers.get(f.channel) ?? []) {
          try {
            h(f.message);
          } catch (err) {
            this.log.error({ err, channel: f.channel }, 'an event handler failed');
          }
        }
        return;
      case 'note':
        for (const l of this.noteListeners.get(f.name) ?? []) l(f.value);
        return;
      case 'call': {
        const fn = this.answers.get(f.name);
        const run = fn === undefined ? Promise.reject(new Error(`no answer for ${f.name}`)) : fn(f.data);
        run.then(
          (value) => this.send({ t: 'reply', id: f.id, value }),
          (err: unknown) => this.send({ t: 'reply', id: f.id, error: err instanceof Error ? err.message : String(err) }),
        );
        return;
      }
      case 'reply': {
        const c = this.calls.get(f.id);
        if (c === undefined) return;
        this.calls.delete(f.id);
        if (f.error === undefined) c.resolve(f.value);
        else c.reject(new Error(f.error));
        return;
      }
    }
  }

  async close(): Promise<void> {
    for (const t of this.repeats) clearInterval(t);
    this.repeats.clear();
    for (const c of this.consumers.values()) {
      c.closed = true;
      c.waiting.clear();
    }
    await Promise.all([...this.consumers.values()].map((c) => c.idle));
    this.consumers.clear();
  }
}

/** The thread's end of its link: parentPort (throws outside a worker thread). */
export function parentEnd(port: MessagePort | null): PortEnd & { unref(): void } {
  if (port === null) throw new Error('not in a worker thread');
  return port;
}

/** How long a thread that answered its stop may take to exit before it is ended. */
const STOP_EXIT_MS = 2000;

/** A restarted thread ended before it said it runs: its exit was counted like any other end. */
class EndedWhileStarting extends Error {
  constructor(cause: unknown) {
    super('background thread ended while starting', { cause });
  }
}

export interface SupervisedThreadOptions {
  /** The thread's entry module. */
  readonly url: URL;
  readonly workerData: unknown;
  readonly link: PortLink;
  readonly log: Logger;
  /** Restarts allowed within `windowMs` before the thread is given up as broken (`onBroken`). */
  readonly maxRestarts: number;
  readonly windowMs: number;
  /** The thread ended unexpectedly and was started again. */
  readonly onRestart?: (code: number) => void;
  /** The thread keeps dying: the owner must not go on without it (the process exits loudly). */
  readonly onBroken: (err: Error) => void;
  /** Resolves once the thread says it runs (the call `started` answered). */
  readonly startedCall: string;
}

/**
 * A worker thread that is started again when it ends unexpectedly (an uncaught error, an
 * out-of-memory abort), announced to the link's listeners as a reconnect. Too many ends in a
 * short window and the thread is given up: `onBroken` (the owner fails loudly, never runs on with
 * a silent dead thread).
 */
export class SupervisedThread {
  private worker: Worker | undefined;
  private stopping = false;
  private readonly ends: number[] = [];
  private restartsDone = 0;
  /** Set once the first start succeeded: from then on an unexpected end is restarted. */
  private supervising = false;

  constructor(private readonly options: SupervisedThreadOptions) {}

  get restarts(): number {
    return this.restartsDone;
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  /** Starts the thread and resolves once it answered `startedCall` (its stores are open). */
  async start(): Promise<void> {
    const worker = new Worker(this.options.url, { workerData: this.options.workerData });
    this.worker = worker;
    let startError: Error | undefined;
    const started = new Promise<void>((resolve, reject) => {
      worker.once('online', () => {
        this.options.link.attach(worker);
        this.options.link.call(this.options.startedCall).then(() => resolve(), reject);
      });
      worker.once('error', (err) => {
        startError = err;
        reject(err);
      });
    });
    worker.on('error', (err) => {
      if (startError !== err) this.options.log.error({ err }, 'background thread failed');
    });
    worker.once('exit', (code) => this.exited(worker, code));
    try {
      await started;
    } catch (err) {
      // A restarted thread that ends before it answered was counted by its exit (restarted again or
      // given up there); only a first start, or a thread still alive, fails the caller.
      if (this.supervising && this.worker !== worker) throw new EndedWhileStarting(err);
      throw err;
    }
    this.supervising = true;
  }

  private exited(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.options.link.detach(`background thread exited with code ${code}`);
    if (this.stopping || !this.supervising) return;
    const now = performance.now();
    this.ends.push(now);
    while (this.ends.length > 0 && (this.ends[0] as number) < now - this.options.windowMs) this.ends.shift();
    if (this.ends.length > this.options.maxRestarts) {
      this.options.log.fatal({ code, ends: this.ends.length, windowMs: this.options.windowMs }, 'background thread keeps ending; giving up');
      this.options.link.end('background thread given up');
      this.options.onBroken(new Error(`background thread ended ${this.ends.length} times within ${this.options.windowMs} ms (last exit code ${code})`));
      return;
    }
    this.options.log.error({ code }, 'background thread ended unexpectedly; starting it again (its work resumes from the store)');
    this.restartsDone++;
    this.options.onRestart?.(code);
    this.start().catch((err: unknown) => {
      if (err instanceof EndedWhileStarting) return;
      this.options.log.fatal({ err }, 'background thread could not be started again');
      this.options.onBroken(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Ends the thread as a crash would (tests; an operator's diagnosis): the supervisor starts it again. */
  async terminate(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Asks the thread to finish (`stopCall`, answered once its work is written), then waits for it to exit. */
  async stop(stopCall: string, data: WorkJobData = {}): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    if (worker === undefined) {
      this.options.link.end('background thread stopped');
      return;
    }
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    try {
      await this.options.link.call(stopCall, data);
    } finally {
      // The thread ends by itself once its work is written; one that does not is ended.
      const timer = setTimeout(() => void worker.terminate(), STOP_EXIT_MS);
      await exited;
      clearTimeout(timer);
      this.options.link.end('background thread stopped');
    }
  }
}
