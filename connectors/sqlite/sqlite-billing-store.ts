import { RpmError } from '../../core/errors/rpm-error.js';
import type { Amendment, BillingStore, NewAmendment, NewSignOff, SignOff, StoredEpisode } from '../../core/ports/billing-store.js';
import type { SqliteDatabase } from './database.js';

interface EpisodeRow {
  patient_id: string;
  organization_id: string;
  start_date: string;
  end_date: string | null;
  time_zone: string;
  billing_practitioner_id: string | null;
  saved_by: string;
  saved_at_ms: number;
  reason: string | null;
}

interface SignOffRow {
  organization_id: string;
  period_key: string;
  patient_id: string;
  signed_by: string;
  signed_at_ms: number;
  line: string;
  line_sha256: string;
}

interface AmendmentRow {
  organization_id: string;
  period_key: string;
  revision: number;
  amended_by: string;
  amended_at_ms: number;
  reason: string;
  line: string;
  line_sha256: string;
}

const EPISODE_COLUMNS = 'patient_id, organization_id, start_date, end_date, time_zone, billing_practitioner_id, saved_by, saved_at_ms, reason';

function episodeOf(r: EpisodeRow): StoredEpisode {
  return {
    patientId: r.patient_id,
    organizationId: r.organization_id,
    startDate: r.start_date,
    endDate: r.end_date,
    timeZone: r.time_zone,
    billingPractitionerId: r.billing_practitioner_id,
    savedBy: r.saved_by,
    savedAtMs: r.saved_at_ms,
    reason: r.reason,
  };
}

function amendmentOf(r: AmendmentRow): Amendment {
  return {
    organizationId: r.organization_id,
    periodKey: r.period_key,
    revision: r.revision,
    amendedBy: r.amended_by,
    amendedAtMs: r.amended_at_ms,
    reason: r.reason,
    line: JSON.parse(r.line) as unknown,
    lineSha256: r.line_sha256,
  };
}

/** BillingStore on the clinical database (`clinical.sqlite`); sign-offs and amendments append-only by trigger. */
export class SqliteBillingStore implements BillingStore {
  constructor(private readonly db: SqliteDatabase) {}

  async saveEpisode(e: StoredEpisode): Promise<StoredEpisode> {
    const values = [e.patientId, e.organizationId, e.startDate, e.endDate, e.timeZone, e.billingPractitionerId, e.savedBy, e.savedAtMs, e.reason];
    this.db.transaction(() => {
      this.db.prepare(`INSERT OR REPLACE INTO billing_episodes (${EPISODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...values);
      this.db.prepare(`INSERT INTO billing_episode_history (${EPISODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...values);
    })();
    return e;
  }

  async episode(patientId: string): Promise<StoredEpisode | undefined> {
    const r = this.db.prepare(`SELECT ${EPISODE_COLUMNS} FROM billing_episodes WHERE patient_id = ?`).get(patientId) as EpisodeRow | undefined;
    return r === undefined ? undefined : episodeOf(r);
  }

  async episodesOf(organizationId: string): Promise<StoredEpisode[]> {
    const rows = this.db.prepare(`SELECT ${EPISODE_COLUMNS} FROM billing_episodes WHERE organization_id = ? ORDER BY patient_id`).all(organizationId) as EpisodeRow[];
    return rows.map(episodeOf);
  }

  async episodeHistory(patientId: string): Promise<StoredEpisode[]> {
    const rows = this.db.prepare(`SELECT ${EPISODE_COLUMNS} FROM billing_episode_history WHERE patient_id = ? ORDER BY seq`).all(patientId) as EpisodeRow[];
    return rows.map(episodeOf);
  }

  async signOff(s: NewSignOff): Promise<SignOff> {
    try {
      this.db
        .prepare('INSERT INTO billing_sign_offs (organization_id, period_key, patient_id, signed_by, signed_at_ms, line, line_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(s.organizationId, s.periodKey, s.patientId, s.signedBy, s.signedAtMs, JSON.stringify(s.line), s.lineSha256);
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new RpmError('RPM_ERR_BILLING_PERIOD_SIGNED', 'this period is already signed off');
      }
      throw err;
    }
    return { ...s, revision: 0, amendments: [] };
  }

  async amend(a: NewAmendment, expectedRevision: number): Promise<SignOff> {
    return this.db.transaction((): SignOff => {
      const signed = this.db.prepare('SELECT 1 FROM billing_sign_offs WHERE organization_id = ? AND period_key = ?').get(a.organizationId, a.periodKey);
      if (signed === undefined) throw new RpmError('RPM_ERR_BILLING_NOT_SIGNED', 'this period is not signed off');
      const current = (this.db.prepare('SELECT coalesce(max(revision), 0) AS r FROM billing_amendments WHERE organization_id = ? AND period_key = ?').get(a.organizationId, a.periodKey) as { r: number }).r;
      if (current !== expectedRevision) throw new RpmError('RPM_ERR_BILLING_AMENDMENT_CONFLICT', `the period is at revision ${current}, not ${expectedRevision}`);
      this.db
        .prepare('INSERT INTO billing_amendments (organization_id, period_key, revision, amended_by, amended_at_ms, reason, line, line_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(a.organizationId, a.periodKey, current + 1, a.amendedBy, a.amendedAtMs, a.reason, JSON.stringify(a.line), a.lineSha256);
      const [result] = this.read(a.organizationId, { periodKeys: [a.periodKey] });
      if (result === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'amended sign-off vanished');
      return result;
    }).immediate();
  }

  async signOffs(organizationId: string, filter: { periodKeys?: readonly string[]; patientId?: string } = {}): Promise<SignOff[]> {
    return this.read(organizationId, filter);
  }

  private read(organizationId: string, filter: { periodKeys?: readonly string[]; patientId?: string }): SignOff[] {
    let sql = 'SELECT * FROM billing_sign_offs WHERE organization_id = ?';
    const params: unknown[] = [organizationId];
    if (filter.patientId !== undefined) {
      sql += ' AND patient_id = ?';
      params.push(filter.patientId);
    }
    if (filter.periodKeys !== undefined) {
      if (filter.periodKeys.length === 0) return [];
      sql += ` AND period_key IN (SELECT value FROM json_each(?))`;
      params.push(JSON.stringify(filter.periodKeys));
    }
    const rows = this.db.prepare(`${sql} ORDER BY period_key`).all(...params) as SignOffRow[];
    if (rows.length === 0) return [];
    const amendments = this.db
      .prepare('SELECT * FROM billing_amendments WHERE organization_id = ? AND period_key IN (SELECT value FROM json_each(?)) ORDER BY period_key, revision')
      .all(organizationId, JSON.stringify(rows.map((r) => r.period_key))) as AmendmentRow[];
    const byKey = new Map<string, Amendment[]>();
    for (const a of amendments) {
      const list = byKey.get(a.period_key) ?? [];
      list.push(amendmentOf(a));
      byKey.set(a.period_key, list);
    }
    return rows.map((r) => {
      const list = byKey.get(r.period_key) ?? [];
      return {
        organizationId: r.organization_id,
        patientId: r.patient_id,
        periodKey: r.period_key,
        signedBy: r.signed_by,
        signedAtMs: r.signed_at_ms,
        line: JSON.parse(r.line) as unknown,
        lineSha256: r.line_sha256,
        revision: list.length === 0 ? 0 : (list[list.length - 1] as Amendment).revision,
        amendments: list,
      };
    });
  }

  async close(): Promise<void> {
    // The clinical database is owned and closed by createSqliteStores.
  }
}
