/**
 * Durable positions of the reading log's followers other than the rules engine (which keeps its
 * cursor with its own writes): the time-series writer today. A follower advances its position only
 * after its work is durable elsewhere, so after a crash it resumes there and redoes at most one
 * batch (its sinks are idempotent).
 *
 * Guarantees: `position` of a name never written is 0; `advance` never moves a position backwards.
 */
export interface ProgressStore {
  position(name: string): Promise<number>;
  advance(name: string, seq: number): Promise<void>;
}
