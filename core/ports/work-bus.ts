/**
 * Work between processes in the distributed mode. Every unit of work (a rule partition, a FHIR
 * destination, the time-series writer, the notification sender, the cluster's timers) has a
 * mailbox; the process holding the unit's lease (`Leases`) consumes it, one job at a time.
 *
 * Jobs are nudges and ids, never data: what to do is always read from the durable store (the
 * reading log, the outbox, the alerts), so a job lost with the bus (a Redis restart without its
 * data) delays work until the holder's next periodic catch-up, and never loses it. Job data carries
 * no PHI: identifiers and positions only.
 */
export type WorkJobData = Readonly<Record<string, string | number | boolean | null>>;

export interface WorkJob {
  readonly name: string;
  readonly data: WorkJobData;
}

export interface WorkPost {
  readonly unit: string;
  readonly job: WorkJob;
  readonly id?: string;
  readonly delayMs?: number;
}

export interface WorkBus {
  /**
   * Posts jobs to units' mailboxes (one round trip for all). `id` makes a post idempotent while its
   * job waits. `delayMs`: the job is handed to the holder only that long from now (a nudge at a due
   * time; the durable record of what is due stays in the store, swept by the holder).
   */
  post(posts: readonly WorkPost[]): Promise<void>;
  /** Runs `handler` for the unit's jobs, one at a time, until the returned closer is called. */
  consume(unit: string, handler: (job: WorkJob) => Promise<void>): Promise<() => Promise<void>>;
  /** Posts `job` to `unit` every `everyMs`, once per tick across the cluster (idempotent: call it again freely). */
  repeat(unit: string, key: string, job: WorkJob, everyMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Events every process of the cluster hears (alert changes for the worklist streams, session ends):
 * fan-out, not work. Messages are ids; receivers read what changed from the store. A process that
 * was cut off from the bus hears `onReconnect` and must treat everything as possibly changed.
 */
export interface ClusterEvents {
  publish(channel: string, message: WorkJobData): Promise<void>;
  subscribe(channel: string, handler: (message: WorkJobData) => void): Promise<void>;
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}
