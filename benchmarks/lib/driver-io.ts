import { readFileSync } from 'node:fs';
/**
 * How a load driver talks to run.ts: flags in, one JSON object per stdout line out.
 * Events: `start` when the measured window opens, `stop` when it closes (run.ts samples
 * CPU time of both processes at each), and `result` last.
 */
export type DriverEvent = { event: 'start' } | { event: 'stop' } | ({ event: 'result' } & DriverResult);

export interface DriverResult {
  /** Seconds in the measured window. */
  readonly seconds: number;
  /** Acknowledged messages (HTTP 2xx responses, MQTT PUBACKs) in the window. */
  readonly ackedMessages: number;
  /** Readings in those messages. */
  readonly ackedReadings: number;
  /** Acknowledged readings over the whole run, warm-up included (for the stored-count check). */
  readonly totalAckedReadings: number;
  /** Readings sent that may have been committed without an ack reaching us (HTTP only: abandoned at stop). */
  readonly unackedInFlightBound: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly notes: readonly string[];
}

export function emit(event: DriverEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

export function flags(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === undefined || !a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), 'true');
    else {
      out.set(a.slice(2), next);
      i++;
    }
  }
  return out;
}

export function num(f: Map<string, string>, name: string, fallback: number): number {
  const v = f.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
}

export function str(f: Map<string, string>, name: string): string {
  const v = f.get(name);
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

/** Which devices of a fleet file a raw-MQTT driver process takes, and how it connects them. */
export interface FleetSlice<D> {
  readonly host: string;
  readonly port: number;
  readonly devices: D[];
  readonly from: number;
  readonly to: number;
  readonly concurrency: number;
  readonly localAddress: string | undefined;
  readonly auth: boolean;
}

export function fleetSlice<D>(f: Map<string, string>): FleetSlice<D> {
  const devices = JSON.parse(readFileSync(str(f, 'devices'), 'utf8')) as D[];
  return {
    host: f.get('host') ?? '127.0.0.1',
    port: num(f, 'port', 1883),
    devices,
    from: num(f, 'from', 0),
    to: num(f, 'to', devices.length),
    concurrency: num(f, 'concurrency', 16),
    localAddress: f.get('local-address'),
    auth: f.get('auth') === 'true',
  };
}
