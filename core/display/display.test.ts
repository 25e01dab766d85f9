import ucum from '@lhncbc/ucum-lhc';
import { describe, expect, it } from 'vitest';
import { GLUCOSE_MOLECULAR_WEIGHT } from '../model/reading-kinds.js';
import { describeFinding, formatTime, formatValues, renderTemplate } from './describe.js';
import { DEFAULT_DISPLAY, type DisplayPrefs, displayPrefsPatch, effectivePrefs, formatQuantity, toDisplay } from './units.js';

const US: DisplayPrefs = { weightUnit: '[lb_av]', temperatureUnit: '[degF]', glucoseUnit: 'mg/dL', timeZone: 'America/New_York' };
const UK: DisplayPrefs = { weightUnit: 'kg', temperatureUnit: 'Cel', glucoseUnit: 'mmol/L', timeZone: 'Europe/London' };
const utils = ucum.UcumLhcUtils.getInstance();
const viaUcum = (from: string, to: string, v: number): number => {
  const r = utils.convertUnitTo(from, v, to, { molecularWeight: GLUCOSE_MOLECULAR_WEIGHT });
  if (r.status !== 'succeeded' || r.toVal === null) throw new Error(r.msg.join('; '));
  return r.toVal;
};

describe('display conversions', () => {
  it.each([
    ['mass', 'kg', '[lb_av]', 81.4],
    ['temperature', 'Cel', '[degF]', 38.7],
    ['glucose', 'mg/dL', 'mmol/L', 50.4437],
  ] as const)('agree with the UCUM library for %s (%s → %s)', (quantity, from, to, v) => {
    expect(toDisplay(quantity, v, to)).toBeCloseTo(viaUcum(from, to, v), 9);
  });

  it('converts a temperature difference without the offset', () => {
    expect(toDisplay('temperature', 1, '[degF]', true)).toBeCloseTo(1.8, 12);
  });

  it('shows every value with its unit at sensible precision', () => {
    expect(formatQuantity('mass', 1.5422, US, { delta: true, signed: true })).toBe('+3.4 lb');
    expect(formatQuantity('mass', 81.4, DEFAULT_DISPLAY)).toBe('81.4 kg');
    expect(formatQuantity('temperature', 38.72, US)).toBe('101.7 °F');
    expect(formatQuantity('temperature', 38.72, DEFAULT_DISPLAY)).toBe('38.7 °C');
    // A device sent 2.8 mmol/L: stored as 50.4437 mg/dL, shown as the clinic reads glucose.
    expect(formatQuantity('glucose', 50.4437, UK)).toBe('2.8 mmol/L');
    expect(formatQuantity('glucose', 50.4437, US)).toBe('50 mg/dL');
    expect(formatQuantity('percent', 93, US)).toBe('93 %');
    expect(formatQuantity('pressure', 182.4, US)).toBe('182 mmHg');
  });

  it('layers the staff member’s choice over the organization’s over the defaults', () => {
    expect(effectivePrefs({ weightUnit: '[lb_av]', timeZone: 'America/Chicago' }, { timeZone: 'America/Denver' })).toEqual({
      weightUnit: '[lb_av]',
      temperatureUnit: 'Cel',
      glucoseUnit: 'mg/dL',
      timeZone: 'America/Denver',
    });
    expect(effectivePrefs(null, undefined)).toEqual(DEFAULT_DISPLAY);
  });

  it('accepts only IANA time zones and the units it can show', () => {
    expect(displayPrefsPatch.safeParse({ timeZone: 'America/New_York' }).success).toBe(true);
    expect(displayPrefsPatch.safeParse({ timeZone: 'Mars/Olympus' }).success).toBe(false);
    expect(displayPrefsPatch.safeParse({ weightUnit: 'stone' }).success).toBe(false);
    expect(displayPrefsPatch.safeParse({ colour: 'blue' }).success).toBe(false);
  });
});

describe('findings as a nurse reads them', () => {
  const at = Date.UTC(2026, 11, 4, 13, 59, 57);

  it('gives times in the clinic’s zone with the zone shown, never a bare UTC string', () => {
    expect(formatTime(at, US)).toBe('Fri, Dec 4, 08:59 EST');
    expect(formatTime(at, UK)).toBe('Fri, Dec 4, 13:59 GMT');
    expect(describeFinding({ type: 'missing', kind: 'body-weight', lastAtMs: at, hours: 48 }, US)).toBe('No weight since Fri, Dec 4, 08:59 EST (expected every 48 h)');
  });

  it('shows a weight change in the reader’s units, against the reading it compares with', () => {
    const change = { type: 'change', kind: 'body-weight', component: 'value', delta: 1.5422, from: 80, fromAtMs: at, to: 81.5422, windowHours: 22 } as const;
    expect(describeFinding(change, US)).toBe('Weight up 3.4 lb in 22 h: 176.4 lb (Fri, Dec 4, 08:59 EST) → 179.8 lb');
    expect(describeFinding(change, DEFAULT_DISPLAY)).toBe('Weight up 1.5 kg in 22 h: 80.0 kg (Fri, Dec 4, 13:59 UTC) → 81.5 kg');
  });

  it('says which blood-pressure component breached, and where a pulse came from', () => {
    expect(describeFinding({ type: 'reading', kind: 'blood-pressure', values: { systolic: 180, diastolic: 100, pulse: 84 }, breached: ['systolic'] }, US)).toBe(
      'BP 180/100 mmHg, pulse 84 /min — systolic past the limit',
    );
    expect(describeFinding({ type: 'reading', kind: 'blood-pressure', values: { systolic: 150, diastolic: 122 }, breached: ['systolic', 'diastolic'] }, US)).toBe(
      'BP 150/122 mmHg — systolic and diastolic past the limit',
    );
    expect(describeFinding({ type: 'reading', kind: 'spo2', values: { value: 97, pulse: 150 }, breached: ['pulse'] }, US)).toBe('SpO2 97 %, pulse 150 /min (counted by the oximeter)');
    expect(describeFinding({ type: 'reading', kind: 'body-temperature', values: { value: 38.72 }, breached: ['value'] }, US)).toBe('Temperature 101.7 °F');
  });

  it('names staff-recorded observations in words', () => {
    expect(formatValues('consciousness', { value: 2 }, US)).toBe('Consciousness: Responds to voice');
    expect(formatValues('supplemental-oxygen', { value: 0 }, US)).toBe('Supplemental oxygen: room air');
    expect(formatValues('supplemental-oxygen', { value: 2 }, US)).toBe('Supplemental oxygen: oxygen 2.0 L/min');
  });

  it('describes a home mean with how many days and readings it rests on', () => {
    expect(describeFinding({ type: 'mean', kind: 'blood-pressure', means: { systolic: 134.2, diastolic: 82.6 }, breached: ['systolic', 'diastolic'], days: 5, readings: 12, windowDays: 7 }, US)).toBe(
      '7-day mean 134/83 mmHg (12 readings on 5 days) — systolic and diastolic mean past the target',
    );
  });

  it('renders quantities in action lines in the reader’s units', () => {
    expect(renderTemplate('check ketones above {{glucose:240}}', UK)).toBe('check ketones above 13.3 mmol/L');
    expect(renderTemplate('check ketones above {{glucose:240}}', US)).toBe('check ketones above 240 mg/dL');
  });
});
