import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/load-config.js';
import { createLogger } from '../core/logging.js';
import { startGateway } from '../gateway/start.js';
import { ChildGateway, sleep, waitFor } from './helpers/child-gateway.js';
import { ADMIN_TOKEN, AdminClient, request, startTestGateway, tempDir, type TestGateway } from './helpers/gateway.js';

/*
 * Issue 15: the single process runs its rules engine in a thread of its own (gateway/rules-thread.ts),
 * so ingest and the rules never share one event loop. What must still hold: an alert raised there
 * reaches a nurse's stream here; a thread that dies is noticed and started again (or the process
 * fails loudly); and across SIGTERM and SIGKILL every alert is raised exactly once (durable cursor).
 */

const severeBp = (minutesAgo: number): Record<string, unknown> => ({
  kind: 'blood-pressure',
  systolic: 188,
  diastolic: 121,
  unit: 'mmHg',
  measuredAt: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
});

/** An open SSE stream whose text is collected as it arrives. */
async function openStream(baseUrl: string, token: string): Promise<{ text(): string; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(`${baseUrl}/v1/worklist/stream`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  expect(res.status).toBe(200);
  let text = '';
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      text += decoder.decode(value);
    }
  })();
  await waitFor(() => text.includes(': connected'), 5000, 'the stream to connect');
  return { text: () => text, close: () => controller.abort() };
}

describe('the rules thread of the single process', () => {
  let t: TestGateway;
  const lines: Record<string, unknown>[] = [];
  const secrets = new Map<string, string>();
  let nurseToken = '';

  beforeAll(async () => {
    t = await startTestGateway({ RPM_LOG_LEVEL: 'info', RPM_RULES_THREAD: 'true' }, { logDestination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
    await t.admin.createOrganization('org-t');
    await t.admin.createStaff({ email: 'nurse@t.example', role: 'nurse', organizationId: 'org-t' });
    nurseToken = await t.admin.login('nurse@t.example');
    for (const p of ['pt-1', 'pt-2', 'pt-3']) {
      await t.admin.createPatient(p, { organizationId: 'org-t' });
      secrets.set(p, await t.admin.createDevice({ id: `cuff-${p}`, kind: 'bp-cuff', patientId: p }));
    }
  });
  afterAll(async () => t.close());

  it('raises an alert in the thread that reaches an SSE client on the main thread, without a drain', async () => {
    const stream = await openStream(t.baseUrl, nurseToken);
    try {
      const res = await request(`${t.baseUrl}/v1/readings`, { token: secrets.get('pt-1') as string, json: { readings: [severeBp(5)] } });
      expect(res.status).toBe(202);
      // Nothing waits for the rules here: the nudge after the commit wakes the thread, its alert comes back as an id.
      await waitFor(() => /event: alert\ndata: [^\n]*"pt-1"/.test(stream.text()), 10_000, 'the alert on the stream');
      const data = /event: alert\ndata: ([^\n]*)/.exec(stream.text())?.[1] as string;
      const event = JSON.parse(data) as { change: string; alert: { patientId: string; organizationId: string; severity: string; status: string } };
      expect(event.change).toBe('created');
      expect(event.alert).toMatchObject({ patientId: 'pt-1', status: 'open' });
      // The thread's log line comes out of the main thread's logger (ids only).
      expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'alert raised', thread: 'rules', organizationId: 'org-t' })]));
      expect(JSON.stringify(lines.filter((l) => l.msg === 'alert raised'))).not.toContain('pt-1');
    } finally {
      stream.close();
    }
  });

  it('is started again when it dies, says so loudly, and judges what was committed meanwhile', async () => {
    const rules = t.gw.ctx.alerting!;
    expect(rules.running).toBe(true);
    const before = rules.restarts;
    await rules.crash();
    // Committed while the thread is down or starting: its nudge waits, the cursor holds the place.
    const res = await request(`${t.baseUrl}/v1/readings`, { token: secrets.get('pt-2') as string, json: { readings: [severeBp(4)] } });
    expect(res.status).toBe(202);
    await waitFor(() => rules.restarts === before + 1 && rules.running, 20_000, 'the rules thread to be started again');
    expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'background thread ended unexpectedly; starting it again (its work resumes from the store)', level: 50 })]));
    await rules.drain();
    const alerts = (await request(`${t.baseUrl}/v1/patients/pt-2/alerts`, { token: nurseToken })).body.alerts as { status: string }[];
    expect(alerts).toHaveLength(1);
    // And a stream opened now hears new alerts again.
    const stream = await openStream(t.baseUrl, nurseToken);
    try {
      await request(`${t.baseUrl}/v1/readings`, { token: secrets.get('pt-3') as string, json: { readings: [severeBp(3)] } });
      await waitFor(() => stream.text().includes('"pt-3"'), 10_000, 'the alert after the restart on the stream');
    } finally {
      stream.close();
    }
    const metrics = await (await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(metrics).toMatch(/^rpm_rules_thread_restarts_total \d+$/m);
  });
});

describe('a rules thread that keeps dying', () => {
  it('is given up after 5 restarts in a minute, and the owner is told (the process would exit 1)', async () => {
    const dataDir = tempDir('rpm-rules-broken-');
    const broken: Error[] = [];
    const config = loadConfig({ RPM_DATA_DIR: dataDir, RPM_HTTP_HOST: '127.0.0.1', RPM_HTTP_PORT: '0', RPM_MQTT_HOST: '127.0.0.1', RPM_MQTT_PORT: '0', RPM_ADMIN_TOKEN: ADMIN_TOKEN, RPM_LOG_LEVEL: 'silent', RPM_RULES_THREAD: 'true' });
    const gw = await startGateway(config, { log: createLogger('silent'), onBackgroundBroken: (err) => broken.push(err) });
    try {
      const rules = gw.ctx.alerting!;
      for (let i = 0; i < 6 && broken.length === 0; i++) {
        await waitFor(() => rules.running, 20_000, `the rules thread running before crash ${i + 1}`);
        await rules.crash();
        await sleep(50);
      }
      await waitFor(() => broken.length === 1, 20_000, 'the owner to hear that the thread is broken');
      expect(broken[0]?.message).toMatch(/ended 6 times within 60000 ms/);
      expect(rules.running).toBe(false);
    } finally {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/*
 * The real process, killed: readings that raise one alert per patient are acknowledged while the
 * gateway is SIGKILLed, then stopped with SIGTERM; afterwards every patient with an acknowledged
 * severe reading has exactly one alert, created once (one event, version 1): none lost, none doubled.
 */
describe('alerts exactly once across SIGKILL and SIGTERM', () => {
  const dataDir = tempDir('rpm-rules-crash-');
  const gw = new ChildGateway({ dataDir, env: { RPM_LOG_LEVEL: 'warn', RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '1000000', RPM_RULES_THREAD: 'true' }, readyTimeoutMs: 90_000 });
  const PATIENTS = 60;
  const secrets: string[] = [];

  beforeAll(async () => {
    await gw.start();
    const admin = new AdminClient(gw.baseUrl);
    for (let i = 0; i < PATIENTS; i++) {
      await admin.createPatient(`pk-${i}`);
      secrets.push(await admin.createDevice({ id: `cuff-k-${i}`, kind: 'bp-cuff', patientId: `pk-${i}` }));
    }
  }, 120_000);
  afterAll(async () => {
    await gw.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Sends patient i's severe reading until it is acknowledged (a retry after a lost answer is a duplicate). */
  const send = async (i: number): Promise<void> => {
    const reading = { id: `severe-${i}`, ...severeBp(30) };
    for (;;) {
      try {
        const res = await request(`${gw.baseUrl}/v1/readings`, { token: secrets[i] as string, json: { readings: [reading] } });
        if (res.status === 202) return;
      } catch {
        // killed mid-request: the device tries again
      }
      await sleep(100);
    }
  };

  const backlog = async (): Promise<number> => {
    const text = await (await fetch(`${gw.baseUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    return Number(/^rpm_rule_backlog_readings (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  };

  it(
    'raises each alert once',
    async () => {
      // A third before the kill, in flight at the kill, and after the restart.
      const first = Array.from({ length: 20 }, (_, i) => send(i));
      await Promise.all(first);
      const inFlight = Array.from({ length: 20 }, (_, i) => send(20 + i));
      await sleep(30);
      const killed = await gw.stop('SIGKILL', 10_000);
      expect(killed.signal).toBe('SIGKILL');
      await gw.start();
      await Promise.all(inFlight);
      const last = Array.from({ length: 20 }, (_, i) => send(40 + i));
      await Promise.all(last);
      // SIGTERM right behind the load: the thread finishes its pass, writes, and the process exits 0.
      const stopped = await gw.stop('SIGTERM', 20_000);
      expect(stopped.code).toBe(0);
      await gw.start();
      const deadline = Date.now() + 20_000;
      while ((await backlog()) !== 0) {
        if (Date.now() > deadline) throw new Error('the rules backlog did not reach 0');
        await sleep(100);
      }
      expect((await gw.stop('SIGTERM', 20_000)).code).toBe(0);

      const db = new Database(path.join(dataDir, 'clinical.sqlite'), { readonly: true });
      try {
        const alerts = db.prepare('SELECT id, patient_id, rule_id FROM alerts').all() as { id: string; patient_id: string; rule_id: string }[];
        const raised = new Map((db.prepare("SELECT alert_id, count(*) AS n FROM alert_events WHERE action = 'raised' GROUP BY alert_id").all() as { alert_id: string; n: number }[]).map((e) => [e.alert_id, e.n]));
        // A pass written twice would repeat an event's version (or raise a second alert).
        const repeated = db.prepare('SELECT alert_id, version, count(*) AS n FROM alert_events GROUP BY alert_id, version HAVING n > 1').all();
        const byPatient = new Map<string, number>();
        for (const a of alerts) byPatient.set(a.patient_id, (byPatient.get(a.patient_id) ?? 0) + 1);
        const lost = Array.from({ length: PATIENTS }, (_, i) => `pk-${i}`).filter((p) => !byPatient.has(p));
        const doubled = [...byPatient].filter(([, n]) => n > 1);
        expect(lost).toEqual([]);
        expect(doubled).toEqual([]);
        expect(alerts.filter((a) => raised.get(a.id) !== 1)).toEqual([]);
        expect(repeated).toEqual([]);
      } finally {
        db.close();
      }
    },
    300_000,
  );
});
