import { rssKb } from '../lib/proc.js';

/** One look at the gateway: its memory from /proc, its own view from /metrics, and /readyz. */
export interface Sample {
  /** Seconds since sampling began. */
  readonly t: number;
  readonly rssMb: number;
  readonly heapUsedMb: number | null;
  readonly eventLoopP99Ms: number | null;
  readonly eventLoopMaxMs: number | null;
  readonly historyObservations: number | null;
  readonly pendingRows: number | null;
  /** Committed readings the rules engine has not evaluated yet. */
  readonly ruleBacklog: number | null;
  readonly readingsAccepted: number | null;
  /** /readyz status, or 0 when it did not answer within 2 s. */
  readonly ready: number;
  readonly readyMs: number;
}

function metric(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m === null ? null : Number(m[1]);
}

function sum(text: string, name: string): number | null {
  let total: number | null = null;
  for (const m of text.matchAll(new RegExp(`^${name}\\{[^}]*outcome="accepted"[^}]*\\} (\\S+)$`, 'gm'))) total = (total ?? 0) + Number(m[1]);
  return total;
}

export async function takeSample(pid: number, baseUrl: string, startedMs: number): Promise<Sample> {
  const rssMb = rssKb(pid) / 1024;
  let text = '';
  try {
    text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  } catch {
    // unanswered: reported as nulls
  }
  const readyStarted = performance.now();
  let ready = 0;
  try {
    const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    ready = res.status;
  } catch {
    ready = 0;
  }
  const ms = (v: number | null): number | null => (v === null ? null : Math.round(v * 100_000) / 100);
  const heap = metric(text, 'nodejs_heap_size_used_bytes');
  return {
    t: Math.round((Date.now() - startedMs) / 100) / 10,
    rssMb: Math.round(rssMb * 10) / 10,
    heapUsedMb: heap === null ? null : Math.round(heap / 104_857.6) / 10,
    eventLoopP99Ms: ms(metric(text, 'rpm_event_loop_delay_p99_seconds')),
    eventLoopMaxMs: ms(metric(text, 'rpm_event_loop_delay_max_seconds')),
    historyObservations: metric(text, 'rpm_rules_history_observations'),
    pendingRows: metric(text, 'rpm_commit_pending_rows'),
    ruleBacklog: metric(text, 'rpm_rule_backlog_readings'),
    readingsAccepted: sum(text, 'rpm_readings_total'),
    ready,
    readyMs: Math.round(performance.now() - readyStarted),
  };
}

/** Samples every `everyMs` until stopped; `stop()` resolves with every sample taken. */
export function startSampling(pid: number, baseUrl: string, everyMs: number, onSample?: (s: Sample) => void): { stop: () => Promise<Sample[]> } {
  const samples: Sample[] = [];
  const startedMs = Date.now();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const begun = Date.now();
      const s = await takeSample(pid, baseUrl, startedMs);
      samples.push(s);
      onSample?.(s);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - (Date.now() - begun))));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return samples;
    },
  };
}
