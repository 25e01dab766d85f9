/**
 * Exclusive ownership of a unit of work across processes (a rule partition, a FHIR destination's
 * delivery, the time-series writer): at most one live holder per name. A holder that dies loses
 * its leases at once (the store ends its session), so another process can take them over.
 *
 * A lease is a hint that keeps work from running twice in the common case; correctness never
 * rests on it alone: writes that must happen once are fenced in the store (a rule partition's
 * cursor moves only from the position its pass started at).
 */
export interface Leases {
  /** Takes the lease if nobody holds it; true when this process holds it afterwards. */
  tryAcquire(name: string): Promise<boolean>;
  release(name: string): Promise<void>;
  /** Names held now. */
  held(): ReadonlySet<string>;
  /** Called with every lease lost at once (the store connection broke); take them again later. */
  onLost(listener: (names: readonly string[]) => void): void;
  close(): Promise<void>;
}

/** Live processes of a role, for sharing units fairly. */
export interface Membership {
  /** Says this process is alive; called periodically. */
  heartbeat(): Promise<void>;
  /** Names of processes of this role seen alive within the liveness window, this one included. */
  live(): Promise<string[]>;
  /** Says this process is leaving (its units are free for others at once). */
  leave(): Promise<void>;
}
