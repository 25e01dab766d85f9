import type { Migration } from './migrations.js';

/**
 * Schema of the clinical database (`clinical.sqlite`): alerts, rule-engine state, care plans,
 * time log and the notification outbox. It lives in its own file so that its writes never wait
 * for the reading writer's lock, mirroring the distributed mode where readings go to a
 * time-series store and clinical records to PostgreSQL.
 */
export const CLINICAL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'alerts, rule state, care plans, time log, notifications',
    sql: `
      -- The rule engine's position in the reading log (readings.seq), advanced with its writes.
      CREATE TABLE rule_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
      INSERT INTO rule_cursor (id, seq) VALUES (1, 0);

      -- Per patient × rule condition state, JSON owned by rules/conditions.ts.
      CREATE TABLE rule_conditions (
        patient_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (patient_id, rule_id)
      ) WITHOUT ROWID;

      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        organization_id TEXT,
        patient_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        rule_title TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'acknowledged', 'resolved')),
        version INTEGER NOT NULL,
        measured_at_ms INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        reading_id TEXT,
        value REAL,
        detail TEXT NOT NULL,
        confirmation TEXT,
        in_range INTEGER NOT NULL DEFAULT 0,
        flapping INTEGER NOT NULL DEFAULT 0,
        worsening INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claimed_at_ms INTEGER,
        acknowledged_by TEXT,
        acknowledged_at_ms INTEGER,
        resolved_by TEXT,
        resolved_at_ms INTEGER,
        outcome TEXT,
        note TEXT,
        snoozed_until_ms INTEGER,
        escalation_level INTEGER NOT NULL DEFAULT 0,
        escalated_at_ms INTEGER,
        sla_due_at_ms INTEGER NOT NULL
      );
      -- One unresolved alert per patient × rule.
      CREATE UNIQUE INDEX alerts_one_unresolved ON alerts(patient_id, rule_id) WHERE status <> 'resolved';
      CREATE INDEX alerts_unresolved_by_org ON alerts(organization_id) WHERE status <> 'resolved';
      CREATE INDEX alerts_by_patient ON alerts(patient_id, created_at_ms);

      CREATE TABLE alert_events (
        alert_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        severity TEXT NOT NULL,
        note TEXT,
        PRIMARY KEY (alert_id, version)
      ) WITHOUT ROWID;

      -- Versioned care plans: every save is a new row.
      CREATE TABLE care_plans (
        patient_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        plan TEXT NOT NULL,
        saved_by TEXT NOT NULL,
        saved_at_ms INTEGER NOT NULL,
        PRIMARY KEY (patient_id, version)
      ) WITHOUT ROWID;

      CREATE TABLE time_entries (
        id TEXT PRIMARY KEY,
        organization_id TEXT,
        patient_id TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        started_at_ms INTEGER NOT NULL,
        ended_at_ms INTEGER,
        interactive INTEGER NOT NULL,
        note TEXT,
        source TEXT NOT NULL
      );
      CREATE INDEX time_entries_by_patient ON time_entries(patient_id, started_at_ms);
      CREATE INDEX time_entries_by_staff ON time_entries(staff_id, started_at_ms);

      -- Outbox of escalation messages (no PHI in body; recipient resolved at send time).
      CREATE TABLE notifications (
        id TEXT PRIMARY KEY,
        alert_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        recipient_staff_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at_ms INTEGER,
        error TEXT
      );
      CREATE INDEX notifications_pending ON notifications(created_at_ms) WHERE status = 'pending';
    `,
  },
  {
    version: 2,
    name: 'alert episodes, confirmation states, rule snapshot, late data, engine event findings, timer stop reasons',
    sql: `
      -- The episode's first and worst readings (JSON), the rule in force (JSON), late data.
      ALTER TABLE alerts ADD COLUMN episode TEXT;
      ALTER TABLE alerts ADD COLUMN rule TEXT;
      ALTER TABLE alerts ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
      -- What the engine saw at each of its changes (JSON), rendered per reader.
      ALTER TABLE alert_events ADD COLUMN finding TEXT;
      -- The newest resolved alert of a patient × rule (re-notify after a nurse's resolve).
      CREATE INDEX alerts_resolved_by_rule ON alerts(patient_id, rule_id, resolved_at_ms) WHERE status = 'resolved';
      -- Waits for a repeat reading (expire on the clock) and snoozes that end.
      CREATE INDEX alerts_pending_confirmation ON alerts(confirmation) WHERE status <> 'resolved' AND confirmation = 'pending';
      CREATE INDEX alerts_snoozed ON alerts(snoozed_until_ms) WHERE status <> 'resolved' AND snoozed_until_ms IS NOT NULL;
      -- Who or what stopped a timer: the nurse, or the end of her session (billing must not count idle time).
      ALTER TABLE time_entries ADD COLUMN stop_reason TEXT;
      CREATE INDEX time_entries_running ON time_entries(staff_id) WHERE ended_at_ms IS NULL;
    `,
  },
  {
    version: 3,
    name: 'positions of the reading log followers',
    sql: `
      -- Where each follower of the reading log (the time-series writer) stands: advanced only
      -- after its work is durable elsewhere.
      CREATE TABLE log_progress (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'rule partition cursors',
    sql: `
      -- One cursor per rule partition (the distributed mode's workers; the same table as PostgreSQL's,
      -- so the contract holds on both). A partition starts where rule_cursor stood.
      CREATE TABLE rule_partition_cursors (
        partitions INTEGER NOT NULL,
        partition INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (partitions, partition)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    name: 'scheduling: availability, appointment types, appointments, delayed jobs, calendar feeds',
    sql: `
      CREATE TABLE staff_availability (
        staff_id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        weekly TEXT NOT NULL,
        exceptions TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );

      CREATE TABLE appointment_types (
        organization_id TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        duration_minutes INTEGER NOT NULL,
        modality TEXT NOT NULL CHECK (modality IN ('video', 'phone', 'in-person')),
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (organization_id, id)
      );

      -- No clinical content: a type, a time, who, what happened. Overlap is checked in the
      -- booking transaction (IMMEDIATE: one writer at a time).
      CREATE TABLE appointments (
        id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        type_id TEXT NOT NULL,
        modality TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'completed', 'no-show')),
        version INTEGER NOT NULL,
        patient_response TEXT CHECK (patient_response IN ('confirmed', 'reschedule-requested')),
        patient_responded_at_ms INTEGER,
        created_at_ms INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        updated_by TEXT NOT NULL
      );
      CREATE INDEX appointments_by_staff ON appointments (staff_id, start_ms);
      CREATE INDEX appointments_by_patient ON appointments (patient_id, start_ms);
      CREATE INDEX appointments_by_organization ON appointments (organization_id, start_ms);

      -- Durable delayed jobs (visit reminders): references only, never PHI.
      CREATE TABLE delayed_jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        job_group TEXT NOT NULL,
        payload TEXT NOT NULL,
        due_at_ms INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'cancelled', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until_ms INTEGER,
        created_at_ms INTEGER NOT NULL,
        finished_at_ms INTEGER,
        result TEXT,
        last_error TEXT
      );
      CREATE INDEX delayed_jobs_due ON delayed_jobs (status, due_at_ms);
      CREATE INDEX delayed_jobs_by_group ON delayed_jobs (job_group);

      CREATE TABLE calendar_feed_tokens (
        staff_id TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL UNIQUE,
        created_at_ms INTEGER NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'video visits, their patient links and participants; modality of time entries',
    sql: `
      -- How an interactive contact was held ('video' | 'audio'); NULL for timers and typed-in time.
      ALTER TABLE time_entries ADD COLUMN modality TEXT;
      -- Video visits. Link and patient-session secrets are kept only as SHA-256 hashes (hex).
      CREATE TABLE visits (
        id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        alert_id TEXT,
        provider TEXT NOT NULL,
        room TEXT NOT NULL,
        modality TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        started_at_ms INTEGER,
        ended_at_ms INTEGER,
        end_reason TEXT,
        link_hash TEXT NOT NULL,
        link_expires_at_ms INTEGER NOT NULL,
        link_used_at_ms INTEGER,
        patient_session_hash TEXT,
        time_entry_id TEXT
      );
      CREATE UNIQUE INDEX visits_link ON visits(link_hash);
      CREATE UNIQUE INDEX visits_patient_session ON visits(patient_session_hash) WHERE patient_session_hash IS NOT NULL;
      CREATE INDEX visits_by_patient ON visits(organization_id, patient_id, created_at_ms);
      CREATE INDEX visits_by_staff ON visits(organization_id, staff_id, created_at_ms);
      CREATE INDEX visits_open ON visits(created_at_ms) WHERE ended_at_ms IS NULL;
      CREATE TABLE visit_participants (
        visit_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL,
        actor TEXT NOT NULL,
        joined_at_ms INTEGER NOT NULL,
        left_at_ms INTEGER,
        PRIMARY KEY (visit_id, seq)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 7,
    name: 'RPM billing: episodes, sign-offs, amendments',
    sql: `
      -- Each patient's RPM episode (rules/billing/ledger.ts BillingEpisode), the current one and every save.
      CREATE TABLE billing_episodes (
        patient_id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        start_date TEXT NOT NULL,
        end_date TEXT,
        time_zone TEXT NOT NULL,
        billing_practitioner_id TEXT,
        saved_by TEXT NOT NULL,
        saved_at_ms INTEGER NOT NULL,
        reason TEXT
      ) WITHOUT ROWID;
      CREATE INDEX billing_episodes_by_organization ON billing_episodes(organization_id, patient_id);
      CREATE TABLE billing_episode_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        patient_id TEXT NOT NULL,
        organization_id TEXT NOT NULL,
        start_date TEXT NOT NULL,
        end_date TEXT,
        time_zone TEXT NOT NULL,
        billing_practitioner_id TEXT,
        saved_by TEXT NOT NULL,
        saved_at_ms INTEGER NOT NULL,
        reason TEXT
      );
      CREATE INDEX billing_episode_history_by_patient ON billing_episode_history(patient_id, seq);

      -- A physician's sign-off freezes a period: one per (organization, period), never rewritten.
      CREATE TABLE billing_sign_offs (
        organization_id TEXT NOT NULL,
        period_key TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        signed_by TEXT NOT NULL,
        signed_at_ms INTEGER NOT NULL,
        line TEXT NOT NULL,
        line_sha256 TEXT NOT NULL,
        PRIMARY KEY (organization_id, period_key)
      ) WITHOUT ROWID;
      CREATE INDEX billing_sign_offs_by_patient ON billing_sign_offs(organization_id, patient_id);
      CREATE TABLE billing_amendments (
        organization_id TEXT NOT NULL,
        period_key TEXT NOT NULL,
        revision INTEGER NOT NULL CHECK (revision >= 1),
        amended_by TEXT NOT NULL,
        amended_at_ms INTEGER NOT NULL,
        reason TEXT NOT NULL,
        line TEXT NOT NULL,
        line_sha256 TEXT NOT NULL,
        PRIMARY KEY (organization_id, period_key, revision),
        FOREIGN KEY (organization_id, period_key) REFERENCES billing_sign_offs(organization_id, period_key)
      ) WITHOUT ROWID;
      CREATE TRIGGER billing_sign_offs_no_update BEFORE UPDATE ON billing_sign_offs BEGIN SELECT RAISE(ABORT, 'billing_sign_offs is append-only'); END;
      CREATE TRIGGER billing_sign_offs_no_delete BEFORE DELETE ON billing_sign_offs BEGIN SELECT RAISE(ABORT, 'billing_sign_offs is append-only'); END;
      CREATE TRIGGER billing_amendments_no_update BEFORE UPDATE ON billing_amendments BEGIN SELECT RAISE(ABORT, 'billing_amendments is append-only'); END;
      CREATE TRIGGER billing_amendments_no_delete BEFORE DELETE ON billing_amendments BEGIN SELECT RAISE(ABORT, 'billing_amendments is append-only'); END;
    `,
  },
  {
    version: 8,
    name: 'time entries: allowed modalities',
    sql: `
      -- The modality column itself comes from migration 6 (video visits); SQLite cannot add a CHECK to
      -- an existing column, so triggers refuse other values: video, audio or secure-message
      -- (core/model/visit.ts TIME_MODALITIES; billing: secure messaging alone is not real-time
      -- interactive); null = not recorded.
      CREATE TRIGGER time_entries_modality_insert BEFORE INSERT ON time_entries
        WHEN NEW.modality IS NOT NULL AND NEW.modality NOT IN ('video', 'audio', 'secure-message')
        BEGIN SELECT RAISE(ABORT, 'time_entries.modality must be video, audio or secure-message'); END;
      CREATE TRIGGER time_entries_modality_update BEFORE UPDATE OF modality ON time_entries
        WHEN NEW.modality IS NOT NULL AND NEW.modality NOT IN ('video', 'audio', 'secure-message')
        BEGIN SELECT RAISE(ABORT, 'time_entries.modality must be video, audio or secure-message'); END;
    `,
  },
  {
    version: 9,
    name: 'video visits linked to appointments; hosted providers\' rooms looked up by name',
    sql: `
      -- The booked appointment a visit was started from (null: started from a patient or an alert).
      ALTER TABLE visits ADD COLUMN appointment_id TEXT;
      CREATE INDEX visits_by_appointment ON visits(appointment_id) WHERE appointment_id IS NOT NULL;
      -- A hosted provider's webhook names the room (LiveKit room_finished, participant_joined/left).
      CREATE INDEX visits_by_room ON visits(room);
    `,
  },
];
