import { fmt } from './stats.js';

/** One row of the Targets table for the scenarios that are not timed-window ingest runs. */
export interface TargetRow {
  readonly scenario: string;
  readonly label: string;
  readonly text: string;
}

/**
 * PASS / MISS with the figure and the target, both shown; NaN reads NOT MEASURED with a reason.
 * `atMost` targets are ceilings (latency, memory), the others floors.
 */
export function verdict(value: number, target: number, opts: { atMost?: boolean; digits?: number; unit?: string; why?: string } = {}): string {
  const u = opts.unit === undefined ? '' : ` ${opts.unit}`;
  if (!Number.isFinite(value)) return `NOT MEASURED${opts.why === undefined ? '' : `: ${opts.why}`}`;
  const pass = opts.atMost === true ? value <= target : value >= target;
  const shown = (x: number): string => `${fmt(x, opts.digits)}${u}`;
  return `${pass ? 'PASS' : 'MISS'}: ${shown(value)} against ${opts.atMost === true ? '≤' : '≥'} ${shown(target)}`;
}

export function yesNo(ok: boolean | undefined, what: string): string {
  return ok === undefined ? 'NOT MEASURED' : `${ok ? 'PASS' : 'MISS'}: ${what}`;
}
