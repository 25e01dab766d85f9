import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Sampling period of the delay timer (ms); what it reports is the excess over it. */
const RESOLUTION_MS = 10;

interface WindowSummary {
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface EventLoopDelay {
  /** p99 of the event-loop delay: the worst window's p99 within the last minute. */
  readonly p99Seconds: number;
  /** The longest single stall within the last minute. */
  readonly maxSeconds: number;
}

/**
 * Event-loop delay (how late a 10 ms timer fires: the time the loop was busy with something
 * synchronous), summarised over a sliding minute of 5-second windows. Unlike prom-client's
 * nodejs_eventloop_lag_* gauges, which reset at every scrape (so two scrapers halve each
 * other's view, and a stall between scrapes of a slow scraper vanishes), a stall stays visible
 * for a minute whoever scrapes, and the figures exclude the timer's own period.
 */
export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly recent: WindowSummary[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly windowMs = 5000,
    private readonly windows = 12,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.timer = setInterval(() => this.rotate(), windowMs);
    this.timer.unref();
  }

  /** The last minute, the window in progress included. */
  delay(): EventLoopDelay {
    let p99 = 0;
    let max = 0;
    for (const w of [...this.recent, this.summarise()]) {
      p99 = Math.max(p99, w.p99Ms);
      max = Math.max(max, w.maxMs);
    }
    return { p99Seconds: p99 / 1000, maxSeconds: max / 1000 };
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private rotate(): void {
    this.recent.push(this.summarise());
    if (this.recent.length > this.windows - 1) this.recent.shift();
    this.histogram.reset();
  }

  private summarise(): WindowSummary {
    if (this.histogram.count === 0) return { p99Ms: 0, maxMs: 0 };
    const excess = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    return { p99Ms: excess(this.histogram.percentile(99)), maxMs: excess(this.histogram.max) };
  }
}
