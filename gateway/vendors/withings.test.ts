import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WithingsCloud } from '../../simulators/vendors/withings-cloud.js';
import { request } from '../../test/helpers/gateway.js';
import { sample, startVendorGateway, type VendorGateway, vendorFixture } from '../../test/helpers/vendors.js';

const CLIENT = { clientId: 'withings-client-id', clientSecret: 'withings-client-secret' };
const CALLBACK = 'cb-token-0123456789abcdefghij';
const NOTIFY = `/vendors/withings/org-v/notify/${CALLBACK}`;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

/** Seconds since the epoch of an ISO time. */
const s = (iso: string): number => Date.parse(iso) / 1000;

describe('Withings: notification, OAuth 2 refresh and authenticated pull against a stand-in speaking Withings’ wire format', () => {
  let g: VendorGateway;
  let cloud: WithingsCloud;
  let nurseToken: string;

  beforeAll(async () => {
    cloud = new WithingsCloud({ ...CLIENT, pageSize: 2 });
    await cloud.start();
    g = await startVendorGateway({ RPM_VENDOR_PULL_RETRY_BASE_MS: '20', RPM_VENDOR_PULL_RETRY_MAX_MS: '50', RPM_VENDOR_PULL_MAX_ATTEMPTS: '4' });
    await g.connect('withings', { ...CLIENT, callbackToken: CALLBACK, apiBaseUrl: cloud.baseUrl });
    const tokens = cloud.addUser('12345', 'Europe/Berlin');
    await g.bind('withings', '12345', { id: 'wi-body', kind: 'multi-parameter', patientId: 'wi-p1' }, { withings: { refreshToken: tokens.refreshToken } });
    await g.t.admin.createStaff({ email: 'nurse@org-v.test', role: 'nurse', organizationId: 'org-v' });
    nurseToken = (await request<{ token: string }>(`${g.baseUrl}/v1/auth/login`, { json: { email: 'nurse@org-v.test', password: 'correct horse battery' } })).body.token;
    const plan = await request(`${g.baseUrl}/v1/patients/wi-p1/care-plan`, { method: 'PUT', token: nurseToken, json: { programs: ['general', 'hypertension', 'heart-failure'], riskTier: 2 } });
    expect(plan.status).toBe(200);
  });
  afterAll(async () => {
    await g?.close();
    await cloud?.stop();
  });
  afterEach(() => {
    cloud.failNext();
  });

  it('answers the callback check (HEAD) and refuses a wrong callback token', async () => {
    expect((await fetch(`${g.baseUrl}${NOTIFY}`, { method: 'HEAD' })).status).toBe(200);
    const wrong = await g.post('/vendors/withings/org-v/notify/not-the-token-0123456789', vendorFixture('withings/notification.form'), form);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
  });

  it('pulls after a notification: refreshes the token first (no access token yet), stores the rotated refresh token encrypted, pages through getmeas, value × 10^unit', async () => {
    cloud.measure('12345', { attrib: 0, date: s('2026-12-01T06:00:00Z'), category: 1, model: 'BPM Core', measures: [{ value: 152, type: 10, unit: 0 }, { value: 96, type: 9, unit: 0 }, { value: 71, type: 11, unit: 0 }] });
    cloud.measure('12345', { attrib: 0, date: s('2026-12-01T06:05:00Z'), category: 1, model: 'Body+', measures: [{ value: 81250, type: 1, unit: -3 }, { value: 2345, type: 6, unit: -2 }] });
    cloud.measure('12345', { attrib: 0, date: s('2026-12-01T06:10:00Z'), category: 1, measures: [{ value: 365, type: 71, unit: -1 }, { value: 97, type: 54, unit: 0 }] });
    const res = await g.post(NOTIFY, `userid=12345&appli=4&startdate=${s('2026-12-01T05:00:00Z')}&enddate=${s('2026-12-01T07:00:00Z')}`, form);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ queued: true });
    await drainPulls(g);
    const readings = (await g.readings('wi-p1')).sort((a, b) => a.measuredAt.localeCompare(b.measuredAt) || a.kind.localeCompare(b.kind));
    expect(readings.map((r) => [r.kind, r.measuredAt, r.components.map((c: { value: number }) => c.value)])).toEqual([
      ['blood-pressure', '2026-12-01T07:00:00+01:00', [152, 96]],
      ['heart-rate', '2026-12-01T07:00:00+01:00', [71]],
      ['body-weight', '2026-12-01T07:05:00+01:00', [81.25]],
      ['body-temperature', '2026-12-01T07:10:00+01:00', [36.5]],
      ['spo2', '2026-12-01T07:10:00+01:00', [97]],
    ]);
    expect(readings.find((r) => r.kind === 'blood-pressure').source).toMatchObject({ vendor: 'withings', recordId: expect.any(String), details: { attrib: 0 } });
    expect(cloud.calls.refresh).toBe(1);
    // A page of two groups that says `more`, then the last group: two getmeas calls.
    expect(cloud.calls.getmeas).toBe(2);
    // The rotated refresh token is stored, encrypted: never in clear in the database.
    const db = new Database(path.join(g.t.dataDir, 'rpm.sqlite'), { readonly: true });
    const stored = (db.prepare("SELECT credentials FROM vendor_bindings WHERE vendor = 'withings'").get() as { credentials: string }).credentials;
    db.close();
    expect(stored).toMatch(/^enc1\./);
    expect(stored).not.toContain(cloud.currentRefreshToken('12345'));
    const pulls = await g.admin('GET', '/v1/admin/organizations/org-v/vendors/withings/pulls');
    expect(pulls.body.pulls[0]).toMatchObject({ status: 'done', reason: 'notification', readings: 5, attempts: 1 });
    expect(sample(await g.metrics(), 'rpm_vendor_pulls_total', { vendor: 'withings', outcome: 'done' })).toBe(1);
  });

  it('is one reading when the same measure comes through a notification and a later backfill (cross-source dedupe)', async () => {
    const before = (await g.readings('wi-p1')).length;
    cloud.measure('12345', { attrib: 0, date: s('2026-12-02T06:00:00Z'), category: 1, measures: [{ value: 80900, type: 1, unit: -3 }] });
    await g.post(NOTIFY, `userid=12345&appli=1&startdate=${s('2026-12-02T05:59:00Z')}&enddate=${s('2026-12-02T06:01:00Z')}`, form);
    await drainPulls(g);
    expect(await g.readings('wi-p1')).toHaveLength(before + 1);
    const backfill = await g.admin('POST', '/v1/admin/organizations/org-v/vendors/withings/bindings/12345/backfill', { from: '2026-11-30T00:00:00Z', to: '2026-12-03T00:00:00Z' });
    expect(backfill.status).toBe(202);
    await drainPulls(g);
    expect(await g.readings('wi-p1')).toHaveLength(before + 1);
    const pulls = await g.admin('GET', `/v1/admin/organizations/org-v/vendors/withings/pulls?status=done&externalId=12345`);
    expect(pulls.body.pulls[0]).toMatchObject({ reason: 'backfill', readings: before + 1 });
    expect(sample(await g.metrics(), 'rpm_vendor_readings_total', { vendor: 'withings', outcome: 'duplicate' })).toBe(before + 1);
  });

  it('refreshes an access token Withings refuses (401 in the body), once, and carries on', async () => {
    cloud.expireAccessTokens();
    const refreshes = cloud.calls.refresh;
    cloud.measure('12345', { attrib: 0, date: s('2026-12-03T06:00:00Z'), category: 1, measures: [{ value: 80700, type: 1, unit: -3 }] });
    await g.post(NOTIFY, `userid=12345&appli=1&startdate=${s('2026-12-03T05:00:00Z')}&enddate=${s('2026-12-03T07:00:00Z')}`, form);
    await drainPulls(g);
    expect(cloud.calls.refresh).toBe(refreshes + 1);
    expect((await g.readings('wi-p1')).some((r) => r.measuredAt === '2026-12-03T07:00:00+01:00')).toBe(true);
  });

  it('retries a pull that failed (HTTP 500, a garbled answer) until it succeeds', async () => {
    cloud.measure('12345', { attrib: 0, date: s('2026-12-04T06:00:00Z'), category: 1, measures: [{ value: 80500, type: 1, unit: -3 }] });
    cloud.failNext('http-500', 'not-json');
    await g.post(NOTIFY, `userid=12345&appli=1&startdate=${s('2026-12-04T05:00:00Z')}&enddate=${s('2026-12-04T07:00:00Z')}`, form);
    await drainPulls(g, 10_000);
    const pulls = await g.admin('GET', '/v1/admin/organizations/org-v/vendors/withings/pulls?limit=1');
    expect(pulls.body.pulls[0]).toMatchObject({ status: 'done', attempts: 3 });
    expect((await g.readings('wi-p1')).some((r) => r.measuredAt === '2026-12-04T07:00:00+01:00')).toBe(true);
    expect(sample(await g.metrics(), 'rpm_vendor_pulls_total', { vendor: 'withings', outcome: 'failed' })).toBe(2);
  });

  it('stores an ambiguous-user measure (attrib 1) without alerting until a nurse confirms it; then the rules judge it', async () => {
    // A weight gain of 3 kg in a day would alert a heart-failure patient: but who stepped on the scale?
    cloud.measure('12345', { attrib: 1, date: s('2026-12-04T18:00:00Z'), category: 1, measures: [{ value: 84500, type: 1, unit: -3 }] });
    await g.post(NOTIFY, `userid=12345&appli=1&startdate=${s('2026-12-04T17:00:00Z')}&enddate=${s('2026-12-04T19:00:00Z')}`, form);
    await drainPulls(g);
    await g.t.gw.ctx.alerting!.drain();
    const ambiguous = (await g.readings('wi-p1')).find((r) => r.measuredAt === '2026-12-04T19:00:00+01:00');
    expect(ambiguous).toMatchObject({ entryMethod: 'ambiguous-user', flags: ['user-unconfirmed'], source: { details: { attrib: 1 } } });
    const alertsOf = async (): Promise<string[]> =>
      (await request<{ alerts: { rule: string; status: string }[] }>(`${g.baseUrl}/v1/patients/wi-p1/alerts`, { token: nurseToken })).body.alerts.filter((a) => a.status !== 'resolved').map((a) => a.rule);
    expect(await alertsOf()).not.toContain('weight-gain-day');

    // An organization admin does not decide a clinical question; a nurse does, once.
    await g.t.admin.createStaff({ email: 'admin@org-v.test', role: 'admin', organizationId: 'org-v' });
    const adminToken = (await request<{ token: string }>(`${g.baseUrl}/v1/auth/login`, { json: { email: 'admin@org-v.test', password: 'correct horse battery' } })).body.token;
    const byAdmin = await request(`${g.baseUrl}/v1/patients/wi-p1/readings/${ambiguous.id}/user`, { token: adminToken, json: { decision: 'confirmed' } });
    expect(byAdmin.status).toBe(403);
    expect(await alertsOf()).not.toContain('weight-gain-day');
    const confirmed = await request(`${g.baseUrl}/v1/patients/wi-p1/readings/${ambiguous.id}/user`, { token: nurseToken, json: { decision: 'confirmed' } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ id: ambiguous.id, flags: ['attributed'], entryMethod: 'ambiguous-user' });
    expect(await alertsOf()).toContain('weight-gain-day');
    const twice = await request(`${g.baseUrl}/v1/patients/wi-p1/readings/${ambiguous.id}/user`, { token: nurseToken, json: { decision: 'rejected' } });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ code: 'RPM_ERR_READING_USER_DECIDED' });
    const audit = await g.admin('GET', '/v1/admin/audit?subject=patient:wi-p1');
    expect(JSON.stringify(audit.body)).toContain('reading.user.confirm');
  });

  it('answers 200 to a notification of a user it cannot pull (unbound), a profile event or another category, queuing nothing', async () => {
    for (const body of ['userid=999&appli=1&startdate=1&enddate=2', 'userid=12345&appli=46&action=unlink', 'userid=12345&appli=16&startdate=1&enddate=2']) {
      const res = await g.post(NOTIFY, body, form);
      expect(res.status).toBe(200);
      expect(res.body.queued).toBe(false);
    }
    const bad = await g.post(NOTIFY, 'appli=1&startdate=x', form);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'RPM_ERR_VENDOR_PAYLOAD_INVALID' });
  });

  it('gives up a pull whose refresh token Withings refuses (dead, waiting for an operator), and says so', async () => {
    const other = cloud.addUser('777');
    await g.bind('withings', '777', { id: 'wi-other', kind: 'scale', patientId: 'wi-p2' }, { withings: { refreshToken: `${other.refreshToken}-revoked` } });
    await g.post(NOTIFY, `userid=777&appli=1&startdate=${s('2026-12-01T00:00:00Z')}&enddate=${s('2026-12-01T01:00:00Z')}`, form);
    await drainPulls(g);
    const pulls = await g.admin('GET', '/v1/admin/organizations/org-v/vendors/withings/pulls?status=dead');
    expect(pulls.body.pulls).toEqual([expect.objectContaining({ externalId: '777', attempts: 1, error: expect.objectContaining({ code: 'RPM_ERR_UPSTREAM_VENDOR_AUTH' }) })]);
    const m = await g.metrics();
    expect(sample(m, 'rpm_vendor_token_refreshes_total', { vendor: 'withings', outcome: 'refused' })).toBe(1);
    expect(sample(m, 'rpm_vendor_pull_backlog', { state: 'dead' })).toBe(1);
  });
});

/** Waits until the gateway's Withings puller has nothing due (pulls are retried on short timers in these tests). */
async function drainPulls(g: VendorGateway, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await g.admin<{ pulls: { status: string }[] }>('GET', '/v1/admin/organizations/org-v/vendors/withings/pulls?status=pending,failed');
    if (res.body.pulls.length === 0) return;
    if (Date.now() > until) throw new Error(`pulls still waiting: ${JSON.stringify(res.body.pulls)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
