/**
 * Durable delayed jobs (visit reminders, and whatever else must happen at a time even across a
 * restart): a table of jobs with a due time. Payloads hold references only, never PHI (an
 * appointment id, which reminder), so a job row discloses nothing.
 *
 * Guarantees (checked by core/contract/scheduling-store.contract.ts):
 * - `schedule` is idempotent on the job id (the second write of an id changes nothing).
 * - `claimDue` hands each due job to one claimer at a time: it becomes `running` under the
 *   claimer's lease; a job whose lease ran out (the claimer died) is due again. Concurrent
 *   claimers never get the same job.
 * - `complete` / `retry` apply only while the claimer still holds the lease (false otherwise).
 * - Cancelled and done jobs never run again; rows are kept (what was sent, when).
 * - `releaseAll` returns every running job to pending (the single process at start: whatever it
 *   held before a crash is its own and runs again at once instead of waiting out the lease).
 */
export interface DelayedJobs {
  schedule(jobs: readonly NewDelayedJob[]): Promise<void>;
  cancelGroup(group: string, atMs: number): Promise<number>;
  claimDue(options: { readonly nowMs: number; readonly limit: number; readonly owner: string; readonly leaseMs: number; readonly kinds?: readonly string[] }): Promise<DelayedJob[]>;
  complete(id: string, owner: string, outcome: { readonly atMs: number; readonly result: string }): Promise<boolean>;
  retry(id: string, owner: string, outcome: { readonly atMs: number; readonly nextAtMs: number; readonly error: string; readonly dead: boolean }): Promise<boolean>;
  /** When the earliest pending job is due (or a running one's lease ends), if any. */
  nextDueAt(): Promise<number | undefined>;
  releaseAll(): Promise<number>;
  list(query: { readonly group?: string; readonly limit: number }): Promise<DelayedJob[]>;
}

export type DelayedJobStatus = 'pending' | 'running' | 'done' | 'cancelled' | 'dead';

export interface NewDelayedJob {
  /** Unique and deterministic (e.g. `reminder:<appointment>:<version>:24h`), so scheduling twice is harmless. */
  readonly id: string;
  readonly kind: string;
  /** Jobs cancelled together (an appointment's reminders). */
  readonly group: string;
  /** References only, never PHI. */
  readonly payload: Readonly<Record<string, string | number>>;
  readonly dueAtMs: number;
  readonly createdAtMs: number;
}

export interface DelayedJob extends NewDelayedJob {
  readonly status: DelayedJobStatus;
  readonly attempts: number;
  readonly leaseOwner: string | null;
  readonly leaseUntilMs: number | null;
  readonly finishedAtMs: number | null;
  readonly result: string | null;
  readonly lastError: string | null;
}
