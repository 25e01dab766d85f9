/** The audit log's records (the AuditLog port, core/ports/audit-log.ts) and the result of verifying its chain. */

export interface AuditEntry {
  readonly atMs: number;
  /** e.g. `admin`, `staff:<id>`, `device:<id>`. */
  readonly actor: string;
  /** e.g. `readings.read`, `device.revoke`. */
  readonly action: string;
  /** What was touched, e.g. `patient:p-1`. */
  readonly subject: string;
  readonly outcome: 'success' | 'denied' | 'error';
  readonly sourceIp: string | null;
  readonly details: Readonly<Record<string, string | number | boolean | null>> | null;
  /** Patients whose data this access disclosed besides the subject (a worklist, a device list). */
  readonly patientIds?: readonly string[];
}

/** An entry as stored: its position in the chain, the previous entry's hash and its own. */
export interface SealedAuditEntry extends AuditEntry {
  readonly seq: number;
  readonly patientIds: readonly string[];
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

export type BrokenLinkReason = 'sequence-gap' | 'previous-hash-mismatch' | 'content-hash-mismatch' | 'anchor-mismatch';

export type ChainVerification =
  | { readonly ok: true; readonly entries: number; readonly head: AuditHead | null }
  | {
      readonly ok: false;
      readonly entries: number;
      /** The first entry that does not verify (for a gap: the entry after it). */
      readonly brokenAt: number;
      readonly reason: BrokenLinkReason;
      readonly message: string;
    };
