/**
 * How many readings the rules engine takes per pass. A pass runs on the event loop without a
 * break (its reads and its write are synchronous SQLite calls, and it must not interleave with
 * nurse actions on the same alerts), so its size bounds how long ingest and HTTP wait. The size
 * adapts to what passes cost: halved after a pass slower than the target, doubled (up to the
 * maximum) after one well under it. Big backlogs are caught up in many short passes instead of a
 * few long ones.
 */
export class PassSize {
  private size: number;

  constructor(
    private readonly max: number,
    private readonly targetMs = 50,
    private readonly min = Math.min(50, max),
  ) {
    this.size = max;
  }

  get current(): number {
    return this.size;
  }

  /** A pass of `readings` took `ms`. */
  record(readings: number, ms: number): void {
    if (ms > this.targetMs && readings > this.min) this.size = Math.max(this.min, Math.floor(Math.min(this.size, readings) / 2));
    else if (ms < this.targetMs / 4 && readings >= this.size) this.size = Math.min(this.max, this.size * 2);
  }
}
