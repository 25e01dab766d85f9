import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildGateway, sleep, waitFor } from './helpers/child-gateway.js';
import { AdminClient, request, tempDir } from './helpers/gateway.js';
import { startTwilioDouble, type TwilioDouble } from './helpers/twilio-double.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'twilio-auth-token-crash';
const MIN = 60_000;

/** A zone where it is daytime now, so a visit 15 minutes ahead lies inside 01:00–23:00 working hours. */
function daytimeZone(): string {
  for (const tz of ['UTC', 'Asia/Tokyo', 'America/New_York', 'Asia/Kolkata']) {
    const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
    if (hour >= 1 && hour <= 21) return tz;
  }
  return 'UTC';
}

/**
 * Visit reminders are durable jobs: one scheduled before a SIGKILL is sent exactly once after the
 * restart, and one whose send was cut off by the kill (Twilio received it, we never heard back)
 * is sent again with the same idempotency token, which Twilio answers without sending twice.
 */
describe('visit reminders across SIGKILL (a real gateway process)', () => {
  let twilio: TwilioDouble;
  let gw: ChildGateway;
  let admin: AdminClient;
  let nurse: string;
  let patients = 0;

  beforeAll(async () => {
    twilio = await startTwilioDouble({ accountSid: ACCOUNT, authToken: AUTH_TOKEN });
    gw = new ChildGateway({
      dataDir: tempDir('rpm-reminders-crash-'),
      env: { RPM_TWILIO_ACCOUNT_SID: ACCOUNT, RPM_TWILIO_AUTH_TOKEN: AUTH_TOKEN, RPM_TWILIO_FROM: '+15550001111', RPM_TWILIO_BASE_URL: twilio.url, RPM_JOB_POLL_S: '2' },
    });
    await gw.start();
    admin = new AdminClient(gw.baseUrl);
    await admin.createOrganization('org-k');
    const weekly = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '01:00', end: '23:00' }));
    // One nurse per visit, so the visits (both about 15 minutes ahead) never overlap.
    for (const email of ['kim@k.example', 'lee@k.example']) {
      const staff = await admin.createStaff({ email, role: 'nurse', organizationId: 'org-k' });
      const token = await admin.login(email);
      expect((await request(`${gw.baseUrl}/v1/staff/${staff.id}/availability`, { method: 'PUT', token, json: { timeZone: daytimeZone(), weekly } })).status).toBe(200);
    }
    nurse = await admin.login('kim@k.example');
  }, 60_000);
  afterAll(async () => {
    await gw?.dispose();
    await twilio?.close();
  });

  /** A patient with a phone, and a visit whose 15 min reminder is due `dueInMs` from now. */
  async function visitWithReminderIn(dueInMs: number): Promise<string> {
    patients++;
    const id = `pk-${patients}`;
    const phone = `+1555000${String(patients).padStart(4, '0')}`;
    await admin.createPatient(id, { organizationId: 'org-k' });
    const put = await request(`${gw.baseUrl}/v1/patients/${id}/identity`, {
      method: 'PUT',
      token: nurse,
      json: { givenName: 'Kai', familyName: 'Crash', birthDate: '1960-01-01', mrn: `K-${patients}`, phone, preferredLanguage: 'en', timeZone: 'UTC' },
    });
    expect(put.status).toBe(200);
    // Whole seconds: the appointment is stored to the millisecond, the reminder due 15 min before.
    const start = Math.ceil((Date.now() + 15 * MIN + dueInMs) / 1000) * 1000;
    const res = await request(`${gw.baseUrl}/v1/appointments`, { token: nurse, json: { patientId: id, typeId: 'monthly-check-in', start: new Date(start).toISOString() } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return phone;
  }

  it('sends a reminder scheduled before a SIGKILL exactly once after the restart', async () => {
    const phone = await visitWithReminderIn(4000);
    const exit = await gw.stop('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    expect(twilio.messages.filter((m) => m.form.get('To') === phone)).toHaveLength(0);
    await gw.start();
    nurse = await admin.login('kim@k.example');
    await waitFor(() => twilio.messages.some((m) => m.form.get('To') === phone), 30_000, 'the reminder after the restart');
    // Several poll periods later, still exactly one.
    await sleep(5000);
    const sent = twilio.messages.filter((m) => m.form.get('To') === phone);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.form.get('Body')).toMatch(/starts in 15 minutes/);
  }, 90_000);

  it('sends once when the kill cut the send off mid-request: the repeat carries the same idempotency token', async () => {
    nurse = await admin.login('lee@k.example');
    twilio.stallNext.n = 1;
    const before = twilio.requests.count;
    const phone = await visitWithReminderIn(1500);
    // Twilio has the message, the gateway is waiting for the answer: kill it now.
    await waitFor(() => twilio.messages.some((m) => m.form.get('To') === phone), 30_000, 'the stalled send');
    await gw.stop('SIGKILL');
    await gw.start();
    await waitFor(() => twilio.requests.count >= before + 2, 30_000, 'the repeated send after the restart');
    await sleep(4000);
    const sent = twilio.messages.filter((m) => m.form.get('To') === phone);
    expect(sent).toHaveLength(1);
    expect(twilio.requests.count - before).toBe(2);
  }, 90_000);
});
