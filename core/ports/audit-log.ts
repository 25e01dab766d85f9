/**
 * Append-only record of who read patient data or changed clinical state (HIPAA §164.312(b)).
 * Entries never hold PHI values, only references (ids) to what was touched.
 */
export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  list(options: { limit: number; subjectId?: string }): Promise<AuditEntry[]>;
}

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
}
