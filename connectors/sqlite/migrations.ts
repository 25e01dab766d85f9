/**
 * Schema migrations, applied in order inside one transaction each and recorded in
 * `schema_migrations`. Never edit a shipped migration; add the next one.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /**
   * Rebuilds a table that others reference (SQLite's "12-step" table change): foreign keys are
   * off while it runs, as SQLite requires, and `PRAGMA foreign_key_check` must find nothing
   * before it commits.
   */
  readonly rebuildsTables?: true;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'registry, readings, rejections, audit',
    sql: `
      -- Patients are opaque references; no names or demographics live here.
      CREATE TABLE patients (
        id TEXT PRIMARY KEY,
        organization_id TEXT,
        created_at_ms INTEGER NOT NULL
      );

      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        manufacturer TEXT,
        model TEXT,
        serial TEXT,
        hub_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at_ms INTEGER NOT NULL,
        revoked_at_ms INTEGER,
        last_seen_at_ms INTEGER,
        online INTEGER NOT NULL DEFAULT 0
      );

      -- Only a slow hash of each secret is stored; rows are never deleted.
      CREATE TABLE device_credentials (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id),
        secret_hash TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER,
        revoked_at_ms INTEGER
      );
      CREATE INDEX device_credentials_by_device ON device_credentials(device_id);

      -- Assignment history: [from_ms, to_ms), to_ms NULL while open.
      CREATE TABLE device_assignments (
        device_id TEXT NOT NULL REFERENCES devices(id),
        patient_id TEXT NOT NULL REFERENCES patients(id),
        from_ms INTEGER NOT NULL,
        to_ms INTEGER,
        PRIMARY KEY (device_id, from_ms)
      );
      CREATE INDEX device_assignments_by_patient ON device_assignments(patient_id);

      -- Dedupe is the unique (device_id, idem_key) index: per-device keys arrive in near order,
      -- so inserts stay on a few hot pages. id = hash(device, key) is derived, so it needs no index.
      CREATE TABLE readings (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        client_id TEXT,
        hub_id TEXT,
        patient_id TEXT,
        kind TEXT NOT NULL,
        code TEXT NOT NULL,
        value REAL,
        components TEXT NOT NULL,
        reported TEXT NOT NULL,
        measured_at TEXT NOT NULL,
        measured_at_ms INTEGER NOT NULL,
        utc_offset_min INTEGER NOT NULL,
        received_at_ms INTEGER NOT NULL,
        entry_method TEXT NOT NULL,
        setting TEXT NOT NULL,
        meal_context TEXT,
        glucose_method TEXT,
        sequence INTEGER,
        transport TEXT NOT NULL,
        flags TEXT NOT NULL DEFAULT ''
      );
      CREATE UNIQUE INDEX readings_dedupe ON readings(device_id, idem_key);
      CREATE INDEX readings_by_patient_time ON readings(patient_id, measured_at_ms);
      CREATE INDEX readings_unassigned ON readings(device_id, measured_at_ms) WHERE patient_id IS NULL;

      CREATE TABLE rejections (
        seq INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        received_at_ms INTEGER NOT NULL,
        transport TEXT NOT NULL,
        code TEXT NOT NULL,
        path TEXT,
        message TEXT NOT NULL,
        client_id TEXT,
        payload_sha256 TEXT
      );
      CREATE INDEX rejections_by_device ON rejections(device_id, seq);

      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        outcome TEXT NOT NULL,
        source_ip TEXT,
        details TEXT
      );
      CREATE INDEX audit_log_by_subject ON audit_log(subject, seq);
    `,
  },
  {
    version: 2,
    name: 'organizations, staff, sessions, care teams',
    sql: `
      CREATE TABLE organizations (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
      );
      -- Organizations that patients already name become real ones, so that existing patients
      -- stay visible to the staff of their organization.
      INSERT INTO organizations (id, name, created_at_ms)
        SELECT DISTINCT organization_id, organization_id, 0 FROM patients WHERE organization_id IS NOT NULL;

      -- email is stored lower-cased, so UNIQUE is case-insensitive.
      CREATE TABLE staff (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('nurse', 'physician', 'admin')),
        organization_id TEXT NOT NULL REFERENCES organizations(id),
        display_name TEXT,
        status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
        is_charge_nurse INTEGER NOT NULL DEFAULT 0,
        phone TEXT,
        created_at_ms INTEGER NOT NULL
      );
      CREATE INDEX staff_by_organization ON staff(organization_id, role);

      -- Kept apart from staff so that no query of accounts can carry a hash along.
      CREATE TABLE staff_passwords (
        staff_id TEXT PRIMARY KEY REFERENCES staff(id),
        password_hash TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );

      -- Keyed by the SHA-256 of the bearer token; the token is never stored.
      CREATE TABLE staff_sessions (
        token_sha256 TEXT PRIMARY KEY,
        staff_id TEXT NOT NULL REFERENCES staff(id),
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        last_active_at_ms INTEGER NOT NULL,
        revoked_at_ms INTEGER
      );
      CREATE INDEX staff_sessions_by_staff ON staff_sessions(staff_id);
      CREATE INDEX staff_sessions_by_expiry ON staff_sessions(expires_at_ms);

      CREATE TABLE care_teams (
        id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL REFERENCES organizations(id),
        name TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
      );
      CREATE INDEX care_teams_by_organization ON care_teams(organization_id);

      CREATE TABLE care_team_members (
        team_id TEXT NOT NULL REFERENCES care_teams(id),
        staff_id TEXT NOT NULL REFERENCES staff(id),
        added_at_ms INTEGER NOT NULL,
        PRIMARY KEY (team_id, staff_id)
      );
      CREATE INDEX care_team_members_by_staff ON care_team_members(staff_id);

      CREATE TABLE care_team_patients (
        team_id TEXT NOT NULL REFERENCES care_teams(id),
        patient_id TEXT NOT NULL REFERENCES patients(id),
        added_at_ms INTEGER NOT NULL,
        PRIMARY KEY (team_id, patient_id)
      );
      CREATE INDEX care_team_patients_by_patient ON care_team_patients(patient_id);
      CREATE INDEX patients_by_organization ON patients(organization_id, id);
    `,
  },
  {
    version: 3,
    name: 'simulated devices, FHIR destinations and the delivery outbox',
    sql: `
      -- Readings of simulated devices reach EHRs tagged as test data (HTEST).
      ALTER TABLE devices ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;

      -- auth holds the destination's credentials (JSON): this file is as sensitive as the readings.
      CREATE TABLE fhir_destinations (
        id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL REFERENCES organizations(id),
        base_url TEXT NOT NULL,
        auth TEXT NOT NULL,
        patient_mapping TEXT NOT NULL,
        kinds TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        batch_size INTEGER,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      CREATE INDEX fhir_destinations_by_organization ON fhir_destinations(organization_id);

      -- Transactional outbox: rows are inserted by the reading writer in the reading's own
      -- transaction, so a committed reading always has its deliveries. One per (destination, reading).
      CREATE TABLE fhir_outbox (
        seq INTEGER PRIMARY KEY,
        destination_id TEXT NOT NULL REFERENCES fhir_destinations(id),
        reading_seq INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'failed', 'delivered', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        next_attempt_at_ms INTEGER NOT NULL,
        last_attempt_at_ms INTEGER,
        delivered_at_ms INTEGER,
        error_code TEXT,
        error_message TEXT,
        outcome TEXT,
        refs TEXT
      );
      CREATE UNIQUE INDEX fhir_outbox_once ON fhir_outbox(destination_id, reading_seq);
      CREATE INDEX fhir_outbox_due ON fhir_outbox(destination_id, next_attempt_at_ms, seq) WHERE status IN ('pending', 'failed');
      CREATE INDEX fhir_outbox_by_status ON fhir_outbox(status, seq);
    `,
  },
  {
    version: 4,
    name: 'device battery level',
    sql: `
      -- Device status, from the newest reading that carried it (not a reading column: not a vital).
      ALTER TABLE devices ADD COLUMN battery_percent REAL;
      ALTER TABLE devices ADD COLUMN battery_at_ms INTEGER;
    `,
  },
  {
    version: 5,
    name: 'FHIR patient links and the open-outbox index',
    sql: `
      -- How each destination's EHR knows each patient: the identifier an admin gave (the MRN,
      -- encrypted like the destination credentials) and the EHR's Patient, set by an admin or
      -- found by a search on that identifier (then cached here).
      CREATE TABLE fhir_patient_links (
        destination_id TEXT NOT NULL REFERENCES fhir_destinations(id),
        patient_id TEXT NOT NULL REFERENCES patients(id),
        identifier TEXT,
        reference TEXT,
        reference_source TEXT CHECK (reference_source IN ('admin', 'search')),
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (destination_id, patient_id)
      );

      -- Deliveries that are not delivered (the few, beside the many delivered ones): per-destination
      -- backlog, oldest waiting and dead letters, answered without touching delivered rows.
      CREATE INDEX fhir_outbox_open ON fhir_outbox(destination_id, status, seq) WHERE status IN ('pending', 'failed', 'dead');
    `,
  },
  {
    version: 6,
    name: 'tamper-evident audit log: hash chain, patients disclosed, append-only triggers',
    sql: `
      -- Each entry carries the hash of the previous one (core/audit/chain.ts). Entries written
      -- before this migration are sealed once, in order, when the store opens.
      ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
      ALTER TABLE audit_log ADD COLUMN hash TEXT;

      -- Patients an access disclosed besides its subject (a worklist read, a device list), so
      -- an accounting of one patient's disclosures is one indexed query.
      CREATE TABLE audit_log_patients (
        patient_id TEXT NOT NULL,
        seq INTEGER NOT NULL REFERENCES audit_log(seq),
        PRIMARY KEY (patient_id, seq)
      ) WITHOUT ROWID;

      -- Append-only. Anyone with the file can drop a trigger; the hash chain (and a head anchored
      -- elsewhere) is what makes such an edit evident.
      CREATE TRIGGER audit_log_insert_sealed BEFORE INSERT ON audit_log WHEN NEW.hash IS NULL OR NEW.prev_hash IS NULL
        BEGIN SELECT RAISE(ABORT, 'audit_log: entries are inserted sealed (prev_hash, hash)'); END;
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN OLD.hash IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_patients_no_update BEFORE UPDATE ON audit_log_patients
        BEGIN SELECT RAISE(ABORT, 'audit_log_patients is append-only'); END;
      CREATE TRIGGER audit_log_patients_no_delete BEFORE DELETE ON audit_log_patients
        BEGIN SELECT RAISE(ABORT, 'audit_log_patients is append-only'); END;
    `,
  },
  {
    version: 7,
    name: 'tenant-scoped staff emails and care team ids',
    rebuildsTables: true,
    sql: `
      -- An email is unique within an organization, no longer across them: another tenant creating
      -- an account with an email used elsewhere must not learn that it is (issue 11). A login
      -- without an organization takes the oldest account with the email.
      CREATE TABLE staff_v6 (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('nurse', 'physician', 'admin')),
        organization_id TEXT NOT NULL REFERENCES organizations(id),
        display_name TEXT,
        status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
        is_charge_nurse INTEGER NOT NULL DEFAULT 0,
        phone TEXT,
        created_at_ms INTEGER NOT NULL,
        UNIQUE (organization_id, email)
      );
      INSERT INTO staff_v6 (id, email, role, organization_id, display_name, status, is_charge_nurse, phone, created_at_ms)
        SELECT id, email, role, organization_id, display_name, status, is_charge_nurse, phone, created_at_ms FROM staff;

      -- Care team ids are chosen by the organization and unique within it, for the same reason.
      CREATE TABLE care_teams_v6 (
        organization_id TEXT NOT NULL REFERENCES organizations(id),
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (organization_id, id)
      );
      INSERT INTO care_teams_v6 (organization_id, id, name, created_at_ms) SELECT organization_id, id, name, created_at_ms FROM care_teams;

      CREATE TABLE care_team_members_v6 (
        organization_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        staff_id TEXT NOT NULL REFERENCES staff(id),
        added_at_ms INTEGER NOT NULL,
        PRIMARY KEY (organization_id, team_id, staff_id),
        FOREIGN KEY (organization_id, team_id) REFERENCES care_teams(organization_id, id)
      );
      INSERT INTO care_team_members_v6 (organization_id, team_id, staff_id, added_at_ms)
        SELECT t.organization_id, m.team_id, m.staff_id, m.added_at_ms FROM care_team_members m JOIN care_teams t ON t.id = m.team_id;

      CREATE TABLE care_team_patients_v6 (
        organization_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        patient_id TEXT NOT NULL REFERENCES patients(id),
        added_at_ms INTEGER NOT NULL,
        PRIMARY KEY (organization_id, team_id, patient_id),
        FOREIGN KEY (organization_id, team_id) REFERENCES care_teams(organization_id, id)
      );
      INSERT INTO care_team_patients_v6 (organization_id, team_id, patient_id, added_at_ms)
        SELECT t.organization_id, p.team_id, p.patient_id, p.added_at_ms FROM care_team_patients p JOIN care_teams t ON t.id = p.team_id;

      DROP TABLE care_team_members;
      DROP TABLE care_team_patients;
      DROP TABLE care_teams;
      DROP TABLE staff;
      ALTER TABLE staff_v6 RENAME TO staff;
      ALTER TABLE care_teams_v6 RENAME TO care_teams;
      ALTER TABLE care_team_members_v6 RENAME TO care_team_members;
      ALTER TABLE care_team_patients_v6 RENAME TO care_team_patients;
      CREATE INDEX staff_by_organization ON staff(organization_id, role);
      CREATE INDEX staff_by_email ON staff(email, created_at_ms);
      CREATE INDEX care_team_members_by_staff ON care_team_members(staff_id);
      CREATE INDEX care_team_patients_by_patient ON care_team_patients(patient_id);
    `,
  },
  {
    version: 8,
    name: 'login history: sources that signed in, failed attempts since the last sign-in',
    sql: `
      -- Addresses (an IPv6 /64) an account signed in from: logins from them skip the per-account
      -- delay that wrong passwords from elsewhere build up, so a guesser cannot lock a nurse out.
      CREATE TABLE staff_login_sources (
        staff_id TEXT NOT NULL REFERENCES staff(id),
        source TEXT NOT NULL,
        last_success_at_ms INTEGER NOT NULL,
        PRIMARY KEY (staff_id, source)
      ) WITHOUT ROWID;

      -- Wrong passwords since the account's last sign-in, told to its owner at the next one.
      CREATE TABLE staff_login_failures (
        staff_id TEXT PRIMARY KEY REFERENCES staff(id),
        count INTEGER NOT NULL,
        first_at_ms INTEGER NOT NULL,
        last_at_ms INTEGER NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'one reading per (device, kind, instant); who entered a manual reading; display settings',
    sql: `
      -- A reading's identity is (measuring device, kind, measurement instant), with or without a
      -- client id (a device cannot measure one kind twice at one instant). Rows stored under a
      -- client-id key move to the natural key, so a retry after the upgrade is still a duplicate;
      -- OR IGNORE keeps the rare pair that was stored twice before (both stay, as history).
      UPDATE OR IGNORE readings SET idem_key = 'k:' || kind || ':' || measured_at_ms WHERE idem_key LIKE 'c:%';
      -- Readings a staff member entered through the staff API (entry_method 'manual').
      ALTER TABLE readings ADD COLUMN recorded_by TEXT;
      -- Display units and time zone (JSON, partial): the organization's, and a staff member's own.
      ALTER TABLE organizations ADD COLUMN display TEXT;
      ALTER TABLE staff ADD COLUMN display TEXT;
    `,
  },
  {
    version: 10,
    name: 'vendor integrations: reading source, connections, bindings, pulls',
    sql: `
      -- Which vendor delivered a reading, the SHA-256 of the payload that carried it, the vendor's
      -- record id and details (JSON); NULL for our own JSON and FHIR in.
      ALTER TABLE readings ADD COLUMN source TEXT;

      -- One connection per organization and vendor. config holds its credentials (JSON,
      -- encrypted with the field cipher, bound to the row).
      CREATE TABLE vendor_connections (
        organization_id TEXT NOT NULL REFERENCES organizations(id),
        vendor TEXT NOT NULL,
        config TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (organization_id, vendor)
      );

      -- The vendor's device, user or site id, bound to one of our devices. credentials: a
      -- Nightscout site's API secret, a Withings user's OAuth tokens (encrypted JSON).
      CREATE TABLE vendor_bindings (
        organization_id TEXT NOT NULL REFERENCES organizations(id),
        vendor TEXT NOT NULL,
        external_id TEXT NOT NULL,
        device_id TEXT NOT NULL REFERENCES devices(id),
        credentials TEXT,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (organization_id, vendor, external_id)
      );
      CREATE INDEX vendor_bindings_by_device ON vendor_bindings(device_id);

      -- Pulls of a vendor's measures over a time range (Withings), kept until what they fetched is
      -- committed: a notification is answered only once its pull is here.
      CREATE TABLE vendor_pulls (
        id INTEGER PRIMARY KEY,
        organization_id TEXT NOT NULL,
        vendor TEXT NOT NULL,
        external_id TEXT NOT NULL,
        from_ms INTEGER NOT NULL,
        to_ms INTEGER NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('notification', 'backfill')),
        status TEXT NOT NULL CHECK (status IN ('pending', 'failed', 'done', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        next_attempt_at_ms INTEGER NOT NULL,
        last_attempt_at_ms INTEGER,
        readings INTEGER,
        error_code TEXT,
        error_message TEXT
      );
      CREATE INDEX vendor_pulls_due ON vendor_pulls(next_attempt_at_ms, id) WHERE status IN ('pending', 'failed');
      CREATE INDEX vendor_pulls_by_binding ON vendor_pulls(organization_id, vendor, external_id, id);
    `,
  },
  {
    version: 11,
    name: 'attribution log',
    sql: `
      -- Late attributions, in order: the rules engine follows this log as it follows the readings,
      -- so readings attributed while it was down (or in another process) are still judged.
      CREATE TABLE attributions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        from_ms INTEGER NOT NULL,
        to_ms INTEGER,
        -- JSON array of reading ids when only those were given to the patient (a nurse's confirmation).
        reading_ids TEXT,
        at_ms INTEGER NOT NULL
      );
    `,
  },
  {
    version: 12,
    name: 'store health probe',
    sql: `
      -- One row rewritten by the readiness probe while commits fail: a durable write that holds
      -- nothing of value, to learn when the disk takes writes again.
      CREATE TABLE store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms INTEGER NOT NULL);
    `,
  },
  {
    version: 13,
    name: 'patient identity (encrypted) and telehealth consent',
    sql: `
      -- PHI, encrypted by the adapter (core/crypto/identity-secrets.ts): the identity column is
      -- AES-256-GCM bound to the row; MRN and phone are findable only by keyed blind index.
      CREATE TABLE patient_identities (
        patient_id TEXT PRIMARY KEY REFERENCES patients(id),
        organization_id TEXT,
        identity TEXT NOT NULL,
        mrn_index TEXT NOT NULL,
        phone_index TEXT,
        version INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        updated_by TEXT NOT NULL
      );
      CREATE UNIQUE INDEX patient_identities_mrn ON patient_identities (organization_id, mrn_index);
      CREATE INDEX patient_identities_phone ON patient_identities (phone_index);

      -- Append-only: who recorded a patient's telehealth consent (or its withdrawal), when, how.
      CREATE TABLE telehealth_consents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        patient_id TEXT NOT NULL REFERENCES patients(id),
        granted INTEGER NOT NULL CHECK (granted IN (0, 1)),
        method TEXT NOT NULL CHECK (method IN ('verbal', 'written', 'electronic')),
        obtained_at_ms INTEGER NOT NULL,
        recorded_by TEXT NOT NULL,
        recorded_at_ms INTEGER NOT NULL
      );
      CREATE INDEX telehealth_consents_by_patient ON telehealth_consents (patient_id, obtained_at_ms);
      CREATE TRIGGER telehealth_consents_no_update BEFORE UPDATE ON telehealth_consents BEGIN SELECT RAISE(ABORT, 'consents are append-only'); END;
      CREATE TRIGGER telehealth_consents_no_delete BEFORE DELETE ON telehealth_consents BEGIN SELECT RAISE(ABORT, 'consents are append-only'); END;
    `,
  },
  {
    version: 14,
    name: 'FHIR destinations may take appointments',
    sql: `
      -- 1: the destination also receives the organization's visits as FHIR Appointments.
      ALTER TABLE fhir_destinations ADD COLUMN appointments INTEGER NOT NULL DEFAULT 0 CHECK (appointments IN (0, 1));
    `,
  },
  {
    version: 15,
    name: 'staff alert notification settings',
    sql: `
      -- A staff member's choice of title badge, desktop notification and sound (core/model/staff.ts AlertSettings), JSON.
      ALTER TABLE staff ADD COLUMN alert_settings TEXT;
    `,
  },
  {
    version: 16,
    name: 'staff second factors, access policy, break-glass grants',
    sql: `
      -- A staff member's TOTP factor; the secret sealed by the gateway's field cipher.
      CREATE TABLE staff_totp (
        staff_id TEXT PRIMARY KEY REFERENCES staff(id),
        secret_sealed TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'active')),
        created_at_ms INTEGER NOT NULL,
        activated_at_ms INTEGER,
        last_used_step INTEGER
      );
      -- Recovery codes: SHA-256 only, each good for one sign-in.
      CREATE TABLE staff_recovery_codes (
        staff_id TEXT NOT NULL REFERENCES staff(id),
        code_sha256 TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        used_at_ms INTEGER,
        PRIMARY KEY (staff_id, code_sha256)
      );
      CREATE TABLE organization_access_policies (
        organization_id TEXT PRIMARY KEY REFERENCES organizations(id),
        mfa_required INTEGER NOT NULL CHECK (mfa_required IN (0, 1)),
        -- OpenID Connect single sign-on; the client secret sealed by the gateway's field cipher.
        sso_issuer TEXT,
        sso_client_id TEXT,
        sso_client_secret_sealed TEXT
      );
      -- Emergency access to one patient outside the staff member's scope; never deleted.
      CREATE TABLE break_glass_grants (
        id TEXT PRIMARY KEY,
        staff_id TEXT NOT NULL REFERENCES staff(id),
        organization_id TEXT NOT NULL REFERENCES organizations(id),
        patient_id TEXT NOT NULL REFERENCES patients(id),
        reason TEXT NOT NULL,
        granted_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        ended_at_ms INTEGER,
        reviewed_at_ms INTEGER,
        reviewed_by TEXT
      );
      CREATE INDEX break_glass_by_staff ON break_glass_grants(staff_id, patient_id, expires_at_ms);
      CREATE INDEX break_glass_by_organization ON break_glass_grants(organization_id, granted_at_ms);
    `,
  },
  {
    version: 17,
    name: 'FHIR destinations may take encounters, and know our staff as practitioners',
    sql: `
      -- 1: the destination also receives the organization's video visits as FHIR Encounters.
      ALTER TABLE fhir_destinations ADD COLUMN encounters INTEGER NOT NULL DEFAULT 0 CHECK (encounters IN (0, 1));
      -- How the destination knows our staff: JSON object, staff id → the EHR's Practitioner reference.
      ALTER TABLE fhir_destinations ADD COLUMN practitioners TEXT NOT NULL DEFAULT '{}';
    `,
  },
];
