import type { LedgerEntry } from './ledger.js';
import type { Transport } from './model.js';
import { parseKey } from './readings.js';

/**
 * The invariant (performance-reliability.md §3.9): every reading the gateway acknowledged is
 * stored exactly once. Transport duplicates are allowed; stored duplicates are not. A reading
 * stored without an acknowledgement is fine (the ack was lost on the way back).
 */

/** A stored reading as the gateway's reading API shows it. */
export interface StoredRow {
  readonly clientId: string | null;
  readonly deviceId: string;
  readonly sequence: number | null;
}

export interface LossReport {
  /** Acknowledged as a duplicate of a measurement the gateway already held under another client id (stored once, not missing). */
  readonly sameMeasurement: number;
  /** Readings acknowledged that must be stored (injected faults the gateway rightly refused excluded). */
  readonly mustStore: number;
  /** Stored rows that belong to this run. */
  readonly stored: number;
  /** Acknowledged but not stored: lost. */
  readonly missing: readonly string[];
  /** Stored more than once (by device and sequence). */
  readonly duplicated: readonly string[];
  /** Stored under a device or sequence other than the one sent. */
  readonly mismatched: readonly string[];
  /** Stored, from this run, but never sent by it. */
  readonly unknown: readonly string[];
  /** Deliberately invalid readings (fault injection) that were stored anyway. */
  readonly invalidStored: readonly string[];
  /** Valid readings the gateway rejected. */
  readonly unexpectedRejections: readonly string[];
  /** Stored although never acknowledged: allowed. */
  readonly storedUnacked: number;
  readonly ok: boolean;
}

/**
 * Compares the ledger with what the gateway stored. Only rows whose client id carries this run's
 * `boot` tag are considered, so earlier runs against the same gateway do not interfere.
 */
export function compareAckedWithStored(
  entries: Iterable<LedgerEntry>,
  rows: Iterable<StoredRow>,
  boot: string,
  /**
   * Which simulated reading a stored row is, when rows carry no client id of ours (vendor
   * formats: found by device, kind and measurement instant); undefined: not this run's.
   */
  keyOf?: (row: StoredRow) => string | undefined,
): LossReport {
  const ledger = new Map<string, LedgerEntry>();
  for (const e of entries) ledger.set(e.key, e);

  // Stored copies per (device, boot, sequence): the unit of "exactly once".
  const copies = new Map<string, number>();
  const mismatched: string[] = [];
  const unknown: string[] = [];
  for (const row of rows) {
    const key = keyOf === undefined ? row.clientId : keyOf(row);
    if (key === null || key === undefined) continue;
    const k = parseKey(key);
    if (k === undefined || k.boot !== boot) continue;
    if (k.deviceId !== row.deviceId || (row.sequence !== null && row.sequence !== k.sequence)) mismatched.push(key);
    copies.set(key, (copies.get(key) ?? 0) + 1);
    if (!ledger.has(key)) unknown.push(key);
  }

  const missing: string[] = [];
  const invalidStored: string[] = [];
  const unexpectedRejections: string[] = [];
  let mustStore = 0;
  let storedUnacked = 0;
  let sameMeasurement = 0;
  for (const e of ledger.values()) {
    const n = copies.get(e.key) ?? 0;
    if (e.expect === 'rejected' && n > 0) invalidStored.push(e.key);
    if (e.expect === 'stored' && e.outcome === 'rejected') unexpectedRejections.push(e.key);
    const acked = e.ackedMs !== null && e.outcome !== 'rejected';
    if (acked && e.expect === 'stored') {
      mustStore++;
      // Answered "duplicate" the first time it was sent: the gateway already held this measurement
      // (same device, kind and instant) under another client id, and keeps one reading for it.
      if (n === 0 && e.outcome === 'duplicate') sameMeasurement++;
      else if (n === 0) missing.push(e.key);
    } else if (!acked && n > 0) storedUnacked++;
  }
  const duplicated = [...copies].filter(([, n]) => n > 1).map(([k]) => k);
  const stored = [...copies.values()].reduce((s, n) => s + n, 0);
  const ok = missing.length === 0 && duplicated.length === 0 && mismatched.length === 0 && unknown.length === 0 && invalidStored.length === 0;
  return { mustStore, stored, missing, duplicated, mismatched, unknown, invalidStored, unexpectedRejections, storedUnacked, sameMeasurement, ok };
}

export function formatLossReport(r: LossReport): string {
  const sample = (xs: readonly string[]): string => (xs.length === 0 ? '' : ` (e.g. ${xs.slice(0, 3).join(', ')})`);
  return [
    `acknowledged and expected stored: ${r.mustStore.toLocaleString('en-US')}; stored from this run: ${r.stored.toLocaleString('en-US')} (${r.storedUnacked.toLocaleString('en-US')} stored without an acknowledgement, allowed)`,
    `lost (acknowledged, not stored): ${r.missing.length}${sample(r.missing)}`,
    `stored more than once: ${r.duplicated.length}${sample(r.duplicated)}`,
    `stored under another device or sequence: ${r.mismatched.length}${sample(r.mismatched)}; never sent: ${r.unknown.length}${sample(r.unknown)}`,
    `invalid readings stored: ${r.invalidStored.length}${sample(r.invalidStored)}; valid readings rejected: ${r.unexpectedRejections.length}${sample(r.unexpectedRejections)}`,
    r.ok ? 'OK: every acknowledged reading is stored exactly once' : 'FAILED',
  ].join('\n');
}

/** One line of a loss report that CI can count: what was checked, and whether it held. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

interface Tally {
  acked: number;
  lost: number;
  twice: number;
}

function tallyLine(name: string, t: Tally): Check {
  return { name, ok: t.lost === 0 && t.twice === 0, detail: `${t.acked.toLocaleString('en-US')} acknowledged, ${t.lost} lost, ${t.twice} stored twice` };
}

/**
 * The report broken into checks: one per phase (the loss checker numbers the gateway's lives
 * between kills), one per transport, then the run-wide ones. Per-phase lines show *where* a loss
 * happened (which restart), not only that one did.
 */
export function lossChecks(entries: Iterable<LedgerEntry>, report: LossReport, phaseName: (phase: number) => string = (p) => `phase ${p}`): Check[] {
  const missing = new Set(report.missing);
  const twice = new Set(report.duplicated);
  const byPhase = new Map<number, Tally>();
  const byTransport = new Map<Transport, Tally>();
  const bump = (t: Tally | undefined, e: LedgerEntry): Tally => {
    const out = t ?? { acked: 0, lost: 0, twice: 0 };
    out.acked++;
    if (missing.has(e.key)) out.lost++;
    if (twice.has(e.key)) out.twice++;
    return out;
  };
  for (const e of entries) {
    // The same selection as compareAckedWithStored's mustStore.
    if (e.ackedMs === null || e.outcome === 'rejected' || e.expect !== 'stored') continue;
    const phase = e.ackPhase ?? 0;
    byPhase.set(phase, bump(byPhase.get(phase), e));
    byTransport.set(e.transport, bump(byTransport.get(e.transport), e));
  }
  const sample = (xs: readonly string[]): string => (xs.length === 0 ? '' : ` (e.g. ${xs.slice(0, 3).join(', ')})`);
  return [
    ...[...byPhase].sort((a, b) => a[0] - b[0]).map(([p, t]) => tallyLine(phaseName(p), t)),
    ...[...byTransport].sort().map(([tr, t]) => tallyLine(`${tr.toUpperCase()} devices and hubs`, t)),
    { name: 'acknowledged readings stored', ok: report.missing.length === 0, detail: `${report.mustStore.toLocaleString('en-US')} acknowledged, ${report.missing.length} missing${sample(report.missing)}` },
    { name: 'no reading stored twice', ok: report.duplicated.length === 0, detail: `${report.stored.toLocaleString('en-US')} rows, ${report.duplicated.length} client ids twice${sample(report.duplicated)}` },
    {
      name: 'stored rows match what was sent',
      ok: report.mismatched.length === 0 && report.unknown.length === 0,
      detail: `${report.mismatched.length} under another device or sequence${sample(report.mismatched)}, ${report.unknown.length} never sent${sample(report.unknown)}`,
    },
    { name: 'invalid readings not stored', ok: report.invalidStored.length === 0, detail: `${report.invalidStored.length} stored${sample(report.invalidStored)}` },
    { name: 'valid readings not rejected', ok: report.unexpectedRejections.length === 0, detail: `${report.unexpectedRejections.length} rejected${sample(report.unexpectedRejections)}` },
  ];
}

export function formatChecks(checks: readonly Check[]): string {
  const failed = checks.filter((c) => !c.ok).length;
  return [...checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`), `${checks.length - failed} passed, ${failed} failed`].join('\n');
}
