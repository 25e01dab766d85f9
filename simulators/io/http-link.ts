import type { SimReading } from '../readings.js';
import type { Link, LinkEvents, ReadingOutcome, SendResult } from './link.js';

/**
 * A device (or hub) posting to `POST /v1/readings` with its secret. 202 carries one outcome per
 * reading; 503/429 say when to come back; anything else, or no answer, is not an acknowledgement.
 */

interface Outcome {
  readonly status?: string;
  readonly code?: string;
  readonly clientId?: string;
}

function retryAfterMs(res: Response): number | undefined {
  const v = res.headers.get('retry-after');
  const s = v === null ? Number.NaN : Number(v);
  return Number.isFinite(s) ? s * 1000 : undefined;
}

export class HttpLink implements Link {
  readonly transport = 'http' as const;
  private held = false;
  private readonly controllers = new Set<AbortController>();

  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
    private readonly events: LinkEvents,
    private readonly timeoutMs = 15_000,
  ) {}

  get ready(): boolean {
    return !this.held;
  }

  open(): void {
    this.held = false;
    this.events.ready();
  }

  hold(): void {
    this.held = true;
  }

  drop(): void {
    // A request in flight when coverage goes is lost with it: its answer never arrives.
    for (const c of this.controllers) c.abort(new Error('connection lost'));
  }

  private async post(body: string): Promise<{ res: Response; json: unknown } | { error: string }> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(new Error('timeout')), this.timeoutMs);
    try {
      const res = await fetch(`${this.baseUrl}/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.secret}`, 'content-type': 'application/json' },
        body,
        signal: controller.signal,
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { res, json };
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      return { error: `${err instanceof Error ? err.message : String(err)}${cause}` };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  send(batch: readonly SimReading[], done: (result: SendResult, latencyMs: number) => void): void {
    const t0 = performance.now();
    void this.post(JSON.stringify({ readings: batch.map((r) => r.body) })).then((answer) => {
      const latency = performance.now() - t0;
      if ('error' in answer) {
        done({ ok: false, reason: 'no answer' }, latency);
        return;
      }
      const { res, json } = answer;
      if (res.status === 202) {
        const outcomes = (json as { outcomes?: Outcome[] } | undefined)?.outcomes ?? [];
        if (outcomes.length !== batch.length) {
          done({ ok: false, reason: `202 with ${outcomes.length} outcomes for ${batch.length} readings`, fatal: true }, latency);
          return;
        }
        const mapped: ReadingOutcome[] = outcomes.map((o) =>
          o.status === 'accepted' || o.status === 'duplicate' ? { status: o.status } : { status: 'rejected', code: o.code ?? 'RPM_ERR_UNKNOWN' },
        );
        done({ ok: true, outcomes: mapped }, latency);
        return;
      }
      const code = (json as { code?: string } | undefined)?.code ?? `HTTP ${res.status}`;
      if (res.status === 503 || res.status === 429) {
        const wait = retryAfterMs(res);
        done({ ok: false, reason: code, ...(wait === undefined ? {} : { retryAfterMs: wait }) }, latency);
        return;
      }
      if (res.status === 400 || res.status === 413) {
        // The whole request refused: every reading in it is rejected, none will ever be stored.
        done({ ok: true, outcomes: batch.map(() => ({ status: 'rejected' as const, code })) }, latency);
        return;
      }
      done({ ok: false, reason: code, fatal: res.status === 401 || res.status === 403 }, latency);
    });
  }

  sendGarbage(payload: string, done: (acked: boolean) => void): void {
    void this.post(payload).then((answer) => {
      if ('error' in answer) {
        done(false);
        return;
      }
      const code = (answer.json as { code?: string } | undefined)?.code;
      if (answer.res.status === 400 && code !== undefined) this.events.payloadRejected(code);
      done(answer.res.status === 400);
    });
  }

  async close(): Promise<void> {
    this.held = true;
  }
}
