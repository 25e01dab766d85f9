import { z } from 'zod';
import { CANONICAL_UNIT, type Quantity } from '../model/reading-kinds.js';

/**
 * How values are shown to people: the organization's choice of units and time zone, which a
 * staff member may override for herself. Values are stored and judged in canonical UCUM units
 * (kg, Cel, mg/dL, mm[Hg], %, /min); only what a person reads is converted.
 */
export const WEIGHT_UNITS = ['kg', '[lb_av]'] as const;
export const TEMPERATURE_UNITS = ['Cel', '[degF]'] as const;
export const GLUCOSE_UNITS = ['mg/dL', 'mmol/L'] as const;

/** A time zone the runtime knows (IANA name, e.g. America/New_York). */
export const timeZoneName = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'an IANA time zone such as America/New_York');

export const displayPrefsInput = z
  .object({
    weightUnit: z.enum(WEIGHT_UNITS).describe('kg or [lb_av] (pounds)'),
    temperatureUnit: z.enum(TEMPERATURE_UNITS).describe('Cel or [degF]'),
    glucoseUnit: z.enum(GLUCOSE_UNITS).describe('mg/dL or mmol/L'),
    timeZone: timeZoneName.describe('IANA time zone of the clinic, e.g. America/Chicago'),
  })
  .strict();
export type DisplayPrefs = z.infer<typeof displayPrefsInput>;
/** A partial set: what an organization or a staff member chose; the rest comes from above. */
export const displayPrefsPatch = displayPrefsInput.partial().strict();
export type DisplayPrefsPatch = z.infer<typeof displayPrefsPatch>;

/** What a gateway shows before anyone chooses: SI units and UTC, each always labelled. */
export const DEFAULT_DISPLAY: DisplayPrefs = { weightUnit: 'kg', temperatureUnit: 'Cel', glucoseUnit: 'mg/dL', timeZone: 'UTC' };

/** Organization settings over the defaults, then the staff member's own over those. */
export function effectivePrefs(...layers: readonly (DisplayPrefsPatch | null | undefined)[]): DisplayPrefs {
  let prefs: DisplayPrefs = DEFAULT_DISPLAY;
  for (const layer of layers) {
    if (layer === null || layer === undefined) continue;
    prefs = {
      weightUnit: layer.weightUnit ?? prefs.weightUnit,
      temperatureUnit: layer.temperatureUnit ?? prefs.temperatureUnit,
      glucoseUnit: layer.glucoseUnit ?? prefs.glucoseUnit,
      timeZone: layer.timeZone ?? prefs.timeZone,
    };
  }
  return prefs;
}

/** The display unit (UCUM code) of a quantity under these preferences. */
export function displayUnitOf(quantity: Quantity, prefs: DisplayPrefs): string {
  switch (quantity) {
    case 'mass':
      return prefs.weightUnit;
    case 'temperature':
      return prefs.temperatureUnit;
    case 'glucose':
      return prefs.glucoseUnit;
    default:
      return CANONICAL_UNIT[quantity];
  }
}

/**
 * Exact definitions (not measurements): 1 [lb_av] = 0.45359237 kg; °F = °C × 9/5 + 32; glucose
 * mmol/L = mg/dL × 10 / 180.156 (its molar mass, the same one the ingest conversion gives UCUM).
 * pipeline/units.test.ts checks these against the UCUM library.
 */
const LB_PER_KG = 1 / 0.45359237;
const MMOL_PER_MG_DL = 10 / 180.156;

/** A canonical value in the display unit; `delta` converts a difference (no temperature offset). */
export function toDisplay(quantity: Quantity, canonical: number, unit: string, delta = false): number {
  if (quantity === 'mass' && unit === '[lb_av]') return canonical * LB_PER_KG;
  if (quantity === 'temperature' && unit === '[degF]') return delta ? canonical * 1.8 : canonical * 1.8 + 32;
  if (quantity === 'glucose' && unit === 'mmol/L') return canonical * MMOL_PER_MG_DL;
  return canonical;
}

/** Decimals people expect per display unit: 182 mmHg, 81.4 kg, 179.5 lb, 38.7 °C, 101.7 °F, 50 mg/dL, 2.8 mmol/L. */
export function decimalsOf(unit: string): number {
  switch (unit) {
    case 'kg':
    case '[lb_av]':
    case 'Cel':
    case '[degF]':
    case 'mmol/L':
    case 'L/min':
      return 1;
    default:
      return 0;
  }
}

/** UCUM codes as people write them. */
export function unitSymbol(ucum: string): string {
  switch (ucum) {
    case 'mm[Hg]':
      return 'mmHg';
    case 'Cel':
      return '°C';
    case '[degF]':
      return '°F';
    case '[lb_av]':
      return 'lb';
    case '/min':
      return '/min';
    default:
      return ucum;
  }
}

function fixed(v: number, decimals: number): string {
  const f = 10 ** decimals;
  const r = Math.round(v * f) / f;
  // -0 reads oddly; whole numbers keep their decimal so 80.0 kg does not look like a rounded 80.
  return (Object.is(r, -0) ? 0 : r).toFixed(decimals);
}

/** Display text of a number in a unit, without the unit: "81.4", "182", "2.8". */
export function formatNumber(value: number, unit: string): string {
  return fixed(value, decimalsOf(unit));
}

/** "81.4 kg", "179.5 lb", "101.7 °F", "93 %", "18 /min". `signed` adds + to positive deltas. */
export function formatQuantity(quantity: Quantity, canonical: number, prefs: DisplayPrefs, options: { delta?: boolean; signed?: boolean } = {}): string {
  const unit = displayUnitOf(quantity, prefs);
  const v = toDisplay(quantity, canonical, unit, options.delta === true);
  const text = formatNumber(v, unit);
  const sign = options.signed === true && Number(text) > 0 ? '+' : '';
  const symbol = unitSymbol(unit);
  return `${sign}${text}${symbol === '%' ? ' %' : ` ${symbol}`}`;
}
