import { createHash } from 'node:crypto';
import type { AuditEntry, AuditHead, BrokenLinkReason, ChainVerification, SealedAuditEntry } from './entry.js';

export type { BrokenLinkReason, ChainVerification } from './entry.js';

/**
 * The audit log's hash chain, shared by every store and by the CLI's independent verifier.
 *
 * hash(n) = SHA-256 of the canonical JSON of [version, seq, atMs, actor, action, subject, outcome,
 * sourceIp, details as sorted [key, value] pairs, patientIds sorted, prevHash], hex. Entry 1
 * chains to GENESIS_HASH. Canonical means one spelling per content: fixed field order, sorted
 * detail keys, sorted patient ids, JSON numbers as JavaScript prints them.
 */
export const GENESIS_HASH = '0'.repeat(64);
const CHAIN_VERSION = 'rpm-audit-v1';

type Content = Pick<AuditEntry, 'atMs' | 'actor' | 'action' | 'subject' | 'outcome' | 'sourceIp' | 'details'> & { readonly patientIds?: readonly string[] };

export function canonicalAuditContent(seq: number, entry: Content, prevHash: string): string {
  const details = entry.details === null ? null : Object.keys(entry.details).sort().map((k) => [k, (entry.details as Record<string, unknown>)[k]]);
  const patients = [...(entry.patientIds ?? [])].sort();
  return JSON.stringify([CHAIN_VERSION, seq, entry.atMs, entry.actor, entry.action, entry.subject, entry.outcome, entry.sourceIp, details, patients, prevHash]);
}

export function auditHash(seq: number, entry: Content, prevHash: string): string {
  return createHash('sha256').update(canonicalAuditContent(seq, entry, prevHash)).digest('hex');
}

/** Seals the next entry after `head` (null: the first entry). */
export function seal(head: AuditHead | null, entry: AuditEntry): SealedAuditEntry {
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? GENESIS_HASH;
  const patientIds = [...new Set(entry.patientIds ?? [])].sort();
  // Exactly what a store reads back (keys with undefined dropped, NaN as null), so the hash
  // computed now is the hash recomputed later.
  const details = entry.details === null ? null : (JSON.parse(JSON.stringify(entry.details)) as AuditEntry['details']);
  const sealed = { ...entry, details, patientIds };
  return { ...sealed, seq, prevHash, hash: auditHash(seq, sealed, prevHash) };
}

/**
 * Verifies a chain page by page: feed entries oldest first with `add`, then `finish`. Keeps
 * only the previous link in memory, so a log of any length verifies in constant memory.
 */
export class ChainVerifier {
  private last: AuditHead | null = null;
  private count = 0;
  private broken: Extract<ChainVerification, { ok: false }> | undefined;

  /** Returns false once the chain is broken (later entries are not looked at). */
  add(entry: SealedAuditEntry): boolean {
    if (this.broken !== undefined) return false;
    const expectedSeq = (this.last?.seq ?? 0) + 1;
    const expectedPrev = this.last?.hash ?? GENESIS_HASH;
    if (entry.seq !== expectedSeq) {
      return this.fail(entry.seq, 'sequence-gap', `entry ${entry.seq} follows entry ${expectedSeq - 1}: entries ${expectedSeq}..${entry.seq - 1} are missing`);
    }
    if (entry.prevHash !== expectedPrev) {
      return this.fail(entry.seq, 'previous-hash-mismatch', `entry ${entry.seq} does not link to entry ${entry.seq - 1} (an entry before it was changed, removed or inserted)`);
    }
    if (auditHash(entry.seq, entry, entry.prevHash) !== entry.hash) {
      return this.fail(entry.seq, 'content-hash-mismatch', `entry ${entry.seq} was changed after it was written`);
    }
    this.last = { seq: entry.seq, hash: entry.hash };
    this.count++;
    return true;
  }

  /** `anchor`: a head recorded elsewhere earlier; the chain must contain it. */
  finish(anchor?: AuditHead): ChainVerification {
    if (this.broken !== undefined) return this.broken;
    if (anchor !== undefined && (this.last === null || this.last.seq < anchor.seq)) {
      return {
        ok: false,
        entries: this.count,
        brokenAt: (this.last?.seq ?? 0) + 1,
        reason: 'anchor-mismatch',
        message: `the log ends at entry ${this.last?.seq ?? 0}, before the anchored entry ${anchor.seq}: newer entries were removed`,
      };
    }
    return { ok: true, entries: this.count, head: this.last };
  }

  /** Check an anchor against an entry as it is added (call before `add` of that entry). */
  checkAnchor(entry: SealedAuditEntry, anchor: AuditHead): boolean {
    if (this.broken !== undefined || entry.seq !== anchor.seq || entry.hash === anchor.hash) return this.broken === undefined;
    return this.fail(entry.seq, 'anchor-mismatch', `entry ${entry.seq} differs from the anchored hash: the log was rewritten`);
  }

  private fail(seq: number, reason: BrokenLinkReason, message: string): false {
    this.broken = { ok: false, entries: this.count, brokenAt: seq, reason, message };
    return false;
  }
}

/**
 * Verifies a whole log read oldest first, page by page (`range`: the AuditLog method of that
 * name), in constant memory: what every store's `verify` does.
 */
export async function verifyByPages(range: (options: { afterSeq: number; limit: number }) => Promise<readonly SealedAuditEntry[]>, pageSize = 2000): Promise<ChainVerification> {
  const verifier = new ChainVerifier();
  let after = 0;
  for (;;) {
    const page = await range({ afterSeq: after, limit: pageSize });
    for (const entry of page) if (!verifier.add(entry)) return verifier.finish();
    if (page.length < pageSize) return verifier.finish();
    after = (page[page.length - 1] as SealedAuditEntry).seq;
  }
}

/** Parses an anchor written as `<seq>:<hash>`. */
export function parseAnchor(text: string): AuditHead | undefined {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(text.trim());
  return m === null ? undefined : { seq: Number(m[1]), hash: m[2] as string };
}
