import type { AuditEntry, AuditHead, ChainVerification, SealedAuditEntry } from '../audit/entry.js';

export type { AuditEntry, AuditHead, ChainVerification, SealedAuditEntry } from '../audit/entry.js';

/**
 * Append-only, tamper-evident record of who read patient data or changed state (HIPAA
 * §164.312(b)). Entries never hold PHI values, only references (ids) to what was touched.
 *
 * Guarantees (checked by core/contract/audit-log.contract.ts, run by every adapter):
 * - Append-only: entries are never changed or removed; the store itself refuses UPDATE and
 *   DELETE of its rows (SQLite: triggers; a PostgreSQL adapter: triggers plus no UPDATE/DELETE
 *   grant for the gateway's role).
 * - Hash-chained: entry n carries the SHA-256 of entry n-1 (`prevHash`) and its own hash over
 *   its content and `prevHash` (core/audit/chain.ts). Sequence numbers are contiguous from 1, so
 *   a removed, inserted, reordered or edited entry breaks the chain at the first entry after it;
 *   `verify` names that entry. Removing the newest entries is caught by comparing with a head
 *   kept elsewhere (`head`, an anchor), which no chain can do by itself.
 * - Ordered: `seq` follows the order of `record` calls; `record` resolves after the entry is
 *   durable.
 * - Per-patient accounting: `list({ subjectId: 'patient:<id>' })` finds entries about that
 *   patient as the subject and entries that disclosed it among `patientIds` (a worklist read).
 */
export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  list(options: { limit: number; subjectId?: string; beforeSeq?: number }): Promise<SealedAuditEntry[]>;
  /** Oldest first, from after `afterSeq` (0 = the beginning): export and verification. */
  range(options: { afterSeq: number; limit: number }): Promise<SealedAuditEntry[]>;
  /** The newest entry's position and hash, or null while the log is empty. */
  head(): Promise<AuditHead | null>;
  /** Recomputes the whole chain; names the first entry that does not verify. */
  verify(): Promise<ChainVerification>;
}
