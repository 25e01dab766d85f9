export interface AdaptiveBatchOptions {
  /** Consecutive answered exchanges before the size may double again. */
  readonly growAfter: number;
  /** How long a size that timed out stays the ceiling. */
  readonly rememberMs: number;
}

export interface BatchingStatus {
  /** What the destination (or RPM_FHIR_BATCH_SIZE) asks for. */
  readonly configured: number;
  /** What is sent per exchange now. */
  readonly current: number;
  /** Why `current` is below `configured`; null when it is not. */
  readonly reason: string | null;
}

export const ADAPTIVE_BATCH_DEFAULTS: AdaptiveBatchOptions = { growAfter: 20, rememberMs: 15 * 60_000 };

/**
 * Readings per exchange for one destination, shrinking when exchanges time out. A server that
 * needs longer than the timeout for a whole batch would otherwise get the same batch again on
 * every retry, forever: each timeout halves the size (down to single readings), and sizes that
 * timed out stay off-limits for a while. After a run of answered exchanges the size doubles
 * again, up to that ceiling, so a server that was only briefly slow gets its batches back.
 * Pure: time is passed in.
 */
export class AdaptiveBatch {
  private limit: number;
  private ceiling: number;
  private ceilingUntilMs = 0;
  private answered = 0;
  private lastTimeout: { readonly sent: number; readonly timeoutMs: number } | undefined;

  constructor(
    private configured: number,
    private readonly options: AdaptiveBatchOptions = ADAPTIVE_BATCH_DEFAULTS,
  ) {
    this.limit = configured;
    this.ceiling = configured;
  }

  /** The destination's batch size changed: start again from it. */
  configure(size: number): void {
    if (size === this.configured) return;
    this.configured = size;
    this.limit = size;
    this.ceiling = size;
    this.answered = 0;
    this.lastTimeout = undefined;
  }

  size(nowMs: number): number {
    if (nowMs >= this.ceilingUntilMs) this.ceiling = this.configured;
    return Math.min(this.limit, this.configured);
  }

  /** An exchange of `sent` readings got no answer within `timeoutMs`. */
  timedOut(sent: number, timeoutMs: number, nowMs: number): void {
    this.answered = 0;
    this.lastTimeout = { sent, timeoutMs };
    if (sent > 1) {
      this.limit = Math.max(1, Math.min(this.limit, Math.floor(sent / 2)));
      this.ceiling = Math.max(1, Math.min(this.ceiling, sent - 1));
    }
    this.ceilingUntilMs = nowMs + this.options.rememberMs;
  }

  /** The server answered an exchange (whatever it said about each reading). */
  answeredExchange(nowMs: number): void {
    if (nowMs >= this.ceilingUntilMs) this.ceiling = this.configured;
    this.answered += 1;
    if (this.limit >= this.configured) {
      this.lastTimeout = undefined;
      return;
    }
    if (this.answered < this.options.growAfter) return;
    this.answered = 0;
    const next = Math.min(this.configured, this.ceiling, this.limit * 2);
    if (next > this.limit) this.limit = next;
  }

  status(nowMs: number): BatchingStatus {
    const current = this.size(nowMs);
    const t = this.lastTimeout;
    let reason: string | null = null;
    if (t !== undefined && t.sent === 1) {
      reason = `single readings get no answer within ${t.timeoutMs} ms: the server is slow or RPM_FHIR_TIMEOUT_MS too short`;
    } else if (t !== undefined && current < this.configured) {
      reason = `an exchange of ${t.sent} readings got no answer within ${t.timeoutMs} ms: sending ${current} per exchange until the server keeps up`;
    }
    return { configured: this.configured, current, reason };
  }
}
