import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestGateway, tempDir, type TestGateway } from './helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

/**
 * Identity and scheduling through the whole gateway on PostgreSQL (RPM_STORE=postgres): the
 * identity row holds no plaintext, concurrent bookings of one slot over HTTP let exactly one
 * through, and the booking's reminder jobs sit in the same database, without PHI.
 */
describe('identity and scheduling on PostgreSQL', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let t: TestGateway;
  const dataDir = tempDir('rpm-pg-scheduling-');
  let nurse = '';
  let staffId = '';

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.client();
    t = await startTestGateway({ RPM_STORE: 'postgres', RPM_DATABASE_URL: db.url, RPM_DATABASE_POOL_SIZE: '8', RPM_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}` }, { dataDir });
    await t.admin.createOrganization('clinic');
    staffId = (await t.admin.createStaff({ email: 'ann@clinic.example', role: 'nurse', organizationId: 'clinic' })).id;
    nurse = await t.admin.login('ann@clinic.example');
    for (let i = 0; i < 8; i++) await t.admin.createPatient(`p-${i}`, { organizationId: 'clinic' });
    const weekly = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '23:59' }));
    expect((await request(`${t.baseUrl}/v1/staff/${staffId}/availability`, { method: 'PUT', token: nurse, json: { timeZone: 'UTC', weekly } })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await sql?.end();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps identity encrypted in the table (no name, phone, MRN or birth date in clear)', async () => {
    const put = await request(`${t.baseUrl}/v1/patients/p-0/identity`, {
      method: 'PUT',
      token: nurse,
      json: { givenName: 'Annabelle', familyName: 'Quintero', birthDate: '1948-02-29', mrn: 'MRN-77123', phone: '+15557654321', preferredLanguage: 'en', timeZone: 'UTC' },
    });
    expect(put.status).toBe(200);
    const raw = JSON.stringify((await sql.query('SELECT * FROM patient_identities')).rows);
    expect(raw).toMatch(/enc1\.k1\./);
    for (const plain of ['Annabelle', 'Quintero', '5557654321', 'MRN-77123', '1948-02-29']) expect(raw).not.toContain(plain);
    expect((await request(`${t.baseUrl}/v1/patients/p-0/identity`, { token: nurse })).body).toMatchObject({ givenName: 'Annabelle' });
  });

  it('lets one of eight concurrent bookings of a slot through over HTTP; reminder jobs carry references only', async () => {
    const start = new Date(Math.ceil((Date.now() + 2 * 86_400_000) / 3_600_000) * 3_600_000);
    // Not at the last minute of a day (working hours end 23:59).
    if (start.getUTCHours() === 23) start.setUTCHours(22);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => request(`${t.baseUrl}/v1/appointments`, { token: nurse, json: { patientId: `p-${i}`, typeId: 'monthly-check-in', start: start.toISOString() } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    const jobs = (await sql.query<{ kind: string; payload: unknown; due_at_ms: string }>('SELECT kind, payload, due_at_ms FROM delayed_jobs')).rows;
    expect(jobs.map((j) => j.kind)).toEqual(['visit-reminder', 'visit-reminder']);
    expect(JSON.stringify(jobs)).not.toMatch(/Annabelle|Quintero|5557654321|MRN/);
    expect((await sql.query('SELECT count(*)::int AS n FROM appointments')).rows[0].n).toBe(1);
  });
});
