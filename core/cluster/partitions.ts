/**
 * Rule partitions: the distributed mode shares patients among rule workers by a stable hash of
 * the patient id, so each patient's readings are judged by one worker at a time, in log order.
 * The same hash is computed by the database (PostgreSQL `rpm_patient_hash`, a migration), so a
 * worker can read only its partitions' readings; a test checks that both agree.
 */

/** One partition of the rules engine's work: patients whose hash modulo `count` is `index`. */
export interface RulePartition {
  readonly index: number;
  readonly count: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** FNV-1a (32-bit) of the id's UTF-8 bytes, as a non-negative 31-bit integer (fits int4). */
export function patientHash(patientId: string): number {
  let h = FNV_OFFSET;
  for (const byte of utf8.encode(patientId)) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME);
  }
  return (h >>> 0) & 0x7fffffff;
}

export function partitionOf(patientId: string, count: number): number {
  return patientHash(patientId) % count;
}

export function inPartition(patientId: string, p: RulePartition): boolean {
  return partitionOf(patientId, p.count) === p.index;
}

/** The lease name of a partition (one holder at a time across the cluster). */
export const partitionLeaseName = (p: RulePartition): string => `rules:${p.count}:${p.index}`;

export function allPartitions(count: number): RulePartition[] {
  return Array.from({ length: count }, (_, index) => ({ index, count }));
}
