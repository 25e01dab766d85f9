import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11, item 1: the worklist event stream kept streaming PHI after logout, after the account
 * was disabled, after idle expiry, and with the care-team scope it had when it opened. It must end
 * with its session and follow scope changes at once.
 */
const MINUTE = 60_000;

/** An open SSE stream whose text is collected as it arrives. */
class OpenStream {
  text = '';
  ended = false;
  private readonly done: Promise<void>;

  constructor(res: Response) {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    this.done = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) break;
        this.text += decoder.decode(value);
      }
      this.ended = true;
    })();
  }

  static async open(t: TestGateway, token: string): Promise<OpenStream> {
    const res = await fetch(`${t.baseUrl}/v1/worklist/stream`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const s = new OpenStream(res);
    await s.waitFor(': connected');
    return s;
  }

  async waitFor(what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.text.includes(what)) {
      if (Date.now() > deadline) throw new Error(`stream did not show ${JSON.stringify(what)} within ${ms} ms; got ${JSON.stringify(this.text)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Resolves when the server has ended the response; rejects after `ms`. */
  async ends(ms = 5000): Promise<void> {
    await Promise.race([this.done, new Promise((_, reject) => setTimeout(() => reject(new Error(`stream still open after ${ms} ms`)), ms))]);
  }

  endReason(): string | undefined {
    const m = /event: session-ended\ndata: (\{[^\n]*\})/.exec(this.text);
    return m === null ? undefined : (JSON.parse(m[1] as string) as { reason: string }).reason;
  }

  alertPatients(): string[] {
    return [...this.text.matchAll(/event: alert\ndata: ([^\n]*)/g)].map((m) => (JSON.parse(m[1] as string) as { alert: { patientId: string } }).alert.patientId);
  }
}

describe('the worklist stream ends with its session and follows scope changes', () => {
  let t: TestGateway;
  const clock = new ManualClock();
  const secrets = new Map<string, string>();
  let minutesAgo = 20;

  const nurse = async (email: string, organizationId = 'org-s'): Promise<{ id: string; token: string }> => {
    const { id } = await t.admin.createStaff({ email, role: 'nurse', organizationId });
    return { id, token: await t.admin.login(email) };
  };
  let plannerToken = '';
  /**
   * A worklist event about the patient: a severe BP reading raises an alert the first time; after
   * that the org-wide planner claims or releases it (each a transition the hub publishes).
   */
  const alertFor = async (patientId: string): Promise<void> => {
    // The test clock jumps hours: a fresh session each time.
    plannerToken = await t.admin.login('planner@s.example');
    const open = (await request(`${t.baseUrl}/v1/patients/${patientId}/alerts`, { token: plannerToken })).body.alerts as { id: string; status: string; version: number }[];
    const alert = open[0];
    if (alert !== undefined) {
      const action = alert.status === 'claimed' ? 'release' : 'claim';
      expect((await request(`${t.baseUrl}/v1/alerts/${alert.id}/${action}`, { token: plannerToken, method: 'POST', json: { version: alert.version } })).status).toBe(200);
      return;
    }
    const res = await request(`${t.baseUrl}/v1/readings`, {
      token: secrets.get(patientId) as string,
      json: { readings: [{ kind: 'blood-pressure', systolic: 182 + (minutesAgo % 7), diastolic: 121, unit: 'mmHg', measuredAt: new Date(clock.now() - minutesAgo-- * 1000).toISOString() }] },
    });
    expect(res.body.accepted).toBe(1);
    await t.gw.ctx.alerting!.drain();
  };

  beforeAll(async () => {
    t = await startTestGateway({ RPM_STREAM_RECHECK_S: '1' }, { clock });
    await t.admin.createOrganization('org-s');
    const { token: planner } = await nurse('planner@s.example');
    plannerToken = planner;
    for (const p of ['ps-1', 'ps-2', 'ps-3']) {
      await t.admin.createPatient(p, { organizationId: 'org-s' });
      secrets.set(p, await t.admin.createDevice({ id: `cuff-${p}`, kind: 'bp-cuff', patientId: p }));
      expect((await request(`${t.baseUrl}/v1/patients/${p}/care-plan`, { token: planner, method: 'PUT', json: { programs: ['hypertension'] } })).status).toBe(200);
    }
  });
  afterAll(async () => t.close());

  it('ends at logout, after streaming the events of the session', async () => {
    const n = await nurse('logout@s.example');
    const stream = await OpenStream.open(t, n.token);
    await alertFor('ps-1');
    await stream.waitFor('event: alert');
    expect((await request(`${t.baseUrl}/v1/auth/logout`, { token: n.token, method: 'POST' })).status).toBe(204);
    await stream.ends();
    expect(stream.endReason()).toBe('logged-out');
    // And it was audited: opened, the patients its events showed, closed.
    const audit = (await t.admin.get('/v1/admin/audit?subject=organization:org-s&limit=1000')).body.entries as { actor: string; action: string; patientIds: string[] }[];
    const mine = audit.filter((e) => e.actor === `staff:${n.id}`).map((e) => e.action);
    expect(mine).toEqual(expect.arrayContaining(['worklist.stream.open', 'worklist.stream.events', 'worklist.stream.close']));
    expect(audit.find((e) => e.actor === `staff:${n.id}` && e.action === 'worklist.stream.events')?.patientIds).toEqual(['ps-1']);
  });

  it('ends at once when the account is disabled', async () => {
    const n = await nurse('disabled@s.example');
    const stream = await OpenStream.open(t, n.token);
    expect((await t.admin.post(`/v1/admin/staff/${n.id}/disable`)).status).toBe(200);
    await stream.ends();
    expect(stream.endReason()).toBe('account-disabled');
    await alertFor('ps-2');
    expect(stream.alertPatients()).toEqual([]);
  });

  it('ends when the session goes idle, even though the stream itself stays busy', async () => {
    const n = await nurse('idle@s.example');
    const stream = await OpenStream.open(t, n.token);
    clock.advance(16 * MINUTE);
    await alertFor('ps-3');
    await stream.ends();
    expect(stream.endReason()).toBe('idle');
    expect(stream.alertPatients()).toEqual([]);
  });

  it('ends at the absolute expiry of an active session', async () => {
    const n = await nurse('long-shift@s.example');
    const stream = await OpenStream.open(t, n.token);
    for (let elapsed = 0; elapsed < 12 * 60; elapsed += 10) {
      clock.advance(10 * MINUTE);
      // Activity keeps the session from idling, until the 12-hour end.
      await request(`${t.baseUrl}/v1/auth/me`, { token: n.token });
    }
    await stream.ends();
    expect(stream.endReason()).toBe('expired');
  });

  it('follows a care-team change at once: the stream ends, and a new one carries the new scope', async () => {
    await t.admin.createCareTeam('team-s1', 'org-s');
    await t.admin.addTeamPatient('team-s1', 'ps-1');
    const n = await nurse('teams@s.example');
    await t.admin.addTeamMember('team-s1', n.id);
    await t.admin.createStaff({ email: 'doc@s.example', role: 'physician', organizationId: 'org-s' });
    const physicianToken = await t.admin.login('doc@s.example');

    const before = await OpenStream.open(t, n.token);
    const doctor = await OpenStream.open(t, physicianToken);
    await alertFor('ps-1');
    await before.waitFor('event: alert');
    await alertFor('ps-2');
    expect(before.alertPatients().every((p) => p === 'ps-1')).toBe(true);

    // Her team now looks after ps-2 instead of ps-1.
    await t.admin.addTeamPatient('team-s1', 'ps-2');
    expect((await request(`${t.baseUrl}/v1/admin/care-teams/team-s1/patients/ps-1`, { token: ADMIN_TOKEN, method: 'DELETE' })).status).toBe(204);
    await before.ends();
    expect(before.endReason()).toBe('scope-changed');

    const after = await OpenStream.open(t, n.token);
    await alertFor('ps-1');
    await alertFor('ps-2');
    await after.waitFor('event: alert');
    await new Promise((r) => setTimeout(r, 200));
    expect(new Set(after.alertPatients())).toEqual(new Set(['ps-2']));
    // A physician sees the whole organization: her stream is not interrupted.
    expect(doctor.ended).toBe(false);
    expect(new Set(doctor.alertPatients())).toEqual(new Set(['ps-1', 'ps-2']));
    after.ends(1).catch(() => undefined);
  });
});
