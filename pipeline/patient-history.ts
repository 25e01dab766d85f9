import type { ComponentName } from '../core/model/reading-kinds.js';
import type { Reading } from '../core/model/reading.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import type { Observation } from '../rules/verdicts.js';
import { heldFromRules } from './held-readings.js';

export function toObservation(r: Reading): Observation {
  const values: Partial<Record<ComponentName, number>> = {};
  for (const c of r.components) values[c.name] = c.value;
  return { id: r.id, kind: r.kind, measuredAtMs: r.measuredAtMs, values, utcOffsetMinutes: r.utcOffsetMinutes, receivedAtMs: r.receivedAtMs };
}

interface Entry {
  fromMs: number;
  observations: Observation[];
  ids: Set<string>;
}

/**
 * Recent readings per patient for window rules (trends, means, baselines). A cache over the
 * reading store, which stays the source of truth: a miss (or a window reaching further back
 * than what is cached) reloads from the store, so a restart loses nothing. Bounded LRU.
 */
export class PatientHistory {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly readings: ReadingStore,
    private readonly maxPatients = 20_000,
  ) {}

  /**
   * History covering at least [fromMs, now]: readings up to log position `maxSeq` (those already
   * evaluated, or being evaluated now) plus `fresh`, never readings committed after the batch.
   */
  async get(patientId: string, fromMs: number, fresh: readonly Reading[], maxSeq: number): Promise<readonly Observation[]> {
    let entry = this.entries.get(patientId);
    if (entry === undefined || entry.fromMs > fromMs) {
      const rows = await this.readings.queryReadings({ patientId, fromMs, maxSeq, limit: 1_000_000 });
      const observations = rows.filter((r) => !heldFromRules(r)).map(toObservation);
      entry = { fromMs, observations, ids: new Set(observations.map((o) => o.id)) };
    }
    this.entries.delete(patientId);
    this.entries.set(patientId, entry);
    for (const r of fresh) {
      if (entry.ids.has(r.id) || r.measuredAtMs < entry.fromMs || heldFromRules(r)) continue;
      entry.ids.add(r.id);
      insertInOrder(entry.observations, toObservation(r));
    }
    if (this.entries.size > this.maxPatients) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    return entry.observations;
  }

  /** Drop what is older than the longest window still needed, keeping memory flat. */
  trim(patientId: string, keepFromMs: number): void {
    const entry = this.entries.get(patientId);
    if (entry === undefined || entry.fromMs >= keepFromMs) return;
    const cut = entry.observations.findIndex((o) => o.measuredAtMs >= keepFromMs);
    const removed = cut === -1 ? entry.observations.splice(0) : entry.observations.splice(0, cut);
    for (const o of removed) entry.ids.delete(o.id);
    entry.fromMs = keepFromMs;
  }
}

/**
 * Keep the history ordered by measurement time without re-sorting it: a new reading is almost
 * always the newest (appended); a late one goes after any reading of the same time.
 */
function insertInOrder(list: Observation[], o: Observation): void {
  const last = list[list.length - 1];
  if (last === undefined || last.measuredAtMs <= o.measuredAtMs) {
    list.push(o);
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Observation).measuredAtMs <= o.measuredAtMs) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, o);
}
