import { RpmError } from '../../core/errors/rpm-error.js';
import type { Amendment, BillingStore, NewAmendment, NewSignOff, SignOff, StoredEpisode } from '../../core/ports/billing-store.js';
import { inTransaction, isUniqueViolation, lockFor, type Pool } from './database.js';

interface EpisodeRow {
  patient_id: string;
  organization_id: string;
  start_date: string;
  end_date: string | null;
  time_zone: string;
  billing_practitioner_id: string | null;
  saved_by: string;
  saved_at_ms: string;
  reason: string | null;
}

interface SignOffRow {
  organization_id: string;
  period_key: string;
  patient_id: string;
  signed_by: string;
  signed_at_ms: string;
  line: unknown;
  line_sha256: string;
}

interface AmendmentRow {
  organization_id: string;
  period_key: string;
  revision: number;
  amended_by: string;
  amended_at_ms: string;
  reason: string;
  line: unknown;
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
    savedAtMs: Number(r.saved_at_ms),
    reason: r.reason,
  };
}

/** BillingStore on PostgreSQL; sign-offs and amendments append-only by trigger (migration 15). */
export class PostgresBillingStore implements BillingStore {
  constructor(private readonly pool: Pool) {}

  async saveEpisode(e: StoredEpisode): Promise<StoredEpisode> {
    const values = [e.patientId, e.organizationId, e.startDate, e.endDate, e.timeZone, e.billingPractitionerId, e.savedBy, e.savedAtMs, e.reason];
    await inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO billing_episodes (${EPISODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (patient_id) DO UPDATE SET organization_id = excluded.organization_id, start_date = excluded.start_date, end_date = excluded.end_date,
           time_zone = excluded.time_zone, billing_practitioner_id = excluded.billing_practitioner_id, saved_by = excluded.saved_by,
           saved_at_ms = excluded.saved_at_ms, reason = excluded.reason`,
        values,
      );
      await client.query(`INSERT INTO billing_episode_history (${EPISODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, values);
    });
    return e;
  }

  async episode(patientId: string): Promise<StoredEpisode | undefined> {
    const { rows } = await this.pool.query<EpisodeRow>(`SELECT ${EPISODE_COLUMNS} FROM billing_episodes WHERE patient_id = $1`, [patientId]);
    return rows[0] === undefined ? undefined : episodeOf(rows[0]);
  }

  async episodesOf(organizationId: string): Promise<StoredEpisode[]> {
    const { rows } = await this.pool.query<EpisodeRow>(`SELECT ${EPISODE_COLUMNS} FROM billing_episodes WHERE organization_id = $1 ORDER BY patient_id`, [organizationId]);
    return rows.map(episodeOf);
  }

  async episodeHistory(patientId: string): Promise<StoredEpisode[]> {
    const { rows } = await this.pool.query<EpisodeRow>(`SELECT ${EPISODE_COLUMNS} FROM billing_episode_history WHERE patient_id = $1 ORDER BY seq`, [patientId]);
    return rows.map(episodeOf);
  }

  async signOff(s: NewSignOff): Promise<SignOff> {
    try {
      await this.pool.query(
        'INSERT INTO billing_sign_offs (organization_id, period_key, patient_id, signed_by, signed_at_ms, line, line_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [s.organizationId, s.periodKey, s.patientId, s.signedBy, s.signedAtMs, JSON.stringify(s.line), s.lineSha256],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_BILLING_PERIOD_SIGNED', 'this period is already signed off');
      throw err;
    }
    return { ...s, revision: 0, amendments: [] };
  }

  async amend(a: NewAmendment, expectedRevision: number): Promise<SignOff> {
    await inTransaction(this.pool, async (client) => {
      await lockFor(client, `billing:${a.organizationId}:${a.periodKey}`);
      const signed = await client.query('SELECT 1 FROM billing_sign_offs WHERE organization_id = $1 AND period_key = $2', [a.organizationId, a.periodKey]);
      if (signed.rowCount === 0) throw new RpmError('RPM_ERR_BILLING_NOT_SIGNED', 'this period is not signed off');
      const { rows } = await client.query<{ r: number }>('SELECT coalesce(max(revision), 0)::int AS r FROM billing_amendments WHERE organization_id = $1 AND period_key = $2', [
        a.organizationId,
        a.periodKey,
      ]);
      const current = rows[0]?.r ?? 0;
      if (current !== expectedRevision) throw new RpmError('RPM_ERR_BILLING_AMENDMENT_CONFLICT', `the period is at revision ${current}, not ${expectedRevision}`);
      await client.query(
        'INSERT INTO billing_amendments (organization_id, period_key, revision, amended_by, amended_at_ms, reason, line, line_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [a.organizationId, a.periodKey, current + 1, a.amendedBy, a.amendedAtMs, a.reason, JSON.stringify(a.line), a.lineSha256],
      );
    });
    const [result] = await this.signOffs(a.organizationId, { periodKeys: [a.periodKey] });
    if (result === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'amended sign-off vanished');
    return result;
  }

  async signOffs(organizationId: string, filter: { periodKeys?: readonly string[]; patientId?: string } = {}): Promise<SignOff[]> {
    if (filter.periodKeys !== undefined && filter.periodKeys.length === 0) return [];
    const { rows } = await this.pool.query<SignOffRow>(
      `SELECT * FROM billing_sign_offs WHERE organization_id = $1 AND ($2::text IS NULL OR patient_id = $2) AND ($3::text[] IS NULL OR period_key = ANY($3)) ORDER BY period_key`,
      [organizationId, filter.patientId ?? null, filter.periodKeys ?? null],
    );
    if (rows.length === 0) return [];
    const amendments = await this.pool.query<AmendmentRow>('SELECT * FROM billing_amendments WHERE organization_id = $1 AND period_key = ANY($2) ORDER BY period_key, revision', [
      organizationId,
      rows.map((r) => r.period_key),
    ]);
    const byKey = new Map<string, Amendment[]>();
    for (const r of amendments.rows) {
      const list = byKey.get(r.period_key) ?? [];
      list.push({
        organizationId: r.organization_id,
        periodKey: r.period_key,
        revision: r.revision,
        amendedBy: r.amended_by,
        amendedAtMs: Number(r.amended_at_ms),
        reason: r.reason,
        line: r.line,
        lineSha256: r.line_sha256,
      });
      byKey.set(r.period_key, list);
    }
    return rows.map((r) => {
      const list = byKey.get(r.period_key) ?? [];
      return {
        organizationId: r.organization_id,
        patientId: r.patient_id,
        periodKey: r.period_key,
        signedBy: r.signed_by,
        signedAtMs: Number(r.signed_at_ms),
        line: r.line,
        lineSha256: r.line_sha256,
        revision: list.length === 0 ? 0 : (list[list.length - 1] as Amendment).revision,
        amendments: list,
      };
    });
  }

  async close(): Promise<void> {
    // The pool is owned and ended by createPostgresStores.
  }
}
