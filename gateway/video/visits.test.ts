import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../../test/helpers/clock.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js';
import { startTwilioDouble, type TwilioDouble } from '../../test/helpers/twilio-double.js';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

const PHONE = '+15551230001';


interface Signal {
  readonly ws: WebSocket;
  readonly messages: any[];
  readonly closed: Promise<{ code: number; reason: string }>;
  next(type: string): Promise<any>;
  send(message: unknown): void;
}

/** A signaling client: opens the socket, says hello, and collects what the gateway sends. */
function signal(baseUrl: string, hello: Record<string, unknown> | string): Promise<Signal> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/visits/signal`);
  const messages: any[] = [];
  const waiters: { type: string; resolve: (m: any) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    messages.push(m);
    for (const w of [...waiters]) if (w.type === m.type) waiters.splice(waiters.indexOf(w), 1), w.resolve(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(typeof hello === 'string' ? hello : JSON.stringify({ type: 'hello', ...hello }));
      resolve({
        ws,
        messages,
        closed,
        next: (type) => {
          const seen = messages.findIndex((m) => m.type === type);
          if (seen >= 0) return Promise.resolve(messages.splice(seen, 1)[0]);
          return new Promise((r) => waiters.push({ type, resolve: (m) => (messages.splice(messages.indexOf(m), 1), r(m)) }));
        },
        send: (message) => ws.send(JSON.stringify(message)),
      });
    });
  });
}

for (const store of ['sqlite', 'postgres'] as const)
describe(`Video visits through the running gateway (embedded provider, ${store})`, () => {
  let t: TestGateway;
  let twilio: TwilioDouble;
  const clock = new ManualClock();
  let ann: string; // nurse, org-a, on pa-1's care team
  let nia: string; // nurse, org-a, not on it
  let adam: string; // admin, org-a
  let bob: string; // nurse, org-b
  let annId: string;

  let db: TestDatabase | undefined;

  beforeAll(async () => {
    twilio = await startTwilioDouble({ accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: 'secret-token' });
    if (store === 'postgres') db = await createTestDatabase();
    t = await startTestGateway(
      {
        ...(db === undefined ? {} : { RPM_STORE: 'postgres', RPM_DATABASE_URL: db.url, RPM_DATABASE_POOL_SIZE: '4' }),
        RPM_SESSION_IDLE_MINUTES: '600',
        RPM_TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
        RPM_TWILIO_AUTH_TOKEN: 'secret-token',
        RPM_TWILIO_FROM: '+15550001111',
        RPM_TWILIO_BASE_URL: twilio.url,
        RPM_PUBLIC_URL: 'https://rpm.clinic.example/',
        RPM_VIDEO_ICE_SERVERS: 'stun:stun.clinic.example:3478,turn:turn.clinic.example:3478',
        RPM_VIDEO_TURN_SECRET: 'coturn-shared-secret-0123',
      },
      { clock },
    );
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    annId = (await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Ann Lee, RN' })).id;
    const niaId = (await t.admin.createStaff({ email: 'nia@a.example', role: 'nurse', organizationId: 'org-a' })).id;
    await t.admin.createStaff({ email: 'adam@a.example', role: 'admin', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'bob@b.example', role: 'nurse', organizationId: 'org-b' });
    for (const p of ['pa-1', 'pa-2']) await t.admin.createPatient(p, { organizationId: 'org-a' });
    for (const p of ['pb-1', 'pb-2']) await t.admin.createPatient(p, { organizationId: 'org-b' });
    await t.admin.createCareTeam('team-a', 'org-a');
    await t.admin.addTeamMember('team-a', annId);
    await t.admin.addTeamPatient('team-a', 'pa-1');
    await t.admin.addTeamPatient('team-a', 'pa-2');
    // Nia's team has other patients: pa-1 is outside her scope.
    await t.admin.createPatient('pa-3', { organizationId: 'org-a' });
    await t.admin.createCareTeam('team-a2', 'org-a');
    await t.admin.addTeamMember('team-a2', niaId);
    await t.admin.addTeamPatient('team-a2', 'pa-3');
    ann = await t.admin.login('ann@a.example');
    nia = await t.admin.login('nia@a.example');
    // Identity and telehealth consent (the patient identity module): pa-1 has a number; pb-2 has not consented.
    const identity = (mrn: string, phone: string | null) => ({ givenName: 'Maria', familyName: 'Gonzalez', birthDate: '1950-03-14', mrn, phone, preferredLanguage: 'es-MX', timeZone: 'America/Chicago' });
    for (const [p, mrn, phone] of [['pa-1', 'MRN-1001', PHONE], ['pa-2', 'MRN-1002', null], ['pb-1', 'MRN-2001', null], ['pb-2', 'MRN-2002', null]] as const) {
      const res = await request(`${t.baseUrl}/v1/patients/${p}/identity`, { token: ADMIN_TOKEN, method: 'PUT', json: identity(mrn, phone) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    for (const p of ['pa-1', 'pa-2', 'pb-1']) {
      const res = await request(`${t.baseUrl}/v1/patients/${p}/consents/telehealth`, { token: ADMIN_TOKEN, json: { granted: true, method: 'verbal' } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    adam = await t.admin.login('adam@a.example');
    bob = await t.admin.login('bob@b.example');
  });
  afterAll(async () => {
    await t.close();
    await twilio.close();
    await db?.drop();
  });

  const startVisit = (token: string, body: Record<string, unknown>) => request(`${t.baseUrl}/v1/visits`, { token, json: body });
  const tokenOf = (url: string): string => url.slice(url.indexOf('#') + 1);
  const redeem = (token: string) => request(`${t.baseUrl}/v1/visit-links/redeem`, { json: { token } });

  let visitId: string;
  let linkUrl: string;

  it('starts a visit and texts the patient a link that carries no PHI', async () => {
    const res = await startVisit(ann, { patientId: 'pa-1' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.visit).toMatchObject({ patientId: 'pa-1', staffId: annId, provider: 'embedded', modality: 'video', status: 'waiting', linkUsed: false, startedAt: null });
    visitId = res.body.visit.id;
    linkUrl = res.body.link.url;
    expect(linkUrl).toMatch(/^https:\/\/rpm\.clinic\.example\/visit#rpmv_[A-Za-z0-9_-]{43}$/);
    expect(res.body.link.sms).toBe('sent');
    expect(Date.parse(res.body.link.expiresAt) - clock.now()).toBe(30 * 60_000);

    expect(twilio.messages).toHaveLength(1);
    const sms = twilio.messages[0]!.form;
    expect(sms.get('To')).toBe(PHONE);
    const body = sms.get('Body') ?? '';
    expect(body).toContain(linkUrl);
    // No PHI: not whom (id, name, number, organization), not why (alerts, readings, conditions).
    const withoutLink = body.replace(linkUrl, '');
    for (const phi of ['pa-1', PHONE, '5551230001', 'org-a', 'Maria', 'Gonzalez', '1950', 'MRN', 'Ann', 'Lee', 'alert', 'blood', 'pressure', 'mmHg', 'SpO', 'glucose', 'weight', 'heart', visitId]) {
      expect(withoutLink.toLowerCase()).not.toContain(phi.toLowerCase());
    }
    expect(withoutLink).not.toMatch(/\d{3}/);
    // The link itself is random: nothing of the patient or the visit in it.
    expect(linkUrl).not.toContain('pa-1');
    expect(linkUrl).not.toContain(visitId);
  });

  it('keeps tenants and scope apart: other organizations and nurses outside the care team get 404, administrators 403', async () => {
    expect((await startVisit(bob, { patientId: 'pa-1' })).status).toBe(404);
    expect((await startVisit(nia, { patientId: 'pa-1' })).status).toBe(404);
    expect((await startVisit(adam, { patientId: 'pa-1' })).status).toBe(403);
    expect((await request(`${t.baseUrl}/v1/visits/${visitId}`, { token: bob })).status).toBe(404);
    expect((await request(`${t.baseUrl}/v1/visits/${visitId}`, { token: nia })).body.code).toBe('RPM_ERR_VISIT_NOT_FOUND');
    expect((await request(`${t.baseUrl}/v1/visits/${visitId}/join`, { token: bob, method: 'POST' })).status).toBe(404);
    expect((await request(`${t.baseUrl}/v1/visits/${visitId}/end`, { token: bob, method: 'POST', json: {} })).status).toBe(404);
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/visits`, { token: bob })).status).toBe(404);
    // No consent on record: refused before anything is sent.
    const bobsNurse = await startVisit(bob, { patientId: 'pb-2' });
    expect(bobsNurse.body.code).toBe('RPM_ERR_VISIT_CONSENT_MISSING');
    // An alert of another patient cannot be named.
    expect((await startVisit(ann, { patientId: 'pa-1', alertId: 'no-such-alert' })).body.code).toBe('RPM_ERR_ALERT_NOT_FOUND');
    expect(twilio.messages).toHaveLength(1);
  });

  let session: string;

  it('lets the link work once; used again it reveals nothing', async () => {
    const first = await redeem(tokenOf(linkUrl));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['join', 'modality', 'sessionToken', 'visitId']);
    expect(first.body).toMatchObject({ visitId, modality: 'video', join: { provider: 'embedded', signalingPath: '/v1/visits/signal' } });
    // TURN REST credentials for the patient, expiring with the visit's longest duration.
    const turn = first.body.join.iceServers.find((s: { urls: string[] }) => s.urls[0]?.startsWith('turn:'));
    expect(turn.username).toMatch(new RegExp(`^\\d+:patient-${visitId}$`));
    expect(JSON.stringify(first.body)).not.toMatch(/pa-1|Ann|org-a/);
    session = first.body.sessionToken;

    const again = await redeem(tokenOf(linkUrl));
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('RPM_ERR_VISIT_LINK_INVALID');
    expect(JSON.stringify(again.body)).not.toMatch(new RegExp(`${visitId}|pa-1|Ann|org-a|embedded|video`));
    const unknown = await redeem(`rpmv_${'A'.repeat(43)}`);
    // Used and unknown links are answered alike.
    expect(unknown.body).toEqual(again.body);

    // A reload of the patient's page: the session gives the same entry.
    const reload = await request(`${t.baseUrl}/v1/visit-session`, { token: session });
    expect(reload.body).toMatchObject({ visitId, sessionToken: session });
  });

  it('refuses an expired link with the same answer, and a link redeemed by two at once works for one', async () => {
    const res = await startVisit(ann, { patientId: 'pa-2', sendSms: false });
    expect(res.body.link.sms).toBe('not-requested');
    clock.advance(30 * 60_000);
    const expired = await redeem(tokenOf(res.body.link.url));
    expect(expired.status).toBe(404);
    expect(expired.body.code).toBe('RPM_ERR_VISIT_LINK_INVALID');
    // A new link for the same visit works (once).
    const renewed = await request(`${t.baseUrl}/v1/visits/${res.body.visit.id}/link`, { token: ann, json: { sendSms: false } });
    expect(renewed.status).toBe(200);
    const both = await Promise.all([redeem(tokenOf(renewed.body.link.url)), redeem(tokenOf(renewed.body.link.url))]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 404]);
    expect((await request(`${t.baseUrl}/v1/visits/${res.body.visit.id}/end`, { token: ann, json: {} })).body.visit).toMatchObject({ status: 'ended', endReason: 'cancelled', minutes: null });
  });

  it('authenticates signaling: wrong tokens, other tenants, other scopes and another visit’s session are refused', async () => {
    const other = await startVisit(ann, { patientId: 'pa-2', sendSms: false });
    const otherSession = (await redeem(tokenOf(other.body.link.url))).body.sessionToken as string;

    expect(await (await signal(t.baseUrl, { visitId, role: 'staff', token: 'rpms_not-a-session' })).closed).toMatchObject({ code: 4401 });
    expect(await (await signal(t.baseUrl, 'not json')).closed).toMatchObject({ code: 4401 });
    expect(await (await signal(t.baseUrl, { visitId, role: 'staff', token: bob })).closed).toMatchObject({ code: 4404 });
    expect(await (await signal(t.baseUrl, { visitId, role: 'staff', token: nia })).closed).toMatchObject({ code: 4404 });
    expect(await (await signal(t.baseUrl, { visitId, role: 'staff', token: adam })).closed).toMatchObject({ code: 4404 });
    // The patient of visit B cannot enter visit A, nor with a staff role.
    expect(await (await signal(t.baseUrl, { visitId, role: 'patient', token: otherSession })).closed).toMatchObject({ code: 4404 });
    expect(await (await signal(t.baseUrl, { visitId, role: 'staff', token: session })).closed).toMatchObject({ code: 4401 });
    expect(await (await signal(t.baseUrl, { visitId: other.body.visit.id, role: 'patient', token: session })).closed).toMatchObject({ code: 4404 });
    await request(`${t.baseUrl}/v1/visits/${other.body.visit.id}/end`, { token: ann, json: {} });
  });

  it('relays signals between nurse and patient, records both, and turns the visit into 12 interactive video minutes for the nurse', async () => {
    const join = await request(`${t.baseUrl}/v1/visits/${visitId}/join`, { token: ann, method: 'POST' });
    expect(join.body.join).toMatchObject({ provider: 'embedded', signalingPath: '/v1/visits/signal' });
    expect(join.body.join.iceServers.find((s: { urls: string[] }) => s.urls[0]?.startsWith('turn:')).username).toMatch(new RegExp(`:staff-${annId}$`));

    const nurse = await signal(t.baseUrl, { visitId, role: 'staff', token: ann });
    expect(await nurse.next('welcome')).toEqual({ type: 'welcome', role: 'staff', visitId, modality: 'video', peerPresent: false });
    const patient = await signal(t.baseUrl, { visitId, role: 'patient', token: session });
    expect(await patient.next('welcome')).toMatchObject({ role: 'patient', peerPresent: true });
    expect(await nurse.next('peer')).toEqual({ type: 'peer', present: true });
    nurse.send({ type: 'signal', data: { description: { type: 'offer', sdp: 'v=0…' } } });
    expect(await patient.next('signal')).toEqual({ type: 'signal', data: { description: { type: 'offer', sdp: 'v=0…' } } });
    patient.send({ type: 'signal', data: { candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.2 5000 typ host', sdpMid: '0' } } });
    expect((await nurse.next('signal')).data.candidate.sdpMid).toBe('0');

    // Recorded as the second one enters (the store write follows the welcome).
    await expect.poll(async () => (await request(`${t.baseUrl}/v1/visits/${visitId}`, { token: ann })).body.status).toBe('in-progress');
    const during = await request(`${t.baseUrl}/v1/visits/${visitId}`, { token: ann });
    expect(during.body).toMatchObject({ status: 'in-progress', linkUsed: true });
    expect(during.body.startedAt).toBe(new Date(clock.now()).toISOString());
    expect(during.body.participants.map((p: { role: string; leftAt: string | null }) => [p.role, p.leftAt])).toEqual([
      ['staff', null],
      ['patient', null],
    ]);

    clock.advance(12 * 60_000);
    const ended = await request(`${t.baseUrl}/v1/visits/${visitId}/end`, { token: ann, json: {} });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect(ended.body.visit).toMatchObject({ status: 'ended', endReason: 'ended', minutes: 12 });
    expect(ended.body.timeEntry).toMatchObject({ staffId: annId, minutes: 12, interactive: true, modality: 'video' });
    // Both sides are told, and their connections end.
    expect(await patient.closed).toMatchObject({ code: 4000 });
    expect(await nurse.closed).toMatchObject({ code: 4000 });

    const log = await request(`${t.baseUrl}/v1/patients/pa-1/time?month=${new Date(clock.now()).toISOString().slice(0, 7)}`, { token: ann });
    const entry = log.body.entries.find((e: { id: string }) => e.id === ended.body.timeEntry.id);
    expect(entry).toMatchObject({ source: 'visit', modality: 'video', interactive: true, minutes: 12, staffId: annId });
    expect(log.body.interactiveMinutes).toBeGreaterThanOrEqual(12);

    // Ended once; the patient's session is over.
    expect((await request(`${t.baseUrl}/v1/visits/${visitId}/end`, { token: ann, json: {} })).body.code).toBe('RPM_ERR_VISIT_ENDED');
    expect((await request(`${t.baseUrl}/v1/visit-session`, { token: session })).body.code).toBe('RPM_ERR_VISIT_LINK_INVALID');
    expect(await (await signal(t.baseUrl, { visitId, role: 'patient', token: session })).closed).toMatchObject({ code: 4404 });
  });

  it('audits every step, with the patient among the disclosures', async () => {
    const trail = await request(`${t.baseUrl}/v1/admin/audit?subject=visit:${visitId}&limit=100`, { token: ADMIN_TOKEN });
    expect(trail.status).toBe(200);
    const actions = trail.body.entries.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`);
    for (const a of ['visit.start:success', 'visit.link.sms:success', 'visit.link.redeem:success', 'visit.join:success', 'visit.read:success', 'visit.end:success']) expect(actions).toContain(a);
    // The patient's accounting of disclosures finds the visit.
    const byPatient = await request(`${t.baseUrl}/v1/admin/audit?subject=patient:pa-1&limit=500`, { token: ADMIN_TOKEN });
    expect(byPatient.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['visit.start', 'visit.end', 'visit.link.redeem']));
    // Refused links are audited too, naming no visit.
    const refused = await request(`${t.baseUrl}/v1/admin/audit?subject=visit-link&limit=100`, { token: ADMIN_TOKEN });
    expect(refused.body.entries.some((e: { action: string; outcome: string }) => e.action === 'visit.link.redeem' && e.outcome === 'denied')).toBe(true);
    expect(JSON.stringify(trail.body)).not.toContain(PHONE);
  });

  it('ends a nurse’s signaling connection when she signs out; a visit left open ends after its longest duration', async () => {
    const res = await startVisit(ann, { patientId: 'pa-1', sendSms: false });
    const id = res.body.visit.id as string;
    const nurse = await signal(t.baseUrl, { visitId: id, role: 'staff', token: ann });
    await nurse.next('welcome');
    const patientSession = (await redeem(tokenOf(res.body.link.url))).body.sessionToken;
    const patient = await signal(t.baseUrl, { visitId: id, role: 'patient', token: patientSession });
    await patient.next('welcome');
    clock.advance(5 * 60_000);
    patient.ws.close();
    await patient.closed;
    await expect.poll(async () => (await request(`${t.baseUrl}/v1/visits/${id}`, { token: ann })).body.participants.find((p: { role: string }) => p.role === 'patient').leftAt).not.toBeNull();
    const logout = await request(`${t.baseUrl}/v1/auth/logout`, { token: ann, method: 'POST' });
    expect(logout.status).toBe(204);
    expect(await nurse.closed).toMatchObject({ code: 4401 });
    ann = await t.admin.login('ann@a.example');

    clock.advance(121 * 60_000);
    expect(await t.gw.ctx.visits.sweep()).toBeGreaterThanOrEqual(1);
    const swept = await request(`${t.baseUrl}/v1/visits/${id}`, { token: ann });
    // Ended at the patient's leaving: the 5 minutes both were in are logged.
    expect(swept.body).toMatchObject({ status: 'ended', endReason: 'expired', minutes: 5 });
    const mine = await request(`${t.baseUrl}/v1/visits?mine=true`, { token: ann });
    expect(mine.body.visits.map((v: { id: string }) => v.id)).toContain(id);
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/visits?open=true`, { token: ann })).body.visits).toEqual([]);
  });

  it('documents the routes in OpenAPI', async () => {
    const spec = (await request(`${t.baseUrl}/docs/json`)).body;
    for (const [p, method] of [
      ['/v1/visits', 'post'],
      ['/v1/visits', 'get'],
      ['/v1/patients/{id}/visits', 'get'],
      ['/v1/visits/{id}', 'get'],
      ['/v1/visits/{id}/join', 'post'],
      ['/v1/visits/{id}/link', 'post'],
      ['/v1/visits/{id}/end', 'post'],
      ['/v1/visit-links/redeem', 'post'],
      ['/v1/visit-session', 'get'],
    ] as const) {
      expect(spec.paths[p]?.[method], `${method} ${p}`).toBeDefined();
      expect(spec.paths[p][method].tags).toEqual(['visits']);
    }
    expect(spec.components.securitySchemes.visitSession).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(spec.paths['/v1/visit-links/redeem'].post.security).toBeUndefined();
  });
});

describe('Video visit links without an SMS provider', () => {
  it('logs that a message would go out, without the link (a credential) or the number', async () => {
    const lines: string[] = [];
    const t = await startTestGateway({ RPM_LOG_LEVEL: 'info' }, { logDestination: { write: (line: string) => void lines.push(line) } });
    try {
      await t.admin.createOrganization('org-a');
      await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a' });
      await t.admin.createPatient('pa-1', { organizationId: 'org-a' });
      const ident = { givenName: 'Maria', familyName: 'Gonzalez', birthDate: '1950-03-14', mrn: 'MRN-1', phone: PHONE, preferredLanguage: 'en', timeZone: 'America/Chicago' };
      expect((await request(`${t.baseUrl}/v1/patients/pa-1/identity`, { token: ADMIN_TOKEN, method: 'PUT', json: ident })).status).toBe(200);
      expect((await request(`${t.baseUrl}/v1/patients/pa-1/consents/telehealth`, { token: ADMIN_TOKEN, json: { granted: true, method: 'written' } })).status).toBe(201);
      const nurse = await t.admin.login('ann@a.example');
      const res = await request(`${t.baseUrl}/v1/visits`, { token: nurse, json: { patientId: 'pa-1' } });
      expect(res.body.link.sms).toBe('sent');
      const token = res.body.link.url.split('#')[1] as string;
      const logged = lines.join('');
      expect(logged).toContain('<link>');
      expect(logged).not.toContain(token);
      expect(logged).not.toContain(PHONE);
      expect(logged).not.toContain('Maria');
    } finally {
      await t.close();
    }
  });
});

describe('Video visits with a hosted provider (LiveKit tokens minted by the gateway)', () => {
  it('gives staff and patient tokens for the same random room; the visit starts when both have entered', async () => {
    const { TokenVerifier } = await import('livekit-server-sdk');
    const secret = 'livekit-test-secret-0123456789abcdef';
    const clock = new ManualClock();
    const t = await startTestGateway(
      { RPM_VIDEO_PROVIDER: 'livekit', RPM_LIVEKIT_URL: 'wss://rpm.livekit.example', RPM_LIVEKIT_API_KEY: 'APIrpm', RPM_LIVEKIT_API_SECRET: secret, RPM_SESSION_IDLE_MINUTES: '600' },
      { clock },
    );
    try {
      await t.admin.createOrganization('org-a');
      const annId = (await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Ann Lee, RN' })).id;
      await t.admin.createPatient('pa-1', { organizationId: 'org-a' });
      expect((await request(`${t.baseUrl}/v1/patients/pa-1/consents/telehealth`, { token: ADMIN_TOKEN, json: { granted: true, method: 'written' } })).status).toBe(201);
      const nurse = await t.admin.login('ann@a.example');
      const started = await request(`${t.baseUrl}/v1/visits`, { token: nurse, json: { patientId: 'pa-1', modality: 'audio' } });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      // No identity on record: no number to text; the link comes back to the nurse.
      expect(started.body.link.sms).toBe('no-phone');
      const id = started.body.visit.id as string;

      const staffJoin = await request(`${t.baseUrl}/v1/visits/${id}/join`, { token: nurse, method: 'POST' });
      expect(staffJoin.body.join).toMatchObject({ provider: 'livekit', serverUrl: 'wss://rpm.livekit.example', joinUrl: null });
      const verifier = new TokenVerifier('APIrpm', secret);
      const staffClaims = await verifier.verify(staffJoin.body.join.token);
      expect(staffClaims).toMatchObject({ sub: `staff-${annId}`, name: 'Ann Lee, RN', video: { roomJoin: true, roomAdmin: true } });
      const room = staffClaims.video?.room ?? '';
      expect(room).toMatch(/^rpm-[0-9a-f]{24}$/);
      expect((await request(`${t.baseUrl}/v1/visits/${id}`, { token: nurse })).body.status).toBe('waiting');

      clock.advance(60_000);
      const patient = await request(`${t.baseUrl}/v1/visit-links/redeem`, { json: { token: started.body.link.url.split('#')[1] } });
      const patientClaims = await verifier.verify(patient.body.join.token);
      expect(patientClaims).toMatchObject({ sub: `patient-${id}`, name: 'Patient', video: { room, roomJoin: true, roomAdmin: false } });
      expect((await request(`${t.baseUrl}/v1/visits/${id}`, { token: nurse })).body).toMatchObject({ status: 'in-progress', startedAt: new Date(clock.now()).toISOString() });

      clock.advance(7 * 60_000);
      const ended = await request(`${t.baseUrl}/v1/visits/${id}/end`, { token: nurse, json: {} });
      expect(ended.body.timeEntry).toMatchObject({ minutes: 7, modality: 'audio', interactive: true, staffId: annId });
      // No signaling endpoint with a hosted provider.
      const ws = new WebSocket(`${t.baseUrl.replace(/^http/, 'ws')}/v1/visits/signal`);
      const outcome = await new Promise<string>((resolve) => ws.once('open', () => resolve('open')).once('error', () => resolve('refused')));
      expect(outcome).toBe('refused');
    } finally {
      await t.close();
    }
  });
});
