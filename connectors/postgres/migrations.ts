/**
 * PostgreSQL schema migrations, applied in order at open (database.ts `migrate`) and recorded in
 * `schema_migrations`. Never edit a shipped migration; add the next one.
 *
 * The schema is the embedded one (connectors/sqlite/migrations.ts and clinical-migrations.ts)
 * in PostgreSQL's own types: bigint epoch milliseconds, boolean flags, `json` for opaque
 * documents (kept byte for byte as written, so hashes over them stay stable), text[] for lists.
 * Readings and clinical state share one database: row locks replace SQLite's file split.
 * Identity columns (`seq`) give every table that needs it an insertion order, which SQLite's
 * rowid gave implicitly (ties of equal timestamps are answered in insertion order).
 * Identifiers are `COLLATE "C"`: byte order, as SQLite compares them, whatever the database's
 * locale, so id-ordered listings and keyset paging answer the same on both stores.
 */
export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'registry, readings, rejections',
    sql: `
      -- Patients are opaque references; no names or demographics live here.
      CREATE TABLE patients (
        id text COLLATE "C" PRIMARY KEY,
        organization_id text COLLATE "C",
        created_at_ms bigint NOT NULL
      );
      CREATE INDEX patients_by_organization ON patients (organization_id, id);

      CREATE TABLE devices (
        id text COLLATE "C" PRIMARY KEY,
        kind text NOT NULL,
        manufacturer text,
        model text,
        serial text,
        hub_id text COLLATE "C",
        simulated boolean NOT NULL DEFAULT false,
        status text NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at_ms bigint NOT NULL,
        revoked_at_ms bigint,
        last_seen_at_ms bigint,
        online boolean NOT NULL DEFAULT false,
        -- Device status from the newest reading that carried it (not a vital).
        battery_percent double precision,
        battery_at_ms bigint
      );

      -- Only a slow hash of each secret is stored; rows are never deleted.
      CREATE TABLE device_credentials (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text COLLATE "C" PRIMARY KEY,
        device_id text COLLATE "C" NOT NULL REFERENCES devices (id),
        secret_hash text NOT NULL,
        created_at_ms bigint NOT NULL,
        expires_at_ms bigint,
        revoked_at_ms bigint
      );
      CREATE INDEX device_credentials_by_device ON device_credentials (device_id, created_at_ms, seq);

      -- Assignment history: [from_ms, to_ms), to_ms NULL while open. Writers lock the device row.
      CREATE TABLE device_assignments (
        device_id text COLLATE "C" NOT NULL REFERENCES devices (id),
        patient_id text COLLATE "C" NOT NULL REFERENCES patients (id),
        from_ms bigint NOT NULL,
        to_ms bigint,
        PRIMARY KEY (device_id, from_ms)
      );
      CREATE INDEX device_assignments_by_patient ON device_assignments (patient_id, from_ms);

      -- The reading log. seq is its position (readingsSince); commits take an advisory lock
      -- before inserting, so positions become visible in order even with several writers.
      -- Dedupe is the unique (device_id, idem_key) index; id = hash(device, key) needs no index.
      CREATE TABLE readings (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text COLLATE "C" NOT NULL,
        device_id text COLLATE "C" NOT NULL,
        idem_key text NOT NULL,
        client_id text COLLATE "C",
        hub_id text COLLATE "C",
        patient_id text COLLATE "C",
        kind text NOT NULL,
        code text NOT NULL,
        value double precision,
        components json NOT NULL,
        reported json NOT NULL,
        measured_at text NOT NULL,
        measured_at_ms bigint NOT NULL,
        utc_offset_min integer NOT NULL,
        received_at_ms bigint NOT NULL,
        entry_method text NOT NULL,
        setting text NOT NULL,
        meal_context text,
        glucose_method text,
        sequence bigint,
        transport text NOT NULL,
        flags text[] NOT NULL DEFAULT '{}',
        -- The staff member who entered a manual reading.
        recorded_by text
      );
      CREATE UNIQUE INDEX readings_dedupe ON readings (device_id, idem_key);
      CREATE INDEX readings_by_patient_time ON readings (patient_id, measured_at_ms);
      CREATE INDEX readings_unassigned ON readings (device_id, measured_at_ms) WHERE patient_id IS NULL;

      CREATE TABLE rejections (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        device_id text COLLATE "C" NOT NULL,
        received_at_ms bigint NOT NULL,
        transport text NOT NULL,
        code text NOT NULL,
        path text,
        message text NOT NULL,
        client_id text COLLATE "C",
        payload_sha256 text
      );
      CREATE INDEX rejections_by_device ON rejections (device_id, seq);
    `,
  },
  {
    version: 2,
    name: 'organizations, staff, sessions, login history, care teams, display settings',
    sql: `
      CREATE TABLE organizations (
        id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        created_at_ms bigint NOT NULL,
        -- Display units and time zone (partial JSON).
        display json
      );

      -- email is stored lower-cased, so UNIQUE is case-insensitive. Unique within an
      -- organization only: another tenant creating an account with an email used elsewhere must
      -- not learn that it is. A login without an organization takes the oldest account with it.
      CREATE TABLE staff (
        id text COLLATE "C" PRIMARY KEY,
        email text NOT NULL,
        role text NOT NULL CHECK (role IN ('nurse', 'physician', 'admin')),
        organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
        display_name text,
        status text NOT NULL CHECK (status IN ('active', 'disabled')),
        is_charge_nurse boolean NOT NULL DEFAULT false,
        phone text,
        created_at_ms bigint NOT NULL,
        display json,
        UNIQUE (organization_id, email)
      );
      CREATE INDEX staff_by_organization ON staff (organization_id, role);
      CREATE INDEX staff_by_email ON staff (email, created_at_ms);

      -- Kept apart from staff so that no query of accounts can carry a hash along.
      CREATE TABLE staff_passwords (
        staff_id text COLLATE "C" PRIMARY KEY REFERENCES staff (id),
        password_hash text NOT NULL,
        updated_at_ms bigint NOT NULL
      );

      -- Keyed by the SHA-256 of the bearer token; the token is never stored.
      CREATE TABLE staff_sessions (
        token_sha256 text PRIMARY KEY,
        staff_id text COLLATE "C" NOT NULL REFERENCES staff (id),
        created_at_ms bigint NOT NULL,
        expires_at_ms bigint NOT NULL,
        last_active_at_ms bigint NOT NULL,
        revoked_at_ms bigint
      );
      CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);
      CREATE INDEX staff_sessions_by_expiry ON staff_sessions (expires_at_ms);

      -- Addresses (an IPv6 /64) an account signed in from: logins from them skip the per-account
      -- delay that wrong passwords from elsewhere build up, so a guesser cannot lock a nurse out.
      CREATE TABLE staff_login_sources (
        staff_id text COLLATE "C" NOT NULL REFERENCES staff (id),
        source text NOT NULL,
        last_success_at_ms bigint NOT NULL,
        PRIMARY KEY (staff_id, source)
      );

      -- Wrong passwords since the account's last sign-in, told to its owner at the next one.
      CREATE TABLE staff_login_failures (
        staff_id text COLLATE "C" PRIMARY KEY REFERENCES staff (id),
        count integer NOT NULL,
        first_at_ms bigint NOT NULL,
        last_at_ms bigint NOT NULL
      );

      -- Care team ids are chosen by the organization and unique within it.
      CREATE TABLE care_teams (
        organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
        id text COLLATE "C" NOT NULL,
        name text NOT NULL,
        created_at_ms bigint NOT NULL,
        PRIMARY KEY (organization_id, id)
      );
      CREATE INDEX care_teams_by_id ON care_teams (id);

      CREATE TABLE care_team_members (
        organization_id text COLLATE "C" NOT NULL,
        team_id text COLLATE "C" NOT NULL,
        staff_id text COLLATE "C" NOT NULL REFERENCES staff (id),
        added_at_ms bigint NOT NULL,
        PRIMARY KEY (organization_id, team_id, staff_id),
        FOREIGN KEY (organization_id, team_id) REFERENCES care_teams (organization_id, id)
      );
      CREATE INDEX care_team_members_by_staff ON care_team_members (staff_id);

      CREATE TABLE care_team_patients (
        organization_id text COLLATE "C" NOT NULL,
        team_id text COLLATE "C" NOT NULL,
        patient_id text COLLATE "C" NOT NULL REFERENCES patients (id),
        added_at_ms bigint NOT NULL,
        PRIMARY KEY (organization_id, team_id, patient_id),
        FOREIGN KEY (organization_id, team_id) REFERENCES care_teams (organization_id, id)
      );
      CREATE INDEX care_team_patients_by_patient ON care_team_patients (patient_id);
    `,
  },
  {
    version: 3,
    name: 'FHIR destinations, the delivery outbox, patient links',
    sql: `
      -- auth holds the destination's credentials, encrypted (core/crypto/field-encryption.ts) unless 'none'.
      CREATE TABLE fhir_destinations (
        id text COLLATE "C" PRIMARY KEY,
        organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
        base_url text NOT NULL,
        auth text NOT NULL,
        patient_mapping json NOT NULL,
        kinds text[] NOT NULL,
        enabled boolean NOT NULL,
        batch_size integer,
        created_at_ms bigint NOT NULL,
        updated_at_ms bigint NOT NULL
      );
      CREATE INDEX fhir_destinations_by_organization ON fhir_destinations (organization_id);

      -- Transactional outbox: rows are inserted by the reading commit in the reading's own
      -- transaction, so a committed reading always has its deliveries. One per (destination, reading).
      CREATE TABLE fhir_outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        destination_id text COLLATE "C" NOT NULL REFERENCES fhir_destinations (id),
        reading_seq bigint NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'failed', 'delivered', 'dead')),
        attempts integer NOT NULL DEFAULT 0,
        created_at_ms bigint NOT NULL,
        next_attempt_at_ms bigint NOT NULL,
        last_attempt_at_ms bigint,
        delivered_at_ms bigint,
        error_code text,
        error_message text,
        outcome json,
        refs json
      );
      CREATE UNIQUE INDEX fhir_outbox_once ON fhir_outbox (destination_id, reading_seq);
      CREATE INDEX fhir_outbox_due ON fhir_outbox (destination_id, next_attempt_at_ms, seq) WHERE status IN ('pending', 'failed');
      CREATE INDEX fhir_outbox_by_status ON fhir_outbox (status, seq);
      -- Deliveries that are not delivered (the few, beside the many delivered ones): per-destination
      -- backlog, oldest waiting and dead letters, answered without touching delivered rows.
      CREATE INDEX fhir_outbox_open ON fhir_outbox (destination_id, status, seq) WHERE status IN ('pending', 'failed', 'dead');

      -- How each destination's EHR knows each patient: the identifier an admin gave (the MRN,
      -- encrypted like the destination credentials) and the EHR's Patient, set by an admin or
      -- found by a search on that identifier (then cached here).
      CREATE TABLE fhir_patient_links (
        destination_id text COLLATE "C" NOT NULL REFERENCES fhir_destinations (id),
        patient_id text COLLATE "C" NOT NULL REFERENCES patients (id),
        identifier text,
        reference text,
        reference_source text CHECK (reference_source IN ('admin', 'search')),
        updated_at_ms bigint NOT NULL,
        PRIMARY KEY (destination_id, patient_id)
      );
    `,
  },
  {
    version: 4,
    name: 'alerts, rule state, care plans, time log, notifications',
    sql: `
      -- The rule engine's position in the reading log (readings.seq), advanced with its writes.
      CREATE TABLE rule_cursor (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL);
      INSERT INTO rule_cursor (id, seq) VALUES (1, 0);

      -- Per patient × rule condition state, JSON owned by rules/conditions.ts.
      CREATE TABLE rule_conditions (
        patient_id text COLLATE "C" NOT NULL,
        rule_id text COLLATE "C" NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (patient_id, rule_id)
      );

      CREATE TABLE alerts (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text COLLATE "C" PRIMARY KEY,
        organization_id text COLLATE "C",
        patient_id text COLLATE "C" NOT NULL,
        rule_id text COLLATE "C" NOT NULL,
        rule_title text NOT NULL,
        severity text NOT NULL,
        status text NOT NULL CHECK (status IN ('open', 'claimed', 'acknowledged', 'resolved')),
        version integer NOT NULL,
        measured_at_ms bigint NOT NULL,
        created_at_ms bigint NOT NULL,
        updated_at_ms bigint NOT NULL,
        reading_id text COLLATE "C",
        value double precision,
        detail text NOT NULL,
        confirmation text,
        in_range boolean NOT NULL DEFAULT false,
        flapping boolean NOT NULL DEFAULT false,
        worsening boolean NOT NULL DEFAULT false,
        claimed_by text,
        claimed_at_ms bigint,
        acknowledged_by text,
        acknowledged_at_ms bigint,
        resolved_by text,
        resolved_at_ms bigint,
        outcome text,
        note text,
        snoozed_until_ms bigint,
        escalation_level integer NOT NULL DEFAULT 0,
        escalated_at_ms bigint,
        sla_due_at_ms bigint NOT NULL,
        -- The episode's first and worst readings, and the rule in force (JSON).
        episode json,
        rule json,
        late boolean NOT NULL DEFAULT false
      );
      -- One unresolved alert per patient × rule.
      CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (patient_id, rule_id) WHERE status <> 'resolved';
      CREATE INDEX alerts_unresolved_by_org ON alerts (organization_id) WHERE status <> 'resolved';
      CREATE INDEX alerts_by_patient ON alerts (patient_id, created_at_ms, seq);
      CREATE INDEX alerts_resolved_by_rule ON alerts (patient_id, rule_id, resolved_at_ms) WHERE status = 'resolved';
      CREATE INDEX alerts_pending_confirmation ON alerts (seq) WHERE status <> 'resolved' AND confirmation = 'pending';
      CREATE INDEX alerts_snoozed ON alerts (snoozed_until_ms) WHERE status <> 'resolved' AND snoozed_until_ms IS NOT NULL;

      CREATE TABLE alert_events (
        alert_id text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        at_ms bigint NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        from_status text,
        to_status text NOT NULL,
        severity text NOT NULL,
        note text,
        -- What the engine saw at this change (JSON), rendered per reader.
        finding json,
        PRIMARY KEY (alert_id, version)
      );

      -- Versioned care plans: every save is a new row.
      CREATE TABLE care_plans (
        patient_id text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        plan json NOT NULL,
        saved_by text NOT NULL,
        saved_at_ms bigint NOT NULL,
        PRIMARY KEY (patient_id, version)
      );

      CREATE TABLE time_entries (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text COLLATE "C" PRIMARY KEY,
        organization_id text COLLATE "C",
        patient_id text COLLATE "C" NOT NULL,
        staff_id text COLLATE "C" NOT NULL,
        started_at_ms bigint NOT NULL,
        ended_at_ms bigint,
        interactive boolean NOT NULL,
        note text,
        source text NOT NULL,
        -- Who or what stopped a timer: the nurse, or the end of her session.
        stop_reason text
      );
      CREATE INDEX time_entries_by_patient ON time_entries (patient_id, started_at_ms);
      CREATE INDEX time_entries_by_staff ON time_entries (staff_id, started_at_ms);
      -- One running timer per staff member, enforced by the database (two starts at once: one wins).
      CREATE UNIQUE INDEX time_entries_one_running ON time_entries (staff_id) WHERE ended_at_ms IS NULL;

      -- Outbox of escalation messages (no PHI in body; recipient resolved at send time).
      CREATE TABLE notifications (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text COLLATE "C" PRIMARY KEY,
        alert_id text COLLATE "C" NOT NULL,
        channel text NOT NULL,
        recipient_staff_id text COLLATE "C" NOT NULL,
        body text NOT NULL,
        created_at_ms bigint NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        sent_at_ms bigint,
        error text
      );
      CREATE INDEX notifications_pending ON notifications (created_at_ms, seq) WHERE status = 'pending';
    `,
  },
  {
    version: 5,
    name: 'append-only, hash-chained audit log',
    sql: `
      -- Who read patient data or changed state (HIPAA §164.312(b)): references, never PHI values.
      -- A hash chain (core/audit/chain.ts): entry n carries the hash of entry n-1. seq is the
      -- order of recording, contiguous from 1: writers serialise on an advisory lock and take the
      -- next number under it (not from a sequence, which a rolled-back insert would leave a hole
      -- in), so seq order is commit order and a gap can only mean a removed row.
      CREATE TABLE audit_log (
        seq bigint PRIMARY KEY CHECK (seq > 0),
        at_ms bigint NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        subject text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'error')),
        source_ip text,
        -- Kept byte for byte as written (json, not jsonb), as the chain hashed it.
        details json,
        prev_hash text NOT NULL,
        hash text NOT NULL
      );
      CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);

      -- Patients an access disclosed besides its subject (a worklist read, a device list), so an
      -- accounting of one patient's disclosures is one indexed query.
      CREATE TABLE audit_log_patients (
        patient_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL REFERENCES audit_log (seq),
        PRIMARY KEY (patient_id, seq)
      );

      -- Append-only, enforced by the database for every role that can write the tables (the
      -- owner included): UPDATE, DELETE and TRUNCATE raise. A superuser can still drop the
      -- triggers; the hash chain, and a head anchored elsewhere, make such an edit evident.
      CREATE FUNCTION rpm_audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END;
      $$;
      CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION rpm_audit_log_is_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION rpm_audit_log_is_append_only();
      CREATE TRIGGER audit_log_patients_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log_patients
        FOR EACH ROW EXECUTE FUNCTION rpm_audit_log_is_append_only();
      CREATE TRIGGER audit_log_patients_no_truncate BEFORE TRUNCATE ON audit_log_patients
        FOR EACH STATEMENT EXECUTE FUNCTION rpm_audit_log_is_append_only();
    `,
  },
  {
    version: 6,
    name: 'reading commit in one round trip',
    sql: `
      -- A group commit as one statement: one round trip and the statement's own transaction, so
      -- a commit costs the server's WAL flush and not four network waits (BEGIN, lock, insert,
      -- COMMIT each wait for the server's turn on a busy machine). Takes the reading-log lock
      -- first, so log positions are assigned and become visible in commit order; inserts the new
      -- readings in batch order (keys already stored are filtered out before a position is
      -- drawn, so a duplicate burns none), the outbox rows of the newly inserted ones, and the
      -- rejections. Answers, by (device_id, idem_key), the position of each reading it inserted
      -- (inserted = true) and of each already stored one (a duplicate: where the original is).
      -- Arguments are JSON arrays of records (see connectors/postgres/reading-rows.ts).
      CREATE FUNCTION rpm_commit_readings(batch json, forwards json, refused json)
      RETURNS TABLE (seq bigint, device_id text, idem_key text, inserted boolean)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('rpm.reading-log:' || current_schema(), 0));
        RETURN QUERY
        WITH ins AS (
          INSERT INTO readings (
            id, device_id, idem_key, client_id, hub_id, patient_id, kind, code, components, reported,
            measured_at, measured_at_ms, utc_offset_min, received_at_ms, entry_method, setting, meal_context,
            glucose_method, sequence, transport, flags, recorded_by, value
          )
          SELECT
            x.id, x.device_id, x.idem_key, x.client_id, x.hub_id, x.patient_id, x.kind, x.code, x.components,
            x.reported, x.measured_at, x.measured_at_ms, x.utc_offset_min, x.received_at_ms, x.entry_method,
            x.setting, x.meal_context, x.glucose_method, x.sequence, x.transport, x.flags, x.recorded_by,
            x.value
          FROM json_to_recordset(batch) AS x(
            i integer, id text, device_id text, idem_key text, client_id text, hub_id text, patient_id text,
            kind text, code text, components json, reported json, measured_at text, measured_at_ms bigint,
            utc_offset_min integer, received_at_ms bigint, entry_method text, setting text, meal_context text,
            glucose_method text, sequence bigint, transport text, flags text[], recorded_by text,
            value double precision
          )
          WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.device_id = x.device_id AND r.idem_key = x.idem_key)
          ORDER BY x.i
          ON CONFLICT (device_id, idem_key) DO NOTHING
          RETURNING readings.seq, readings.device_id, readings.idem_key, readings.received_at_ms
        ), outbox AS (
          INSERT INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms)
          SELECT f.destination_id, ins.seq, 'pending', 0, ins.received_at_ms, ins.received_at_ms
          FROM json_to_recordset(forwards) AS f(device_id text, idem_key text, destination_id text)
          JOIN ins ON ins.device_id = f.device_id AND ins.idem_key = f.idem_key
          ON CONFLICT (destination_id, reading_seq) DO NOTHING
        ), rej AS (
          INSERT INTO rejections (device_id, received_at_ms, transport, code, path, message, client_id, payload_sha256)
          SELECT j.device_id, j.received_at_ms, j.transport, j.code, j.path, j.message, j.client_id, j.payload_sha256
          FROM json_to_recordset(refused) AS j(
            i integer, device_id text, received_at_ms bigint, transport text, code text, path text, message text,
            client_id text, payload_sha256 text
          )
          ORDER BY j.i
        )
        SELECT ins.seq, ins.device_id::text, ins.idem_key, true FROM ins
        UNION ALL
        -- The statement's snapshot does not see this statement's inserts: these were stored before.
        SELECT r.seq, r.device_id::text, r.idem_key, false
        FROM json_to_recordset(batch) AS k(device_id text, idem_key text)
        JOIN readings r ON r.device_id = k.device_id AND r.idem_key = k.idem_key;
      END;
      $$;
    `,
  },
  {
    version: 7,
    name: 'distributed mode: follower positions, rule partitions, cluster membership',
    sql: `
      -- Positions of the reading log's followers other than the rules engine (the time-series writer).
      CREATE TABLE log_progress (name text COLLATE "C" PRIMARY KEY, seq bigint NOT NULL);

      -- FNV-1a (32-bit) of the id's UTF-8 bytes, masked to 31 bits: the same function as
      -- core/cluster/partitions.ts patientHash, so a rule worker reads only its partitions.
      CREATE FUNCTION rpm_patient_hash(id text) RETURNS integer
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
      DECLARE
        h bigint := 2166136261;
        b bytea := convert_to(id, 'UTF8');
      BEGIN
        FOR i IN 0 .. length(b) - 1 LOOP
          h := ((h # get_byte(b, i)) * 16777619) & 4294967295;
        END LOOP;
        RETURN (h & 2147483647)::integer;
      END
      $$;
      ALTER TABLE patients ADD COLUMN rules_hash integer GENERATED ALWAYS AS (rpm_patient_hash(id)) STORED;

      -- One cursor per rule partition (rule_cursor is the single engine's). A partition's first
      -- pass starts from the single engine's cursor, so switching to workers re-judges nothing.
      CREATE TABLE rule_partition_cursors (
        partitions integer NOT NULL,
        partition integer NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (partitions, partition)
      );

      -- Settings fixed for the life of the database (the rule partition count).
      CREATE TABLE cluster_settings (name text COLLATE "C" PRIMARY KEY, value text NOT NULL);

      -- Live processes by role, for sharing work fairly (heartbeats; leases are advisory locks).
      CREATE TABLE cluster_nodes (
        role text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        heartbeat_at timestamptz NOT NULL,
        PRIMARY KEY (role, name)
      );
    `,
  },
  {
    version: 8,
    name: 'vendor integrations: reading source, connections, bindings, pulls',
    sql: `
      -- Which vendor delivered a reading, the SHA-256 of the payload that carried it, the vendor's
      -- record id and details (JSON, kept as written); NULL for our own JSON and FHIR in.
      ALTER TABLE readings ADD COLUMN source json;

      -- One connection per organization and vendor. config holds its credentials (JSON,
      -- encrypted with the field cipher, bound to the row).
      CREATE TABLE vendor_connections (
        organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
        vendor text COLLATE "C" NOT NULL,
        config text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        created_at_ms bigint NOT NULL,
        updated_at_ms bigint NOT NULL,
        PRIMARY KEY (organization_id, vendor)
      );

      -- The vendor's device, user or site id, bound to one of our devices. credentials: a
      -- Nightscout site's API secret, a Withings user's OAuth tokens (encrypted JSON).
      CREATE TABLE vendor_bindings (
        organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
        vendor text COLLATE "C" NOT NULL,
        external_id text COLLATE "C" NOT NULL,
        device_id text COLLATE "C" NOT NULL REFERENCES devices (id),
        credentials text,
        created_at_ms bigint NOT NULL,
        updated_at_ms bigint NOT NULL,
        PRIMARY KEY (organization_id, vendor, external_id)
      );
      CREATE INDEX vendor_bindings_by_device ON vendor_bindings (device_id);

      -- Pulls of a vendor's measures over a time range (Withings), kept until what they fetched is
      -- committed: a notification is answered only once its pull is here. Never deleted.
      CREATE TABLE vendor_pulls (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        organization_id text COLLATE "C" NOT NULL,
        vendor text COLLATE "C" NOT NULL,
        external_id text COLLATE "C" NOT NULL,
        from_ms bigint NOT NULL,
        to_ms bigint NOT NULL,
        reason text NOT NULL CHECK (reason IN ('notification', 'backfill')),
        status text NOT NULL CHECK (status IN ('pending', 'failed', 'done', 'dead')),
        attempts integer NOT NULL DEFAULT 0,
        created_at_ms bigint NOT NULL,
        next_attempt_at_ms bigint NOT NULL,
        last_attempt_at_ms bigint,
        readings integer,
        error_code text,
        error_message text
      );
      CREATE INDEX vendor_pulls_due ON vendor_pulls (next_attempt_at_ms, id) WHERE status IN ('pending', 'failed');
      CREATE INDEX vendor_pulls_by_binding ON vendor_pulls (organization_id, vendor, external_id, id);
      CREATE INDEX vendor_pulls_by_status ON vendor_pulls (status, id);

      -- The group commit of version 6, now carrying each reading's source (same signature, so
      -- callers and prepared statements are unchanged; a record without the key stores NULL).
      CREATE OR REPLACE FUNCTION rpm_commit_readings(batch json, forwards json, refused json)
      RETURNS TABLE (seq bigint, device_id text, idem_key text, inserted boolean)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('rpm.reading-log:' || current_schema(), 0));
        RETURN QUERY
        WITH ins AS (
          INSERT INTO readings (
            id, device_id, idem_key, client_id, hub_id, patient_id, kind, code, components, reported,
            measured_at, measured_at_ms, utc_offset_min, received_at_ms, entry_method, setting, meal_context,
            glucose_method, sequence, transport, flags, recorded_by, value, source
          )
          SELECT
            x.id, x.device_id, x.idem_key, x.client_id, x.hub_id, x.patient_id, x.kind, x.code, x.components,
            x.reported, x.measured_at, x.measured_at_ms, x.utc_offset_min, x.received_at_ms, x.entry_method,
            x.setting, x.meal_context, x.glucose_method, x.sequence, x.transport, x.flags, x.recorded_by,
            x.value, x.source
          FROM json_to_recordset(batch) AS x(
            i integer, id text, device_id text, idem_key text, client_id text, hub_id text, patient_id text,
            kind text, code text, components json, reported json, measured_at text, measured_at_ms bigint,
            utc_offset_min integer, received_at_ms bigint, entry_method text, setting text, meal_context text,
            glucose_method text, sequence bigint, transport text, flags text[], recorded_by text,
            value double precision, source json
          )
          WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.device_id = x.device_id AND r.idem_key = x.idem_key)
          ORDER BY x.i
          ON CONFLICT (device_id, idem_key) DO NOTHING
          RETURNING readings.seq, readings.device_id, readings.idem_key, readings.received_at_ms
        ), outbox AS (
          INSERT INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms)
          SELECT f.destination_id, ins.seq, 'pending', 0, ins.received_at_ms, ins.received_at_ms
          FROM json_to_recordset(forwards) AS f(device_id text, idem_key text, destination_id text)
          JOIN ins ON ins.device_id = f.device_id AND ins.idem_key = f.idem_key
          ON CONFLICT (destination_id, reading_seq) DO NOTHING
        ), rej AS (
          INSERT INTO rejections (device_id, received_at_ms, transport, code, path, message, client_id, payload_sha256)
          SELECT j.device_id, j.received_at_ms, j.transport, j.code, j.path, j.message, j.client_id, j.payload_sha256
          FROM json_to_recordset(refused) AS j(
            i integer, device_id text, received_at_ms bigint, transport text, code text, path text, message text,
            client_id text, payload_sha256 text
          )
          ORDER BY j.i
        )
        SELECT ins.seq, ins.device_id::text, ins.idem_key, true FROM ins
        UNION ALL
        -- The statement's snapshot does not see this statement's inserts: these were stored before.
        SELECT r.seq, r.device_id::text, r.idem_key, false
        FROM json_to_recordset(batch) AS k(device_id text, idem_key text)
        JOIN readings r ON r.device_id = k.device_id AND r.idem_key = k.idem_key;
      END;
      $$;
    `,
  },
  {
    version: 9,
    name: 'attribution log',
    sql: `
      -- Late attributions, in order (written under the reading-log lock, like commits): the rules
      -- engine follows this log as it follows the readings, in whichever process it runs.
      CREATE TABLE attributions (
        seq bigserial PRIMARY KEY,
        device_id text COLLATE "C" NOT NULL,
        patient_id text COLLATE "C" NOT NULL,
        from_ms bigint NOT NULL,
        to_ms bigint,
        -- The reading ids when only those were given to the patient (a nurse's confirmation).
        reading_ids text[],
        at_ms bigint NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'store health probe',
    sql: `
      -- One row rewritten by the readiness probe while commits fail: a durable write that holds
      -- nothing of value, to learn when the server takes writes again.
      CREATE TABLE store_probe (id integer PRIMARY KEY CHECK (id = 1), at_ms bigint NOT NULL);
    `,
  },
  {
    version: 11,
    name: 'patient identity (encrypted) and telehealth consent',
    sql: `
      -- PHI, encrypted by the adapter (core/crypto/identity-secrets.ts): the identity column is
      -- AES-256-GCM bound to the row; MRN and phone are findable only by keyed blind index.
      CREATE TABLE patient_identities (
        patient_id text COLLATE "C" PRIMARY KEY REFERENCES patients (id),
        organization_id text COLLATE "C",
        identity text NOT NULL,
        mrn_index text COLLATE "C" NOT NULL,
        phone_index text COLLATE "C",
        version integer NOT NULL,
        updated_at_ms bigint NOT NULL,
        updated_by text NOT NULL
      );
      CREATE UNIQUE INDEX patient_identities_mrn ON patient_identities (organization_id, mrn_index);
      CREATE INDEX patient_identities_phone ON patient_identities (phone_index);

      -- Append-only: who recorded a patient's telehealth consent (or its withdrawal), when, how.
      CREATE TABLE telehealth_consents (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        patient_id text COLLATE "C" NOT NULL REFERENCES patients (id),
        granted boolean NOT NULL,
        method text NOT NULL CHECK (method IN ('verbal', 'written', 'electronic')),
        obtained_at_ms bigint NOT NULL,
        recorded_by text NOT NULL,
        recorded_at_ms bigint NOT NULL
      );
      CREATE INDEX telehealth_consents_by_patient ON telehealth_consents (patient_id, obtained_at_ms);
      CREATE FUNCTION rpm_consents_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'consents are append-only'; END $$;
      CREATE TRIGGER telehealth_consents_append_only BEFORE UPDATE OR DELETE ON telehealth_consents
        FOR EACH ROW EXECUTE FUNCTION rpm_consents_append_only();
    `,
  },
  {
    version: 12,
    name: 'scheduling: availability, appointment types, appointments, delayed jobs, calendar feeds',
    sql: `
      CREATE TABLE staff_availability (
        staff_id text COLLATE "C" PRIMARY KEY,
        organization_id text COLLATE "C" NOT NULL,
        time_zone text NOT NULL,
        weekly json NOT NULL,
        exceptions json NOT NULL,
        version integer NOT NULL,
        updated_at_ms bigint NOT NULL
      );

      CREATE TABLE appointment_types (
        organization_id text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        name text NOT NULL,
        duration_minutes integer NOT NULL,
        modality text NOT NULL CHECK (modality IN ('video', 'phone', 'in-person')),
        created_at_ms bigint NOT NULL,
        PRIMARY KEY (organization_id, id)
      );

      -- No clinical content. Writers that could overlap (same staff member or patient) take
      -- transaction advisory locks on both before the overlap check, so two bookings of one slot
      -- cannot both pass.
      CREATE TABLE appointments (
        id text COLLATE "C" PRIMARY KEY,
        organization_id text COLLATE "C" NOT NULL,
        patient_id text COLLATE "C" NOT NULL,
        staff_id text COLLATE "C" NOT NULL,
        type_id text COLLATE "C" NOT NULL,
        modality text NOT NULL,
        start_ms bigint NOT NULL,
        end_ms bigint NOT NULL,
        status text NOT NULL CHECK (status IN ('booked', 'cancelled', 'completed', 'no-show')),
        version integer NOT NULL,
        patient_response text CHECK (patient_response IN ('confirmed', 'reschedule-requested')),
        patient_responded_at_ms bigint,
        created_at_ms bigint NOT NULL,
        created_by text NOT NULL,
        updated_at_ms bigint NOT NULL,
        updated_by text NOT NULL
      );
      CREATE INDEX appointments_by_staff ON appointments (staff_id, start_ms);
      CREATE INDEX appointments_by_patient ON appointments (patient_id, start_ms);
      CREATE INDEX appointments_by_organization ON appointments (organization_id, start_ms);

      -- Durable delayed jobs (visit reminders): references only, never PHI.
      CREATE TABLE delayed_jobs (
        id text COLLATE "C" PRIMARY KEY,
        kind text NOT NULL,
        job_group text COLLATE "C" NOT NULL,
        payload json NOT NULL,
        due_at_ms bigint NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'cancelled', 'dead')),
        attempts integer NOT NULL DEFAULT 0,
        lease_owner text,
        lease_until_ms bigint,
        created_at_ms bigint NOT NULL,
        finished_at_ms bigint,
        result text,
        last_error text
      );
      CREATE INDEX delayed_jobs_due ON delayed_jobs (status, due_at_ms);
      CREATE INDEX delayed_jobs_by_group ON delayed_jobs (job_group);

      CREATE TABLE calendar_feed_tokens (
        staff_id text COLLATE "C" PRIMARY KEY,
        token_sha256 text COLLATE "C" NOT NULL UNIQUE,
        created_at_ms bigint NOT NULL
      );
    `,
  },
  {
    version: 13,
    name: 'FHIR destinations may take appointments',
    sql: `
      -- true: the destination also receives the organization's visits as FHIR Appointments.
      ALTER TABLE fhir_destinations ADD COLUMN appointments boolean NOT NULL DEFAULT false;
    `,
  },
  {
    version: 14,
    name: 'video visits, their patient links and participants; modality of time entries',
    sql: `
      -- How an interactive contact was held ('video' | 'audio'); NULL for timers and typed-in time.
      ALTER TABLE time_entries ADD COLUMN modality text;
      -- Video visits. Link and patient-session secrets are kept only as SHA-256 hashes (hex).
      CREATE TABLE visits (
        id text COLLATE "C" PRIMARY KEY,
        organization_id text COLLATE "C" NOT NULL,
        patient_id text COLLATE "C" NOT NULL,
        staff_id text COLLATE "C" NOT NULL,
        alert_id text,
        provider text NOT NULL,
        room text NOT NULL,
        modality text NOT NULL,
        created_at_ms bigint NOT NULL,
        started_at_ms bigint,
        ended_at_ms bigint,
        end_reason text,
        link_hash text NOT NULL,
        link_expires_at_ms bigint NOT NULL,
        link_used_at_ms bigint,
        patient_session_hash text,
        time_entry_id text
      );
      CREATE UNIQUE INDEX visits_link ON visits (link_hash);
      CREATE UNIQUE INDEX visits_patient_session ON visits (patient_session_hash) WHERE patient_session_hash IS NOT NULL;
      CREATE INDEX visits_by_patient ON visits (organization_id, patient_id, created_at_ms);
      CREATE INDEX visits_by_staff ON visits (organization_id, staff_id, created_at_ms);
      CREATE INDEX visits_open ON visits (created_at_ms) WHERE ended_at_ms IS NULL;
      CREATE TABLE visit_participants (
        seq bigserial PRIMARY KEY,
        visit_id text COLLATE "C" NOT NULL,
        role text NOT NULL,
        actor text NOT NULL,
        joined_at_ms bigint NOT NULL,
        left_at_ms bigint
      );
      CREATE INDEX visit_participants_by_visit ON visit_participants (visit_id, seq);
    `,
  },
  {
    version: 15,
    name: 'RPM billing: episodes, sign-offs, amendments',
    sql: `
      -- Each patient's RPM episode (rules/billing/ledger.ts BillingEpisode), the current one and every save.
      CREATE TABLE billing_episodes (
        patient_id text COLLATE "C" PRIMARY KEY,
        organization_id text COLLATE "C" NOT NULL,
        start_date text NOT NULL,
        end_date text,
        time_zone text NOT NULL,
        billing_practitioner_id text,
        saved_by text NOT NULL,
        saved_at_ms bigint NOT NULL,
        reason text
      );
      CREATE INDEX billing_episodes_by_organization ON billing_episodes (organization_id, patient_id);
      CREATE TABLE billing_episode_history (
        seq bigserial PRIMARY KEY,
        patient_id text COLLATE "C" NOT NULL,
        organization_id text COLLATE "C" NOT NULL,
        start_date text NOT NULL,
        end_date text,
        time_zone text NOT NULL,
        billing_practitioner_id text,
        saved_by text NOT NULL,
        saved_at_ms bigint NOT NULL,
        reason text
      );
      CREATE INDEX billing_episode_history_by_patient ON billing_episode_history (patient_id, seq);

      -- A physician's sign-off freezes a period: one per (organization, period), never rewritten.
      CREATE TABLE billing_sign_offs (
        organization_id text COLLATE "C" NOT NULL,
        period_key text COLLATE "C" NOT NULL,
        patient_id text COLLATE "C" NOT NULL,
        signed_by text NOT NULL,
        signed_at_ms bigint NOT NULL,
        line jsonb NOT NULL,
        line_sha256 text NOT NULL,
        PRIMARY KEY (organization_id, period_key)
      );
      CREATE INDEX billing_sign_offs_by_patient ON billing_sign_offs (organization_id, patient_id);
      CREATE TABLE billing_amendments (
        organization_id text COLLATE "C" NOT NULL,
        period_key text COLLATE "C" NOT NULL,
        revision integer NOT NULL CHECK (revision >= 1),
        amended_by text NOT NULL,
        amended_at_ms bigint NOT NULL,
        reason text NOT NULL,
        line jsonb NOT NULL,
        line_sha256 text NOT NULL,
        PRIMARY KEY (organization_id, period_key, revision),
        FOREIGN KEY (organization_id, period_key) REFERENCES billing_sign_offs (organization_id, period_key)
      );
      CREATE FUNCTION rpm_billing_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END;
      $$;
      CREATE TRIGGER billing_sign_offs_append_only BEFORE UPDATE OR DELETE ON billing_sign_offs
        FOR EACH ROW EXECUTE FUNCTION rpm_billing_is_append_only();
      CREATE TRIGGER billing_sign_offs_no_truncate BEFORE TRUNCATE ON billing_sign_offs
        FOR EACH STATEMENT EXECUTE FUNCTION rpm_billing_is_append_only();
      CREATE TRIGGER billing_amendments_append_only BEFORE UPDATE OR DELETE ON billing_amendments
        FOR EACH ROW EXECUTE FUNCTION rpm_billing_is_append_only();
      CREATE TRIGGER billing_amendments_no_truncate BEFORE TRUNCATE ON billing_amendments
        FOR EACH STATEMENT EXECUTE FUNCTION rpm_billing_is_append_only();
    `,
  },
  {
    version: 16,
    name: 'staff alert notification settings',
    sql: `
      -- A staff member's choice of title badge, desktop notification and sound (core/model/staff.ts AlertSettings).
      ALTER TABLE staff ADD COLUMN alert_settings jsonb;
    `,
  },
  {
    version: 17,
    name: 'time entries: allowed modalities',
    sql: `
      -- The modality column itself comes from migration 14 (video visits). Allowed values: video,
      -- audio or secure-message (core/model/visit.ts TIME_MODALITIES; billing: secure messaging alone
      -- is not real-time interactive); null = not recorded.
      ALTER TABLE time_entries ADD CONSTRAINT time_entries_modality_check CHECK (modality IN ('video', 'audio', 'secure-message'));
    `,
  },
  {
    version: 18,
    name: 'staff second factors, access policy, break-glass grants',
    sql: `
      -- A staff member's TOTP factor; the secret sealed by the gateway's field cipher.
      CREATE TABLE staff_totp (
        staff_id text COLLATE "C" PRIMARY KEY REFERENCES staff (id),
        secret_sealed text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'active')),
        created_at_ms bigint NOT NULL,
        activated_at_ms bigint,
        last_used_step bigint
      );
      -- Recovery codes: SHA-256 only, each good for one sign-in.
      CREATE TABLE staff_recovery_codes (
        staff_id text COLLATE "C" NOT NULL REFERENCES staff (id),
        code_sha256 text NOT NULL,
        created_at_ms bigint NOT NULL,
        used_at_ms bigint,
        PRIMARY KEY (staff_id, code_sha256)
      );
      CREATE TABLE organization_access_policies (
        organization_id text COLLATE "C" PRIMARY KEY REFERENCES organizations (id),
        mfa_required boolean NOT NULL,
        -- OpenID Connect single sign-on; the client secret sealed by the gateway's field cipher.
        sso_issuer text,
        sso_client_id text,
        sso_client_secret_sealed text
      );
      -- Emergency access to one patient outside the staff member's scope; never deleted.
      CREATE TABLE break_glass_grants (
        id text COLLATE "C" PRIMARY KEY,
        staff_id text COLLATE "C" NOT NULL REFERENCES staff (id),
        organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
        patient_id text COLLATE "C" NOT NULL REFERENCES patients (id),
        reason text NOT NULL,
        granted_at_ms bigint NOT NULL,
        expires_at_ms bigint NOT NULL,
        ended_at_ms bigint,
        reviewed_at_ms bigint,
        reviewed_by text
      );
      CREATE INDEX break_glass_by_staff ON break_glass_grants (staff_id, patient_id, expires_at_ms);
      CREATE INDEX break_glass_by_organization ON break_glass_grants (organization_id, granted_at_ms);
    `,
  },
  {
    version: 19,
    name: 'FHIR destinations may take encounters; video visits linked to appointments',
    sql: `
      -- true: the destination also receives the organization's video visits as FHIR Encounters.
      ALTER TABLE fhir_destinations ADD COLUMN encounters boolean NOT NULL DEFAULT false;
      -- How the destination knows our staff: staff id → the EHR's Practitioner reference.
      ALTER TABLE fhir_destinations ADD COLUMN practitioners jsonb NOT NULL DEFAULT '{}'::jsonb;
      -- The booked appointment a visit was started from (null: started from a patient or an alert).
      ALTER TABLE visits ADD COLUMN appointment_id text COLLATE "C";
      CREATE INDEX visits_by_appointment ON visits (appointment_id) WHERE appointment_id IS NOT NULL;
      -- A hosted provider's webhook names the room (LiveKit room_finished, participant_joined/left).
      CREATE INDEX visits_by_room ON visits (room);
    `,
  },
];
