import type { GuardProtocol } from './guard.js';

/**
 * The regression guard fails when our CPU µs per acknowledged reading exceeds the same-run bare
 * peer's by more than this factor. How these were chosen, and how to change them, is in
 * benchmarks/README.md ("Regression guard"): the highest ratio seen over several guard runs on
 * the 2-core development machine while other work ran, × 1.5.
 */
export const GUARD_MAX_RATIO: Readonly<Record<GuardProtocol, number>> = {
  mqtt: 10,
  'http-single': 10,
};
