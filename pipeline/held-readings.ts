import type { Reading } from '../core/model/reading.js';

/**
 * The one rule that keeps stored readings away from the rules engine: a reading whose user the
 * device could not tell (entry method `ambiguous-user`, e.g. a Withings scale's `attrib` 1: maybe
 * the patient, maybe someone else in the home) is stored and shown, but judged only once a nurse
 * confirms it is the patient's; one a nurse said is someone else's is never judged. Neither
 * enters a patient's history, so no trend, mean or baseline is computed from them either.
 *
 * Used by the alerting service wherever readings enter it (the log pass, late attribution, the
 * history loaded from the store); a confirmation re-enters through `evaluateConfirmed`.
 */
export function heldFromRules(reading: Pick<Reading, 'flags'>): boolean {
  return reading.flags.includes('user-unconfirmed') || reading.flags.includes('user-rejected');
}
