import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStores, type SqliteStores } from '../connectors/sqlite/index.js';
import { type ComponentName, READING_KINDS, type ReadingKind } from '../core/model/reading-kinds.js';
import type { Reading } from '../core/model/reading.js';
import type { ReadingQuery, ReadingStore } from '../core/ports/reading-store.js';
import { lookbackMs, resolveRules } from '../rules/care-plan.js';
import { PROGRAMS, type RuleDefinition } from '../rules/model.js';
import { type Observation, ruleWatches, verdictAt } from '../rules/verdicts.js';
import { makeReading } from '../test/helpers/readings.js';
import { kindLookback, PatientHistory } from './patient-history.js';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
const NOW = Date.parse('2026-12-01T12:00:00Z');

/** Every rule the programs ship, each program resolved on its own (overrides by id differ). */
const SHIPPED_RULES: RuleDefinition[] = PROGRAMS.flatMap((p) => resolveRules({ programs: [p], overrides: {}, extraRules: [], disabledRules: [], overrideReasons: {}, riskTier: 1 }));

const VALUES: Record<ReadingKind, () => Partial<Record<ComponentName, number>>> = {
  'blood-pressure': () => ({ systolic: 100 + rand() * 100, diastolic: 60 + rand() * 60, pulse: 40 + rand() * 100 }),
  'heart-rate': () => ({ value: 35 + rand() * 110 }),
  spo2: () => ({ value: 84 + rand() * 16, pulse: 50 + rand() * 90 }),
  'body-weight': () => ({ value: 80 + rand() * 4 }),
  'body-temperature': () => ({ value: 35 + rand() * 5 }),
  'blood-glucose': () => ({ value: 40 + rand() * 400 }),
  'respiratory-rate': () => ({ value: 6 + rand() * 30 }),
  // ACVPU: 0 alert … 4 unresponsive (staff-recorded).
  consciousness: () => ({ value: Math.floor(rand() * 5) }),
  'supplemental-oxygen': () => ({ value: rand() * 10 }),
};

let seed = 42;
/** Deterministic pseudo-random numbers (a linear congruential generator), so failures repeat. */
function rand(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
}

function reading(patientId: string, kind: ReadingKind, atMs: number, values: Partial<Record<ComponentName, number>> = VALUES[kind]()): Reading {
  const components = Object.entries(values).map(([name, value]) => ({ name: name as ComponentName, code: 'x', value: value as number, unit: '' }));
  return makeReading({ deviceId: `dev-${patientId}`, patientId, kind, measuredAtMs: atMs, measuredAt: new Date(atMs).toISOString(), components, reported: { unit: '', values } });
}

/** The real store, with the limit of every query recorded. */
function recording(store: ReadingStore): { store: ReadingStore; limits: number[] } {
  const limits: number[] = [];
  const wrapped = Object.create(store) as ReadingStore;
  wrapped.queryReadings = async (q: ReadingQuery) => {
    limits.push(q.limit);
    return store.queryReadings(q);
  };
  return { store: wrapped, limits };
}

describe('what the history cache relies on, for every shipped rule', () => {
  it('a rule reads only the kinds it watches, and only within its look-back of the reading judged', () => {
    // A mixed history over 30 days: every kind, irregular times, values across every band.
    const history: Observation[] = [];
    for (let i = 0; i < 1500; i++) {
      const kind = READING_KINDS[Math.floor(rand() * READING_KINDS.length)] as ReadingKind;
      history.push({ id: `o-${i}`, kind, measuredAtMs: NOW - Math.floor(rand() * 30 * D), values: VALUES[kind]() });
    }
    history.sort((a, b) => a.measuredAtMs - b.measuredAtMs);
    let judged = 0;
    for (const rule of SHIPPED_RULES) {
      const back = lookbackMs([rule]);
      for (let i = 0; i < history.length; i += 7) {
        const o = history[i] as Observation;
        if (!ruleWatches(rule, o.kind)) continue;
        const upTo = history.slice(0, i + 1);
        const kept = upTo.filter((h) => ruleWatches(rule, h.kind) && h.measuredAtMs >= o.measuredAtMs - back);
        expect(verdictAt(rule, o, kept), `${rule.id} at ${o.id}`).toEqual(verdictAt(rule, o, upTo));
        judged++;
      }
    }
    expect(judged).toBeGreaterThan(500);
  });

  it('gives each kind the longest look-back of the rules watching it, and leaves unwatched kinds out', () => {
    const diabetes = resolveRules({ programs: ['diabetes'], overrides: {}, extraRules: [], disabledRules: [], overrideReasons: {}, riskTier: 1 });
    // Glucose rules are thresholds and a missing-data rule: a CGM patient keeps no glucose window.
    // (The universal safety rules, NEWS2 among them, watch vital signs in every program.)
    const lookback = kindLookback(diabetes);
    expect(lookback.get('blood-glucose')).toBe(0);
    expect(lookback.get('blood-pressure')).toBe(60 * MIN);
    expect(lookback.has('body-weight')).toBe(false);
    const general = kindLookback(resolveRules({ programs: ['general'], overrides: {}, extraRules: [], disabledRules: [], overrideReasons: {}, riskTier: 1 }));
    expect(general.get('spo2')).toBe(14 * D);
    expect(general.get('body-temperature')).toBe(60 * MIN);
    expect(general.has('body-weight')).toBe(false);
  });
});

describe('PatientHistory over a real SQLite store', () => {
  let stores: SqliteStores | undefined;
  afterEach(async () => {
    await stores?.close();
    stores = undefined;
  });
  const open = (): SqliteStores => (stores = createSqliteStores({ path: ':memory:', synchronous: 'NORMAL' }));
  const general = kindLookback(resolveRules({ programs: ['general'], overrides: {}, extraRules: [], disabledRules: [], overrideReasons: {}, riskTier: 1 }));
  const diabetes = kindLookback(resolveRules({ programs: ['general', 'diabetes'], overrides: {}, extraRules: [], disabledRules: [], overrideReasons: {}, riskTier: 1 }));

  it('loads at most perKind readings per kind, the newest, and never asks the store for more', async () => {
    const s = open();
    // A continuous oximeter: 5,000 SpO2 readings in the last 10 days, in the 14-day baseline window.
    const rs = Array.from({ length: 5000 }, (_, i) => reading('p-ox', 'spo2', NOW - 10 * D + i * 2 * MIN));
    await s.readings.commit({ readings: rs, rejections: [] });
    const { store, limits } = recording(s.readings);
    const history = new PatientHistory(store, { perKind: 500, total: 10_000 });
    const fresh = reading('p-ox', 'spo2', NOW);
    await s.readings.commit({ readings: [fresh], rejections: [] });
    const got = await history.get('p-ox', NOW, general, [fresh], Number.MAX_SAFE_INTEGER);
    const spo2 = got.filter((o) => o.kind === 'spo2');
    expect(spo2).toHaveLength(500);
    expect(spo2.at(-1)?.id).toBe(fresh.id);
    expect(spo2[0]?.measuredAtMs).toBe((rs[5000 - 499] as Reading).measuredAtMs);
    expect(Math.max(...limits)).toBe(500);
    // Ascending by measurement time, as the rules require.
    expect(got.every((o, i) => i === 0 || (got[i - 1] as Observation).measuredAtMs <= o.measuredAtMs)).toBe(true);

    // New readings keep the newest perKind: the oldest goes, nothing is reloaded.
    const calls = limits.length;
    const next = reading('p-ox', 'spo2', NOW + MIN);
    await s.readings.commit({ readings: [next], rejections: [] });
    const again = await history.get('p-ox', NOW + MIN, general, [next], Number.MAX_SAFE_INTEGER);
    expect(again.filter((o) => o.kind === 'spo2')).toHaveLength(500);
    expect(again.at(-1)?.id).toBe(next.id);
    expect(limits.length).toBe(calls);
    expect(history.size).toBe(500);
  });

  it('keeps per kind only what the rules watching it look at: a CGM keeps hours of glucose, not the plan’s 14 days', async () => {
    const s = open();
    // Two weeks of a CGM every 5 minutes, and an SpO2 a day.
    const cgm = Array.from({ length: 14 * 288 }, (_, i) => reading('p-cgm', 'blood-glucose', NOW - 14 * D + i * 5 * MIN));
    const spo2 = Array.from({ length: 14 }, (_, i) => reading('p-cgm', 'spo2', NOW - 14 * D + i * D + H));
    await s.readings.commit({ readings: [...cgm, ...spo2], rejections: [] });
    const history = new PatientHistory(s.readings, { perKind: 10_000, total: 100_000 });
    const fresh = reading('p-cgm', 'blood-glucose', NOW);
    await s.readings.commit({ readings: [fresh], rejections: [] });
    const got = await history.get('p-cgm', NOW, diabetes, [fresh], Number.MAX_SAFE_INTEGER);
    // Glucose rules look at no window: only readings from the one judged on (a late reading's newer neighbours).
    expect(got.filter((o) => o.kind === 'blood-glucose').map((o) => o.id)).toEqual([fresh.id]);
    expect(got.filter((o) => o.kind === 'spo2')).toHaveLength(14);
    // The CGM goes on: an hour of readings (and at most 15 min more) is kept behind the newest for late arrivals.
    let last = NOW;
    for (let i = 1; i <= 3 * 288; i++) {
      last = NOW + i * 5 * MIN;
      const r = reading('p-cgm', 'blood-glucose', last);
      await s.readings.commit({ readings: [r], rejections: [] });
      await history.get('p-cgm', last, diabetes, [r], Number.MAX_SAFE_INTEGER);
      history.trim('p-cgm', diabetes, last);
    }
    expect(history.size).toBeLessThanOrEqual(12 + 3 + 14);
  });

  it('holds the total budget by evicting the least recently evaluated patients, who reload correctly', async () => {
    const s = open();
    for (let p = 0; p < 20; p++) {
      await s.readings.commit({ readings: Array.from({ length: 100 }, (_, i) => reading(`p-${p}`, 'spo2', NOW - 5 * D + i * H)), rejections: [] });
    }
    const history = new PatientHistory(s.readings, { perKind: 200, total: 1000 });
    const firstLoad = (await history.get('p-0', NOW, general, [], Number.MAX_SAFE_INTEGER)).map((o) => o.id);
    expect(firstLoad).toHaveLength(100);
    for (let p = 1; p < 20; p++) await history.get(`p-${p}`, NOW, general, [], Number.MAX_SAFE_INTEGER);
    expect(history.size).toBeLessThanOrEqual(1000);
    expect(history.patients).toBe(10);
    // What loading a patient will cost: nothing when cached, what it held when evicted, one full kind when never seen.
    expect(history.loadCost('p-19')).toBe(0);
    expect(history.loadCost('p-0')).toBe(100);
    expect(history.loadCost('p-never')).toBe(200);
    // p-0 was evicted; asked again, it is loaded from the store, the same as before.
    expect((await history.get('p-0', NOW, general, [], Number.MAX_SAFE_INTEGER)).map((o) => o.id)).toEqual(firstLoad);
    expect(history.loadCost('p-0')).toBe(0);
    expect(history.size).toBeLessThanOrEqual(1000);
  });

  it('loads only what the log held up to the batch, adds the fresh readings once, and reloads a window reaching further back', async () => {
    const s = open();
    const early = reading('p-w', 'spo2', NOW - 3 * D);
    const [committed] = await s.readings.commit({ readings: [early], rejections: [] });
    const maxSeq = committed?.status === 'accepted' ? (committed.seq ?? 0) : 0;
    const later = reading('p-w', 'spo2', NOW - D);
    await s.readings.commit({ readings: [later], rejections: [] });
    const history = new PatientHistory(s.readings);
    // The batch ends at `early`: `later`, committed after it, is not part of this history.
    expect((await history.get('p-w', NOW - 3 * D, general, [early], maxSeq)).map((o) => o.id)).toEqual([early.id]);
    expect((await history.get('p-w', NOW - D, general, [later], maxSeq + 1)).map((o) => o.id)).toEqual([early.id, later.id]);
    // A late reading two weeks back: its baseline window reaches before what is cached, so that part is loaded.
    const old = reading('p-w', 'spo2', NOW - 20 * D);
    const older = reading('p-w', 'spo2', NOW - 30 * D);
    await s.readings.commit({ readings: [older, old], rejections: [] });
    expect((await history.get('p-w', NOW - 20 * D, general, [old], maxSeq + 3)).map((o) => o.id)).toEqual([older.id, old.id, early.id, later.id]);
  });
});
