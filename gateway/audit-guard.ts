import { RpmError } from '../core/errors/rpm-error.js';
import type { Logger } from '../core/logging.js';
import type { AuditEntry, AuditHead, AuditLog, ChainVerification, SealedAuditEntry } from '../core/ports/audit-log.js';

/** Seconds a client is asked to wait before retrying a request refused for want of an audit record. */
const RETRY_AFTER_SECONDS = 5;

/**
 * The audit log as the HTTP API uses it: an entry that cannot be written (disk full, I/O error)
 * refuses the request with 503 RPM_ERR_AUDIT_UNAVAILABLE and Retry-After, instead of a bare 500.
 * Reads of patient data record their entry before answering, so no PHI leaves unaudited; the
 * client learns that the refusal is temporary and why.
 */
export class AuditGuard implements AuditLog {
  constructor(
    private readonly inner: AuditLog,
    private readonly log: Logger,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.inner.record(entry);
    } catch (err) {
      this.log.error({ err, action: entry.action }, 'audit record could not be written; request refused');
      throw new RpmError('RPM_ERR_AUDIT_UNAVAILABLE', 'the audit log could not be written, so nothing was returned; retry later', {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
        cause: err,
      });
    }
  }

  list(options: { limit: number; subjectId?: string; beforeSeq?: number }): Promise<SealedAuditEntry[]> {
    return this.inner.list(options);
  }

  range(options: { afterSeq: number; limit: number }): Promise<SealedAuditEntry[]> {
    return this.inner.range(options);
  }

  head(): Promise<AuditHead | null> {
    return this.inner.head();
  }

  verify(): Promise<ChainVerification> {
    return this.inner.verify();
  }
}
