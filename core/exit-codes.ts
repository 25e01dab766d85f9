/**
 * Exit status of our processes (gateway, worker) (documented in README.md, "Configuration"). Process managers
 * and operators branch on them, so they never change meaning.
 */
export const EXIT_CODES = {
  /** Shut down on SIGTERM/SIGINT with everything drained, committed and written. */
  ok: 0,
  /**
   * Could not start, a second signal, the shutdown deadline passed, or an unexpected error.
   * Work in flight may be unacknowledged (the devices resend it), never acknowledged and lost.
   */
  failed: 1,
  /**
   * Shut down in order — every acknowledged reading is committed, nothing in flight was
   * acknowledged — but some state could not be written because the store failed (a full disk):
   * device presence (last seen, online), or the rules engine's or FHIR delivery's progress, which
   * are caught up from the committed readings at the next start. sysexits EX_TEMPFAIL.
   */
  stateNotSaved: 75,
  /** The configuration is invalid (every problem is printed); sysexits EX_CONFIG. */
  config: 78,
} as const;
