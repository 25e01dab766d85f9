import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../fhir-server/fhir-test-server.js';
import { ADMIN_TOKEN, request, startTestGateway, STAFF_PASSWORD, type TestGateway } from '../helpers/gateway.js';
import { EXPECTED, type Outcome, PRINCIPALS, type Principal, type Tenant } from './authorization-matrix.data.js';

/*
 * Issue 19: every operation of the OpenAPI document × every caller × own / other organization,
 * against a real gateway (real HTTP, real SQLite). The expected outcomes are data
 * (authorization-matrix.data.ts): an operation without a row fails this test, so a new route
 * cannot ship without its authorization written down and checked.
 */

type Org = 'a' | 'b';
interface OrgWorld {
  readonly org: string;
  readonly patient: string;
  /** A second patient, for care-team patient links (so the first stays where the scope rule put it). */
  readonly spare: string;
  readonly team: string;
  readonly victimStaff: string;
  readonly spareDevice: string;
  readonly cuffSecret: string;
  readonly alertId: string;
  /** A patient on no care team (break-glass), and a break-glass grant of the organization. */
  readonly glassPatient: string;
  readonly grantId: string;
  readonly observationId: string;
  readonly readingId: string;
  /** A device of the organization (assigned to the spare patient) for its admin's fleet routes. */
  readonly orgDevice: string;
  /** An open video visit of the patient, started by her care team's nurse. */
  readonly visitId: string;
  /** A staff member with working hours every day (kept off the availability rows, which clear the victim's). */
  readonly clinician: string;
  /** A booked visit of the patient with the clinician. */
  readonly appointmentId: string;
}

interface Call {
  readonly path: string;
  readonly body?: unknown;
  /** Replaces the caller's token (logout uses a fresh session, so the caller keeps hers). */
  readonly token?: string;
}

const SEVERE_BP = (systolic: number) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  effectiveDateTime: new Date(Date.now() - 60_000).toISOString(),
  component: [
    { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: systolic, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
    { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 125, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
  ],
});

describe('authorization matrix: every route of /docs/json × every caller × own and other organization', () => {
  let t: TestGateway;
  /** The EHR behind each organization's FHIR destination `ehr-<org>` (patient identity from the EHR). */
  let ehr: FhirTestServer;
  const w = {} as Record<Org, OrgWorld>;
  const tokens = {} as Record<Principal, string | undefined>;
  const emails = {} as Record<Principal, string>;
  let otherNurseTimer = '';
  let seq = 0;
  const unique = (prefix: string): string => `${prefix}-${++seq}`;
  /** A fresh 20 min visit slot, every half hour from two days ahead (the clinicians work around the clock). */
  let slot = 0;
  const slotBase = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 2 * 86_400_000;
  const nextSlot = (): string => new Date(slotBase + ++slot * 30 * 60_000).toISOString();
  /** A new booked visit (version 1) of the organization's patient with its clinician, booked by the operator. */
  const bookVisit = async (o: OrgWorld): Promise<string> => {
    const booked = await t.admin.post('/v1/appointments', { patientId: o.patient, staffId: o.clinician, typeId: 'monthly-check-in', start: nextSlot() });
    if (booked.status !== 201) throw new Error(`appointment: ${booked.status} ${JSON.stringify(booked.body)}`);
    return booked.body.id;
  };

  const login = async (email: string): Promise<string> => t.admin.login(email);

  async function setupOrg(o: Org): Promise<OrgWorld> {
    const org = `org-${o}`;
    await t.admin.createOrganization(org);
    const nurse = await t.admin.createStaff({ email: `nurse@${o}.example`, role: 'nurse', organizationId: org });
    const victim = await t.admin.createStaff({ email: `victim@${o}.example`, role: 'nurse', organizationId: org });
    await t.admin.createPatient(`p-${o}`, { organizationId: org });
    await t.admin.createPatient(`p-${o}-spare`, { organizationId: org });
    await t.admin.createCareTeam(`team-${o}`, org);
    await t.admin.addTeamMember(`team-${o}`, nurse.id);
    await t.admin.addTeamPatient(`team-${o}`, `p-${o}`);
    const nurseToken = await login(`nurse@${o}.example`);
    const plan = await request(`${t.baseUrl}/v1/patients/p-${o}/care-plan`, { token: nurseToken, method: 'PUT', json: { programs: ['hypertension'], riskTier: 1 } });
    if (plan.status !== 200) throw new Error(`care plan: ${plan.status} ${JSON.stringify(plan.body)}`);
    const cuffSecret = await t.admin.createDevice({ id: `cuff-${o}`, kind: 'bp-cuff', patientId: `p-${o}` });
    await t.admin.createDevice({ id: `spare-${o}`, kind: 'bp-cuff' });
    const posted = await request(`${t.baseUrl}/fhir/Observation`, { token: cuffSecret, body: JSON.stringify(SEVERE_BP(205)), headers: { 'content-type': 'application/fhir+json' } });
    if (posted.status !== 201) throw new Error(`observation: ${posted.status} ${JSON.stringify(posted.body)}`);
    const observationId = String(posted.headers.get('location')).replace('Observation/', '');
    await t.gw.ctx.alerting!.drain();
    const alerts = await request(`${t.baseUrl}/v1/patients/p-${o}/alerts`, { token: nurseToken });
    const alertId = alerts.body.alerts?.[0]?.id;
    if (typeof alertId !== 'string') throw new Error(`no alert for p-${o}: ${JSON.stringify(alerts.body)}`);
    const readings = await t.admin.readings(`p-${o}`);
    await t.admin.createPatient(`p-${o}-glass`, { organizationId: org });
    const grant = await request(`${t.baseUrl}/v1/patients/p-${o}-glass/break-glass`, { token: nurseToken, json: { reason: 'matrix: covering a colleague', minutes: 5 } });
    if (grant.status !== 201) throw new Error(`break-glass: ${grant.status} ${JSON.stringify(grant.body)}`);
    await t.admin.createDevice({ id: `org-dev-${o}`, kind: 'scale', patientId: `p-${o}-spare` });
    const consent = await request(`${t.baseUrl}/v1/patients/p-${o}/consents/telehealth`, { token: nurseToken, json: { granted: true, method: 'verbal', obtainedAt: new Date(Date.now() - 60_000).toISOString() } });
    if (consent.status !== 201) throw new Error(`consent: ${consent.status} ${JSON.stringify(consent.body)}`);
    const visit = await request(`${t.baseUrl}/v1/visits`, { token: nurseToken, json: { patientId: `p-${o}`, sendSms: false } });
    if (visit.status !== 201) throw new Error(`visit: ${visit.status} ${JSON.stringify(visit.body)}`);
    const identity = await request(`${t.baseUrl}/v1/patients/p-${o}/identity`, {
      token: nurseToken,
      method: 'PUT',
      json: { givenName: 'Matrix', familyName: 'Patient', birthDate: '1950-01-01', mrn: `MRN-${org}`, phone: null, preferredLanguage: 'en', timeZone: 'UTC' },
    });
    if (identity.status !== 200) throw new Error(`identity: ${identity.status} ${JSON.stringify(identity.body)}`);
    const destination = await t.admin.post('/v1/admin/fhir/destinations', { id: `ehr-${org}`, organizationId: org, baseUrl: ehr.baseUrl, auth: { type: 'none' }, patientMapping: { type: 'search', system: 'urn:oid:2.16.840.1.113883.19.5' } });
    if (destination.status !== 201) throw new Error(`destination: ${destination.status} ${JSON.stringify(destination.body)}`);
    const clinician = await t.admin.createStaff({ email: `clinician@${o}.example`, role: 'nurse', organizationId: org });
    const hours = await request(`${t.baseUrl}/v1/staff/${clinician.id}/availability`, {
      token: ADMIN_TOKEN,
      method: 'PUT',
      json: { timeZone: 'UTC', weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '23:59' })), exceptions: [] },
    });
    if (hours.status !== 200) throw new Error(`working hours: ${hours.status} ${JSON.stringify(hours.body)}`);
    return {
      org,
      patient: `p-${o}`,
      spare: `p-${o}-spare`,
      team: `team-${o}`,
      victimStaff: victim.id,
      spareDevice: `spare-${o}`,
      cuffSecret,
      alertId,
      observationId,
      readingId: readings[0].id,
      glassPatient: `p-${o}-glass`,
      grantId: grant.body.id,
      orgDevice: `org-dev-${o}`,
      visitId: visit.body.visit.id,
      clinician: clinician.id,
      appointmentId: '',
    };
  }

  beforeAll(async () => {
    // The matrix sends hundreds of credentials that are wrong for their route on purpose.
    ehr = await FhirTestServer.start();
    t = await startTestGateway({ RPM_AUTH_FAILURES_PER_MIN: '10000' });
    w.a = await setupOrg('a');
    w.b = await setupOrg('b');
    for (const o of ['a', 'b'] as const) w[o] = { ...w[o], appointmentId: await bookVisit(w[o]) };
    await t.admin.createStaff({ email: 'admin@a.example', role: 'admin', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'charge@a.example', role: 'nurse', organizationId: 'org-a', isChargeNurse: true });
    await t.admin.createStaff({ email: 'physician@a.example', role: 'physician', organizationId: 'org-a' });
    const offTeam = await t.admin.createStaff({ email: 'offteam@a.example', role: 'nurse', organizationId: 'org-a' });
    await t.admin.createPatient('p-a-other-team', { organizationId: 'org-a' });
    await t.admin.createCareTeam('team-a2', 'org-a');
    await t.admin.addTeamMember('team-a2', offTeam.id);
    await t.admin.addTeamPatient('team-a2', 'p-a-other-team');
    Object.assign(emails, { orgAdmin: 'admin@a.example', nurse: 'nurse@a.example', nurseOtherTeam: 'offteam@a.example', chargeNurse: 'charge@a.example', physician: 'physician@a.example' });
    tokens.anonymous = undefined;
    tokens.device = w.a.cuffSecret;
    tokens.operator = ADMIN_TOKEN;
    for (const p of ['orgAdmin', 'nurse', 'nurseOtherTeam', 'chargeNurse', 'physician'] as const) tokens[p] = await login(emails[p]);
    // Another organization's nurse's running timer.
    const started = await request(`${t.baseUrl}/v1/patients/p-b/time/start`, { token: await login('nurse@b.example'), json: {} });
    otherNurseTimer = started.body.id;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await ehr?.close();
  });

  /** The resource ids a route is called with, for the caller's own organization or the other. */
  async function callFor(key: string, tenant: Tenant, principal: Principal): Promise<Call> {
    const o = tenant === 'own' ? w.a : w.b;
    const [, template = ''] = key.split(' ');
    const params: Record<string, string> = { grantId: o.grantId, org: o.org, vendor: 'tenovi', externalId: 'ext-1', token: 'not-a-token', user: 'u-1', site: 's-1', staffId: o.victimStaff, patientId: o.patient, readingId: o.readingId };
    let id = '';
    if (template.startsWith('/v1/patients/') || template.startsWith('/v1/admin/patients/')) id = o.patient;
    else if (template.startsWith('/v1/alerts/')) id = o.alertId;
    else if (template.startsWith('/v1/admin/devices/')) id = o.spareDevice;
    else if (template.startsWith('/v1/admin/staff/') || template.startsWith('/v1/staff/')) id = o.victimStaff;
    else if (template.startsWith('/v1/appointments/')) id = o.appointmentId;
    else if (template.startsWith('/v1/admin/organizations/')) id = o.org;
    else if (template.startsWith('/v1/admin/care-teams/')) id = o.team;
    else if (template.startsWith('/fhir/Observation/')) id = o.observationId;
    else if (template.startsWith('/v1/admin/fhir/destinations/')) id = 'ehr-1';
    else if (template.startsWith('/v1/org/devices/')) id = o.orgDevice;
    else if (template.startsWith('/v1/visits/')) id = o.visitId;
    params.id = id;
    const fill = (tpl: string, extra: Record<string, string> = {}): string => tpl.replace(/\{(\w+)\}/g, (_m, name: string) => ({ ...params, ...extra })[name] ?? name);
    const sessionOf = async (): Promise<string | undefined> => (principal in emails ? login(emails[principal]) : tokens[principal]);

    switch (key) {
      case 'POST /v1/auth/login':
        return { path: template, body: { email: 'victim@a.example', password: STAFF_PASSWORD } };
      case 'POST /v1/auth/logout': {
        const token = await sessionOf();
        return { path: template, ...(token === undefined ? {} : { token }) };
      }
      case 'POST /v1/readings':
        return { path: template, body: { readings: [{ kind: 'blood-pressure', systolic: 120, diastolic: 80, unit: 'mmHg', measuredAt: new Date(Date.now() - 60_000).toISOString() }] } };
      case 'POST /fhir/Observation':
        return { path: template, body: SEVERE_BP(150) };
      case 'POST /fhir/':
        return { path: template, body: { resourceType: 'Bundle', type: 'batch', entry: [{ resource: SEVERE_BP(151), request: { method: 'POST', url: 'Observation' } }] } };
      case 'POST /v1/admin/patients':
        return { path: template, body: { id: unique('pat'), organizationId: o.org } };
      case 'POST /v1/admin/devices':
        return { path: template, body: { id: unique('dev'), kind: 'scale' } };
      case 'POST /v1/admin/devices/{id}/assignments':
        return { path: fill(template), body: { patientId: o.spare } };
      case 'POST /v1/admin/organizations':
        return { path: template, body: { id: unique('org'), name: 'New' } };
      case 'PUT /v1/admin/organizations/{id}/display':
        return { path: fill(template), body: { timeZone: 'UTC' } };
      case 'POST /v1/admin/staff':
        return { path: template, body: { email: `${unique('new')}@example.org`, password: STAFF_PASSWORD, role: 'nurse', organizationId: o.org } };
      case 'POST /v1/admin/care-teams':
        return { path: template, body: { id: unique('team'), organizationId: o.org, name: 'New team' } };
      case 'POST /v1/admin/care-teams/{id}/members':
        return { path: fill(template), body: { staffId: o.victimStaff } };
      case 'DELETE /v1/admin/care-teams/{id}/members/{staffId}':
        await t.admin.post(`/v1/admin/care-teams/${o.team}/members`, { staffId: o.victimStaff });
        return { path: fill(template) };
      case 'POST /v1/admin/care-teams/{id}/patients':
        return { path: fill(template), body: { patientId: o.spare } };
      case 'DELETE /v1/admin/care-teams/{id}/patients/{patientId}':
        await t.admin.post(`/v1/admin/care-teams/${o.team}/patients`, { patientId: o.spare });
        return { path: fill(template, { patientId: o.spare }) };
      case 'PUT /v1/patients/{id}/care-plan':
        return { path: fill(template), body: { programs: ['hypertension'], riskTier: 1 } };
      case 'POST /v1/patients/{id}/time':
        return { path: fill(template), body: { startedAt: new Date(Date.now() - 3_600_000).toISOString(), minutes: 5 } };
      case 'POST /v1/patients/{id}/time/start':
        return { path: fill(template), body: {} };
      case 'POST /v1/patients/{id}/observations':
        return { path: fill(template), body: { observations: [{ kind: 'heart-rate', value: 72, unit: '/min', measuredAt: new Date(Date.now() - 60_000).toISOString() }] } };
      case 'POST /v1/patients/{id}/readings/{readingId}/user':
        return { path: fill(template), body: { decision: 'rejected' } };
      case 'POST /v1/alerts/{id}/snooze':
        return { path: fill(template), body: { minutes: 30, reason: 'matrix' } };
      case 'POST /v1/alerts/{id}/escalate':
      case 'POST /v1/alerts/{id}/resolve':
        return { path: fill(template), body: { reason: 'matrix', note: 'matrix' } };
      case 'POST /v1/time/{entryId}/stop': {
        if (tenant === 'other') return { path: fill(template, { entryId: otherNurseTimer }) };
        const token = tokens[principal];
        let entryId: string = randomUUID();
        if (principal in emails && token !== undefined) {
          const visible = principal === 'nurseOtherTeam' ? 'p-a-other-team' : w.a.patient;
          const running = await request(`${t.baseUrl}/v1/time/running`, { token });
          entryId = running.body.entry?.id ?? (await request(`${t.baseUrl}/v1/patients/${visible}/time/start`, { token, json: {} })).body.id;
        }
        return { path: fill(template, { entryId }) };
      }
      case 'PUT /v1/patients/{id}/identity':
        return { path: fill(template), body: { givenName: 'Matrix', familyName: 'Patient', birthDate: '1950-01-01', mrn: `MRN-${o.org}`, phone: null, preferredLanguage: 'en', timeZone: 'UTC' } };
      case 'POST /v1/patient-identities/lookup':
        return { path: template, body: { ids: [w.a.patient] } };
      case 'POST /v1/patients/{id}/consents/telehealth':
        return { path: fill(template), body: { granted: true, method: 'verbal', obtainedAt: new Date(Date.now() - 60_000).toISOString() } };
      case 'POST /v1/patients/{id}/identity/from-ehr':
        // The EHR knows no such MRN: 422 once past the gate, nothing written.
        return { path: fill(template), body: { destinationId: `ehr-${o.org}`, mrn: 'MRN-NOT-AT-EHR', timeZone: 'UTC' } };
      // Scheduling: the clinician's calendar; each write on a visit gets a fresh visit (version 1).
      case 'GET /v1/staff/{id}/free-slots': {
        const from = new Date(slotBase).toISOString();
        return { path: `${fill(template)}?typeId=monthly-check-in&from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(slotBase + 86_400_000).toISOString())}` };
      }
      case 'GET /v1/scheduling/appointment-types':
        return { path: `${template}?organizationId=${o.org}` };
      case 'POST /v1/scheduling/appointment-types':
        return { path: `${template}?organizationId=${o.org}`, body: { id: unique('type'), name: 'Matrix visit', durationMinutes: 20, modality: 'video' } };
      case 'POST /v1/appointments':
        return { path: template, body: { patientId: o.patient, staffId: o.clinician, typeId: 'monthly-check-in', start: nextSlot() } };
      case 'POST /v1/appointments/{id}/reschedule':
        return { path: fill(template, { id: await bookVisit(o) }), body: { start: nextSlot(), expectedVersion: 1 } };
      case 'POST /v1/appointments/{id}/cancel':
      case 'POST /v1/appointments/{id}/no-show':
      case 'POST /v1/appointments/{id}/complete':
        // A visit in the future: cancelled (200), or not yet started for a no-show or completion (409 from the operation itself).
        return { path: fill(template, { id: await bookVisit(o) }), body: { expectedVersion: 1 } };
      case 'PUT /v1/staff/{id}/availability':
        return { path: fill(template), body: { timeZone: 'UTC', weekly: [], exceptions: [] } };
      case 'GET /v1/calendar/{token}.ics':
        return { path: '/v1/calendar/not-a-token.ics' };
      case 'PUT /v1/me/display':
        return { path: template, body: {} };
      case 'PUT /v1/admin/organizations/{id}/sso':
        // Turned off again by the DELETE row that follows it in the document.
        return { path: fill(template), body: { issuer: 'https://idp.example.org', clientId: 'rpm', clientSecret: 'matrix-secret' } };
      case 'POST /v1/auth/sso/exchange':
        return { path: template, body: { code: 'not-a-hand-off-code' } };
      case 'GET /v1/auth/sso/{organizationId}/start':
        return { path: fill(template, { organizationId: o.org }) };
      case 'PUT /v1/admin/organizations/{id}/access-policy':
        return { path: fill(template), body: { mfaRequired: false } };
      case 'POST /v1/admin/staff/{id}/password':
        return { path: fill(template), body: { password: STAFF_PASSWORD } };
      case 'POST /v1/auth/password':
        // The same password again: the route runs (and ends the caller's sessions; the matrix signs her in again).
        return { path: template, body: { currentPassword: STAFF_PASSWORD, newPassword: STAFF_PASSWORD } };
      case 'POST /v1/auth/mfa/totp/activate':
      case 'POST /v1/auth/mfa/recovery-codes':
      case 'POST /v1/auth/mfa/disable':
        return { path: template, body: { otp: '000000' } };
      case 'POST /v1/patients/{id}/break-glass':
        return { path: fill(template, { id: o.glassPatient }), body: { reason: 'matrix: emergency cover', minutes: 5 } };
      case 'POST /v1/break-glass/{grantId}/end': {
        if (tenant === 'other') return { path: fill(template) };
        const token = tokens[principal];
        const mine = token === undefined || !(principal in emails) ? [] : ((await request(`${t.baseUrl}/v1/auth/me`, { token })).body.breakGlass ?? []);
        return { path: fill(template, { grantId: mine[0]?.id ?? randomUUID() }) };
      }
      // Issue 17: billing, organization admin screens, alert-signal settings.
      case 'PATCH /v1/admin/staff/{id}':
        return { path: fill(template), body: { displayName: 'Matrix victim' } };
      case 'GET /v1/billing/report':
      case 'GET /v1/billing/report.csv':
        return { path: `${template}?month=${new Date().toISOString().slice(0, 7)}` };
      case 'POST /v1/billing/sign-offs':
        return { path: template, body: { periodKey: `${o.patient}/management/${new Date().toISOString().slice(0, 7)}` } };
      case 'POST /v1/billing/amendments':
        return { path: template, body: { periodKey: `${o.patient}/management/${new Date().toISOString().slice(0, 7)}`, reason: 'matrix', revision: 0 } };
      case 'PUT /v1/patients/{id}/billing-episode':
        return { path: fill(template), body: { startDate: '2026-01-01', endDate: null, timeZone: 'UTC', billingPractitionerId: null, reason: 'matrix' } };
      case 'POST /v1/org/patients':
        return { path: template, body: { id: unique('orgpat') } };
      case 'POST /v1/org/devices':
        return { path: template, body: { id: unique('orgdev'), kind: 'scale', patientId: o.spare } };
      case 'POST /v1/org/devices/{id}/assignments':
        return { path: fill(template), body: { patientId: o.spare } };
      case 'PUT /v1/me/alert-settings':
        return { path: template, body: { titleBadge: true, desktopNotifications: false, sound: false } };
      // Issue 16b: video visits (a new one each time: the own patient's, or another organization's patient).
      case 'POST /v1/visits':
        return { path: template, body: { patientId: o.patient, sendSms: false } };
      case 'POST /v1/visits/{id}/link':
        return { path: fill(template), body: { sendSms: false } };
      case 'POST /v1/visit-links/redeem':
        return { path: template, body: { token: 'not-a-visit-link' } };
      default:
        return { path: fill(template) };
    }
  }

  /** The status and error code of one call; an event stream is read up to its headers only. */
  async function status(method: string, call: Call, token: string | undefined): Promise<{ status: number; code: string | undefined }> {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const init: RequestInit = { method, headers };
    const body = call.body ?? (method === 'GET' || method === 'DELETE' ? undefined : {});
    if (body !== undefined) {
      headers['content-type'] = call.path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json';
      init.body = JSON.stringify(body);
    }
    const abort = new AbortController();
    const res = await fetch(`${t.baseUrl}${call.path}`, { ...init, redirect: 'manual', signal: abort.signal });
    let code: string | undefined;
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) abort.abort();
    else {
      const text = await res.text();
      if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') code = (JSON.parse(text) as { code?: string }).code;
    }
    return { status: res.status, code };
  }

  /** Answers the operation itself gives after the gate opened (a one-time code it checked). */
  const REACHED = new Set(['RPM_ERR_AUTH_MFA_INVALID', 'RPM_ERR_SSO_FAILED']);

  const matches = (outcome: Outcome, answer: { status: number; code: string | undefined }): boolean => {
    const s = answer.status;
    if (s >= 500) return false;
    if ((outcome === 'ok' || outcome === 'pass') && answer.code !== undefined && REACHED.has(answer.code)) return true;
    switch (outcome) {
      case 'ok':
        // 400 would mean the request never reached the operation (its tenant check included).
        return s !== 400 && s !== 401 && s !== 403 && s !== 404;
      case 'pass':
        return s !== 401 && s !== 403;
      case 'gate':
        return s !== 401;
      case 'denied':
        return s === 401 || s === 403 || s === 404;
      default:
        return String(s) === outcome;
    }
  };

  let operations: string[] = [];

  it('has a row for every operation of the OpenAPI document, and none for operations that are gone', async () => {
    const doc = await request<{ paths: Record<string, Record<string, unknown>> }>(`${t.baseUrl}/docs/json`);
    expect(doc.status).toBe(200);
    operations = Object.entries(doc.body.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(operations.length).toBeGreaterThan(80);
    expect(operations.filter((op) => !(op in EXPECTED)), 'operations without a row in authorization-matrix.data.ts').toEqual([]);
    expect(Object.keys(EXPECTED).filter((k) => !operations.includes(k)), 'rows whose operation is gone').toEqual([]);
  });

  it('answers every cell as the table says', async () => {
    expect(operations.length).toBeGreaterThan(80);
    const wrong: string[] = [];
    let cells = 0;
    for (const key of operations) {
      const row = EXPECTED[key];
      if (row === undefined) continue;
      const method = key.split(' ')[0] as string;
      for (const tenant of ['own', 'other'] as const) {
        const expected = tenant === 'own' ? row.own : row.other;
        if (expected === undefined) continue;
        for (const principal of PRINCIPALS) {
          const call = await callFor(key, tenant, principal);
          const token = call.token ?? tokens[principal];
          const answer = await status(method, call, token);
          cells++;
          if (!matches(expected[principal], answer)) wrong.push(`${key} [${tenant}] ${principal}: expected ${expected[principal]}, got ${answer.status} ${answer.code ?? ''}`);
          // A password change ends the caller's sessions: sign her in again for the next cells.
          if (key === 'POST /v1/auth/password' && principal in emails) tokens[principal] = await login(emails[principal]);
        }
      }
    }
    expect(cells).toBeGreaterThan(900);
    expect(wrong).toEqual([]);
  }, 300_000);
});
