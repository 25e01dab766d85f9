import { describe, expect, it } from 'vitest';
import { type NormalizeContext, normalizeReading, type NormalizeResult } from './normalize.js';

const NOW = Date.parse('2026-12-01T15:00:00Z');
const ctx: NormalizeContext = {
  transport: 'http',
  receivedAtMs: NOW,
  limits: { futureToleranceMs: 300_000, maxReadingAgeMs: 365 * 86_400_000 },
  defaultGlucoseMethod: 'meter',
};
const at = '2026-12-01T07:02:00-05:00';

function ok(result: NormalizeResult) {
  if (!result.ok) throw new Error(`expected ok, got ${result.problem.code} at ${result.problem.path}: ${result.problem.message}`);
  return result.draft;
}
function problem(result: NormalizeResult) {
  if (result.ok) throw new Error('expected a rejection');
  return result.problem;
}

describe('normalizeReading: each kind to LOINC and UCUM', () => {
  it('blood pressure: panel code, systolic/diastolic/mean/pulse components in mm[Hg] and /min', () => {
    const d = ok(normalizeReading({ kind: 'blood-pressure', systolic: 16, diastolic: 10.6, mean: 12.4, pulse: 70, unit: 'kPa', measuredAt: at }, ctx));
    expect(d.code).toBe('85354-9');
    expect(d.components.map((c) => [c.name, c.code, c.unit])).toEqual([
      ['systolic', '8480-6', 'mm[Hg]'],
      ['diastolic', '8462-4', 'mm[Hg]'],
      ['mean', '8478-0', 'mm[Hg]'],
      ['pulse', '8867-4', '/min'],
    ]);
    expect(d.components[0]?.value).toBeCloseTo(120.01, 2);
    expect(d.components[3]?.value).toBe(70);
    expect(d.reported).toEqual({ unit: 'kPa', values: { systolic: 16, diastolic: 10.6, mean: 12.4, pulse: 70 } });
    expect(d.measuredAt).toBe(at);
    expect(d.measuredAtMs).toBe(Date.parse('2026-12-01T12:02:00Z'));
    expect(d.utcOffsetMinutes).toBe(-300);
  });

  it.each([
    [{ kind: 'heart-rate', value: 61, unit: 'bpm' }, '8867-4', 61, '/min'],
    [{ kind: 'spo2', value: 97, unit: '%' }, '59408-5', 97, '%'],
    [{ kind: 'body-weight', value: 82.4, unit: 'kg' }, '29463-7', 82.4, 'kg'],
    [{ kind: 'body-weight', value: 181.7, unit: 'lb' }, '29463-7', 82.4176, 'kg'],
    [{ kind: 'body-temperature', value: 100.4, unit: '°F' }, '8310-5', 38, 'Cel'],
    [{ kind: 'blood-glucose', value: 104, unit: 'mg/dL' }, '41653-7', 104, 'mg/dL'],
    [{ kind: 'blood-glucose', value: 7, unit: 'mmol/L', method: 'cgm' }, '99504-3', 126.1092, 'mg/dL'],
    [{ kind: 'respiratory-rate', value: 18, unit: 'breaths/min' }, '9279-1', 18, '/min'],
  ] as const)('%o → %s %d %s', (input, code, value, unit) => {
    const d = ok(normalizeReading({ ...input, measuredAt: at }, ctx));
    expect(d.code).toBe(code);
    expect(d.components[0]).toMatchObject({ name: 'value', code, unit });
    expect(d.components[0]?.value).toBeCloseTo(value, 3);
  });

  it('spo2 carries the pulse as a second component', () => {
    const d = ok(normalizeReading({ kind: 'spo2', value: 93, pulse: 88, unit: '%', measuredAt: at }, ctx));
    expect(d.components.map((c) => [c.name, c.code, c.value, c.unit])).toEqual([
      ['value', '59408-5', 93, '%'],
      ['pulse', '8867-4', 88, '/min'],
    ]);
  });

  it('keeps provenance fields and applies defaults', () => {
    const d = ok(normalizeReading({ kind: 'blood-glucose', value: 140, unit: 'mg/dL', mealContext: 'after-meal', entryMethod: 'manual', setting: 'clinic', sequence: 42, id: 'g-1', measuredAt: at }, ctx));
    expect(d).toMatchObject({ clientId: 'g-1', entryMethod: 'manual', setting: 'clinic', mealContext: 'after-meal', glucoseMethod: 'meter', sequence: 42, transport: 'http' });
    const e = ok(normalizeReading({ kind: 'heart-rate', value: 70, unit: '/min', measuredAt: at }, ctx));
    expect(e).toMatchObject({ clientId: null, entryMethod: 'device', setting: 'home', mealContext: null, glucoseMethod: null, sequence: null });
    const cgm = ok(normalizeReading({ kind: 'blood-glucose', value: 140, unit: 'mg/dL', measuredAt: at }, { ...ctx, defaultGlucoseMethod: 'cgm' }));
    expect(cgm.code).toBe('99504-3');
  });
});

describe('normalizeReading: rejections carry a code and the path of the bad field', () => {
  it.each([
    ['not an object', 42, 'RPM_ERR_READING_INVALID', ''],
    ['array', [], 'RPM_ERR_READING_INVALID', ''],
    ['missing kind', { value: 1, unit: '%', measuredAt: at }, 'RPM_ERR_READING_UNKNOWN_KIND', '/kind'],
    ['unknown kind', { kind: 'mood', value: 1, unit: '%', measuredAt: at }, 'RPM_ERR_READING_UNKNOWN_KIND', '/kind'],
    ['value as string', { kind: 'spo2', value: '97', unit: '%', measuredAt: at }, 'RPM_ERR_READING_INVALID', '/value'],
    ['value NaN-like null', { kind: 'spo2', value: null, unit: '%', measuredAt: at }, 'RPM_ERR_READING_INVALID', '/value'],
    ['missing unit', { kind: 'spo2', value: 97, measuredAt: at }, 'RPM_ERR_READING_INVALID', '/unit'],
    ['missing systolic', { kind: 'blood-pressure', diastolic: 80, unit: 'mmHg', measuredAt: at }, 'RPM_ERR_READING_INVALID', '/systolic'],
    ['bad meal context', { kind: 'blood-glucose', value: 90, unit: 'mg/dL', mealContext: 'brunch', measuredAt: at }, 'RPM_ERR_READING_INVALID', '/mealContext'],
    ['bad client id', { kind: 'spo2', value: 97, unit: '%', id: 'has space', measuredAt: at }, 'RPM_ERR_READING_INVALID', '/id'],
    ['unit of another quantity', { kind: 'body-weight', value: 80, unit: 'mmHg', measuredAt: at }, 'RPM_ERR_READING_UNIT_UNSUPPORTED', '/unit'],
    ['SpO2 above 100', { kind: 'spo2', value: 100.5, unit: '%', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/value'],
    ['weight 2000 kg', { kind: 'body-weight', value: 2000, unit: 'kg', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/value'],
    ['weight 0 lb', { kind: 'body-weight', value: 0, unit: 'lb', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/value'],
    ['temperature 60 °C', { kind: 'body-temperature', value: 60, unit: 'Cel', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/value'],
    ['systolic below diastolic', { kind: 'blood-pressure', systolic: 70, diastolic: 90, unit: 'mmHg', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/systolic'],
    ['mean outside the pressures', { kind: 'blood-pressure', systolic: 120, diastolic: 80, mean: 130, unit: 'mmHg', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/mean'],
    ['pulse 0', { kind: 'spo2', value: 97, pulse: 0, unit: '%', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/pulse'],
    ['heart rate 400', { kind: 'heart-rate', value: 400, unit: '/min', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/value'],
    ['glucose 3000 mg/dL', { kind: 'blood-glucose', value: 3000, unit: 'mg/dL', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/value'],
    ['respiratory rate 0', { kind: 'respiratory-rate', value: 0, unit: '/min', measuredAt: at }, 'RPM_ERR_READING_IMPLAUSIBLE', '/value'],
    ['time without offset', { kind: 'spo2', value: 97, unit: '%', measuredAt: '2026-12-01T07:02:00' }, 'RPM_ERR_READING_TIME_INVALID', '/measuredAt'],
    ['time as a number', { kind: 'spo2', value: 97, unit: '%', measuredAt: 1764590520000 }, 'RPM_ERR_READING_INVALID', '/measuredAt'],
    ['reset device clock', { kind: 'spo2', value: 97, unit: '%', measuredAt: '2000-01-01T00:00:00Z' }, 'RPM_ERR_READING_TIME_TOO_OLD', '/measuredAt'],
  ])('%s', (_name, raw, code, path) => {
    expect(problem(normalizeReading(raw, ctx))).toMatchObject({ code, path });
  });

  it('accepts a time within the clock-skew tolerance and refuses one beyond it', () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(normalizeReading({ kind: 'spo2', value: 97, unit: '%', measuredAt: iso(NOW + 299_000) }, ctx).ok).toBe(true);
    expect(problem(normalizeReading({ kind: 'spo2', value: 97, unit: '%', measuredAt: iso(NOW + 301_000) }, ctx)).code).toBe('RPM_ERR_READING_TIME_IN_FUTURE');
  });

  it('accepts readings days late as normal', () => {
    const d = ok(normalizeReading({ kind: 'body-weight', value: 80, unit: 'kg', measuredAt: '2026-11-24T08:00:00+01:00' }, ctx));
    expect(d.measuredAtMs).toBe(Date.parse('2026-11-24T07:00:00Z'));
  });

  it('accepts values exactly at the plausibility bounds', () => {
    expect(normalizeReading({ kind: 'spo2', value: 100, unit: '%', measuredAt: at }, ctx).ok).toBe(true);
    expect(normalizeReading({ kind: 'body-weight', value: 650, unit: 'kg', measuredAt: at }, ctx).ok).toBe(true);
    expect(normalizeReading({ kind: 'body-weight', value: 650.01, unit: 'kg', measuredAt: at }, ctx).ok).toBe(false);
  });

  it('reports the client id of a rejected reading so the device can match it', () => {
    const r = normalizeReading({ kind: 'spo2', value: 120, unit: '%', id: 'ox-9', measuredAt: at }, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.clientId).toBe('ox-9');
  });
});

describe('normalizeReading: input that names Object.prototype members', () => {
  const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];

  it.each(PROTOTYPE_NAMES)("rejects unit '%s' as unsupported instead of throwing", (unit) => {
    for (const reading of [
      { kind: 'heart-rate', value: 70, unit, measuredAt: at },
      { kind: 'blood-pressure', systolic: 120, diastolic: 80, pulse: 70, unit, measuredAt: at },
      { kind: 'body-temperature', value: 37, unit, measuredAt: at },
    ]) {
      const p = problem(normalizeReading(reading, ctx));
      expect(p).toMatchObject({ code: 'RPM_ERR_READING_UNIT_UNSUPPORTED', path: '/unit' });
    }
  });

  it.each(PROTOTYPE_NAMES)("rejects kind '%s' as unknown", (kind) => {
    expect(problem(normalizeReading({ kind, value: 70, unit: 'bpm', measuredAt: at }, ctx)).code).toBe('RPM_ERR_READING_UNKNOWN_KIND');
  });

  it('never throws, whatever the reading holds', () => {
    const hostile = JSON.parse('{"kind": "heart-rate", "value": 70, "unit": "bpm", "measuredAt": "2026-12-01T07:02:00-05:00", "__proto__": {"unit": "constructor"}}');
    expect(ok(normalizeReading(hostile, ctx)).reported.unit).toBe('bpm');
  });
});
