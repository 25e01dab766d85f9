import ucum from '@lhncbc/ucum-lhc';
import { CANONICAL_UNIT, GLUCOSE_MOLECULAR_WEIGHT, type Quantity, ucumCodeOf } from '../core/model/reading-kinds.js';

const utils = ucum.UcumLhcUtils.getInstance();

/** Resolve a device's unit spelling to the UCUM code we accept for this quantity, or undefined. */
export function resolveUnit(quantity: Quantity, unit: string): string | undefined {
  return ucumCodeOf(quantity, unit);
}

type Converter = (value: number) => number;
const converters = new Map<string, Converter>();

function libraryConvert(from: string, to: string, value: number): number {
  const result = utils.convertUnitTo(from, value, to, { molecularWeight: GLUCOSE_MOLECULAR_WEIGHT });
  if (result.status !== 'succeeded' || result.toVal === null) {
    throw new Error(`UCUM cannot convert ${from} to ${to}: ${result.msg.join('; ')}`);
  }
  return result.toVal;
}

/**
 * Build a converter from the UCUM library. Every unit pair we accept is affine
 * (y = a·x + b; temperature has an offset), so the library is asked for the two
 * coefficients once and the result is checked against a third library call.
 * The hot path then costs a multiply-add instead of a unit-string parse.
 */
function buildConverter(from: string, to: string): Converter {
  if (from === to) return (v) => v;
  const b = libraryConvert(from, to, 0);
  const a = libraryConvert(from, to, 1) - b;
  const probe = 123.456;
  const expected = libraryConvert(from, to, probe);
  const affine = (v: number): number => a * v + b;
  if (Math.abs(affine(probe) - expected) > 1e-9 * Math.max(1, Math.abs(expected))) {
    return (v) => libraryConvert(from, to, v);
  }
  return affine;
}

/** Convert `value` from UCUM unit `from` to the canonical unit of `quantity`. */
export function toCanonical(quantity: Quantity, from: string, value: number): number {
  const to = CANONICAL_UNIT[quantity];
  const key = `${from}\u0000${to}`;
  let convert = converters.get(key);
  if (convert === undefined) {
    convert = buildConverter(from, to);
    converters.set(key, convert);
  }
  return roundTo(convert(value), 4);
}

/** Trim binary noise from converted values (120.0102008670737 → 120.0102). */
export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
