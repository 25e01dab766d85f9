import type { Api } from './api.js';
import { WorklistStream } from './stream.js';
import type { Alert, StreamEvent, WorklistResponse } from './types.js';
import { type ApplyResult, WorklistModel } from './worklist-model.js';

export interface Change {
  readonly alert: Alert;
  readonly result: ApplyResult;
  /** Where it came from: the live stream, a refetch, or this nurse's own action. */
  readonly source: 'stream' | 'snapshot' | 'local';
  readonly change?: StreamEvent['change'];
}

/** `polling`: the live stream delivers nothing (a buffering proxy), so the worklist is refetched on a timer. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'polling';

/** Without a byte from the stream this long after it was asked for, it is taken as blocked. */
export const STREAM_BLOCKED_AFTER_MS = 5_000;
/** How often the worklist is refetched while the stream is blocked. */
export const POLL_EVERY_MS = 10_000;
type Listener = (changes: readonly Change[], why: 'snapshot' | 'update') => void;

/**
 * The organization's worklist, kept live for the whole session. The snapshot is fetched first,
 * so rows show whatever the stream does; when the stream opens (its first bytes arrive) the
 * snapshot is fetched again and events that arrive meanwhile are applied after it (versions
 * decide), so nothing falls in the gap. Every reconnect refetches for the same reason. When the
 * stream delivers nothing (a proxy that buffers it), the worklist is polled instead and the state
 * says so, until the stream opens. Views subscribe; nothing here touches the DOM.
 */
export class LiveWorklist {
  readonly model = new WorklistModel();
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<(s: ConnectionState) => void>();
  private stream: WorklistStream;
  private buffered: StreamEvent[] | null = null;
  private loaded = false;
  private waiters: (() => void)[] = [];
  private watchdog = 0;
  private poll = 0;
  state: ConnectionState = 'connecting';

  constructor(
    private readonly api: Api,
    token: () => string | null,
    onUnauthorized: () => void,
  ) {
    this.stream = new WorklistStream(token, {
      opened: () => {
        this.stopPolling();
        this.setState('live');
        void this.refresh();
      },
      event: (e) => {
        if (this.buffered !== null) this.buffered.push(e);
        else this.emit([{ alert: e.alert, result: this.model.apply(e.alert), source: 'stream', change: e.change }], 'update');
      },
      lost: () => {
        if (this.poll === 0) this.setState('reconnecting');
      },
      unauthorized: onUnauthorized,
    });
  }

  start(): void {
    void this.refresh().catch(() => undefined);
    this.stream.start();
    this.armWatchdog();
  }

  /** Polls when the stream has not opened in time (it may also be down: polling then says why). */
  private armWatchdog(): void {
    window.clearTimeout(this.watchdog);
    this.watchdog = window.setTimeout(() => {
      if (this.state === 'live' || this.poll !== 0) return;
      this.setState('polling');
      this.poll = window.setInterval(() => void this.refresh().catch(() => undefined), POLL_EVERY_MS);
    }, STREAM_BLOCKED_AFTER_MS);
  }

  private stopPolling(): void {
    window.clearTimeout(this.watchdog);
    window.clearInterval(this.poll);
    this.poll = 0;
  }

  /**
   * After a change of display settings: a new stream (events come in the new units), and its
   * `opened` refetches the snapshot, whose alerts replace the ones written in the old units.
   */
  reconnect(): void {
    if (this.poll === 0) this.setState('connecting');
    this.stream.restart();
    if (this.poll === 0) this.armWatchdog();
  }

  stop(): void {
    this.stopPolling();
    this.stream.stop();
    this.listeners.clear();
    this.stateListeners.clear();
  }

  /** Resolves once the first snapshot is in. */
  ready(): Promise<void> {
    return this.loaded ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: (s: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Fetch the snapshot (priorities drift with waiting time), then apply what streamed meanwhile. */
  async refresh(): Promise<void> {
    if (this.buffered !== null) return;
    this.buffered = [];
    try {
      const snapshot = await this.api.get<WorklistResponse>('/v1/worklist');
      this.model.replaceAll(snapshot);
    } finally {
      const pending = this.buffered ?? [];
      this.buffered = null;
      for (const e of pending) this.model.apply(e.alert);
      this.loaded = true;
      for (const w of this.waiters.splice(0)) w();
      this.emit([], 'snapshot');
    }
  }

  /** Apply an alert this nurse just changed (the action's answer), before its event streams in. */
  applyLocal(alert: Alert): void {
    this.emit([{ alert, result: this.model.apply(alert), source: 'local' }], 'update');
  }

  private emit(changes: readonly Change[], why: 'snapshot' | 'update'): void {
    for (const l of this.listeners) l(changes, why);
  }

  private setState(s: ConnectionState): void {
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }
}
