import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStores, type SqliteStores } from '../connectors/sqlite/index.js';
import { createLogger } from '../core/logging.js';
import type { Alert } from '../core/model/alert.js';
import type { ComponentName, ReadingKind } from '../core/model/reading-kinds.js';
import type { Reading } from '../core/model/reading.js';
import type { AlertStore, EvaluationWrite } from '../core/ports/alert-store.js';
import type { CarePlanInput } from '../rules/model.js';
import { ManualClock } from '../test/helpers/clock.js';
import { request, startTestGateway, tempDir, type TestGateway } from '../test/helpers/gateway.js';
import { makeReading } from '../test/helpers/readings.js';
import { AlertingService } from './alerting-service.js';
import { CarePlans } from './care-plans.js';

const H = 3_600_000;
const D = 24 * H;
// Whole seconds, so times survive ISO round trips exactly.
const NOW = Math.floor(Date.now() / 1000) * 1000;

const UNIT: Partial<Record<ReadingKind, string>> = { 'body-weight': 'kg', spo2: '%', 'heart-rate': '/min', 'blood-glucose': 'mg/dL' };

/** A canonical reading of `patientId` measured at `atMs`. */
function reading(patientId: string, kind: ReadingKind, value: number, atMs: number): Reading {
  const name: ComponentName = 'value';
  return makeReading({
    deviceId: `dev-${patientId}`,
    patientId,
    kind,
    measuredAtMs: atMs,
    measuredAt: new Date(atMs).toISOString(),
    receivedAtMs: atMs,
    components: [{ name, code: 'x', value, unit: UNIT[kind] ?? '' }],
    reported: { unit: UNIT[kind] ?? '', values: { value } },
  });
}

/** Real SQLite stores in a temp dir, and an engine over them that a test can "restart". */
class Rig {
  readonly dir = tempDir('rpm-alerting-');
  readonly clock = new ManualClock(NOW);
  readonly stores: SqliteStores = createSqliteStores({ path: path.join(this.dir, 'rpm.sqlite'), synchronous: 'NORMAL' });
  private readonly engines: AlertingService[] = [];

  /** A fresh engine, as after a process start: empty caches, state only from the stores. */
  engine(alerts: AlertStore = this.stores.alerts): AlertingService {
    const e = new AlertingService({
      readings: this.stores.readings,
      progress: this.stores.progress,
      alerts,
      registry: this.stores.registry,
      carePlans: new CarePlans(alerts),
      clock: this.clock,
      log: createLogger('silent'),
      newId: randomUUID,
    });
    this.engines.push(e);
    return e;
  }

  async patient(id: string, plan?: CarePlanInput, savedAtMs = this.clock.now()): Promise<void> {
    await this.stores.registry.createPatient({ id, organizationId: 'org-1', createdAtMs: NOW - 30 * D });
    if (plan !== undefined) await this.stores.alerts.saveCarePlan(id, plan, null, 'test', savedAtMs);
  }

  async commit(...readings: Reading[]): Promise<void> {
    const outcomes = await this.stores.readings.commit({ readings, rejections: [] });
    expect(outcomes.map((o) => o.status)).toEqual(readings.map(() => 'accepted'));
  }

  async alerts(patientId: string): Promise<Alert[]> {
    return (await this.stores.alerts.alertsOfPatient(patientId, { includeResolved: true, limit: 100 })).sort((a, b) => a.createdAtMs - b.createdAtMs || a.measuredAtMs - b.measuredAtMs);
  }

  async eventCount(patientId: string): Promise<number> {
    let n = 0;
    for (const a of await this.alerts(patientId)) n += (await this.stores.alerts.events(a.id)).length;
    return n;
  }

  async close(): Promise<void> {
    for (const e of this.engines) await e.stop().catch(() => undefined);
    await this.stores.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const HEART_FAILURE: CarePlanInput = { programs: ['general', 'heart-failure'] };

describe('AlertingService over real SQLite stores', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('takes just-committed readings from memory, and reads the log when memory does not continue the cursor', async () => {
    rig = new Rig();
    await rig.patient('p-m');
    const store = rig.stores.readings;
    const readBack: number[] = [];
    // The real store, with readingsSince counted: how many readings a pass had to read back.
    const counted = Object.create(store) as typeof store;
    counted.readingsSince = async (after, limit) => {
      const rows = await store.readingsSince(after, limit);
      readBack.push(rows.length);
      return rows;
    };
    const e = new AlertingService({ readings: counted, progress: rig.stores.progress, alerts: rig.stores.alerts, registry: rig.stores.registry, carePlans: new CarePlans(rig.stores.alerts), clock: rig.clock, log: createLogger('silent'), newId: randomUUID });
    const commitAndTell = async (...rs: Reading[]): Promise<void> => e.committed(rs, await store.commit({ readings: rs, rejections: [] }));

    await commitAndTell(reading('p-m', 'spo2', 89, NOW - 2 * H));
    await e.drain();
    expect((await rig.alerts('p-m')).map((a) => a.ruleId)).toEqual(['spo2-low']);
    expect(readBack.every((n) => n === 0)).toBe(true);

    // A commit the engine never heard of (as after a dropped buffer): the next pass finds the gap
    // and reads the log from the store, the unheard reading and the heard one after it.
    await store.commit({ readings: [reading('p-m', 'heart-rate', 136, NOW - H)], rejections: [] });
    await commitAndTell(reading('p-m', 'spo2', 88, NOW - H / 2));
    await e.drain();
    expect((await rig.alerts('p-m')).map((a) => a.ruleId).sort()).toEqual(['heart-rate-abnormal', 'spo2-low']);
    expect(readBack.filter((n) => n > 0)).toEqual([2]);
    const events = await rig.eventCount('p-m');
    await e.drain();
    expect(await rig.eventCount('p-m')).toBe(events);
  });

  it('catches up a large backlog in short passes with turns of the event loop between them', async () => {
    rig = new Rig();
    await rig.patient('p-big');
    const readings = Array.from({ length: 3000 }, (_, i) => reading('p-big', 'heart-rate', 70 + (i % 20), NOW - 3 * D + i * 60_000));
    for (let i = 0; i < readings.length; i += 500) await rig.commit(...readings.slice(i, i + 500));
    const last = await rig.stores.readings.countReadings();
    // Readings committed while the engine was down: a start-up catch-up from the durable cursor.
    const engine = rig.engine();
    const seen: number[] = [];
    let done = false;
    const watch = (): void => {
      void rig?.stores.alerts.evaluationCursor().then((c) => seen.push(c));
      if (!done) setImmediate(watch);
    };
    setImmediate(watch);
    await engine.drain();
    done = true;
    expect(await rig.stores.alerts.evaluationCursor()).toBe(last);
    // Other work ran while the catch-up was under way, not only before or after it.
    expect(seen.some((c) => c > 0 && c < last)).toBe(true);
  });

  it('stops after the pass in progress once its drain time is up, leaving the backlog to the next start', async () => {
    rig = new Rig();
    await rig.patient('p-stop');
    const readings = Array.from({ length: 1500 }, (_, i) => reading('p-stop', 'heart-rate', 70 + (i % 20), NOW - 2 * D + i * 60_000));
    for (let i = 0; i < readings.length; i += 500) await rig.commit(...readings.slice(i, i + 500));
    const last = await rig.stores.readings.countReadings();
    const first = rig.engine();
    // No time to drain: a shutdown under a backlog does not wait for it.
    await first.stop({ drainForMs: 0 });
    expect(await rig.stores.alerts.evaluationCursor()).toBeLessThan(last);
    const next = rig.engine();
    await next.drain();
    expect(await rig.stores.alerts.evaluationCursor()).toBe(last);
  });

  it("never overwrites a nurse's action committed while a pass judges the same alert: the pass is judged again from it", async () => {
    rig = new Rig();
    await rig.patient('p-race');
    const engine = rig.engine();
    await rig.commit(reading('p-race', 'spo2', 89, NOW - 2 * H));
    await engine.drain();
    const [raised] = await rig.alerts('p-race');
    expect(raised).toMatchObject({ ruleId: 'spo2-low', status: 'open', version: 1 });
    const alert = raised as Alert;

    // The real store, except that right after the engine reads the open alert a nurse claims it:
    // the claim lands between the pass's read and its write.
    const real = rig.stores.alerts;
    let claims = 0;
    const racing = Object.create(real) as AlertStore;
    racing.unresolvedAlert = async (patientId, ruleId) => {
      const found = await real.unresolvedAlert(patientId, ruleId);
      if (found?.id === alert.id && claims === 0) {
        claims++;
        const claimed: Alert = { ...found, status: 'claimed', claimedBy: 's-nurse', claimedAtMs: rig!.clock.now(), version: found.version + 1, updatedAtMs: rig!.clock.now() };
        const event = { alertId: found.id, version: claimed.version, atMs: claimed.updatedAtMs, actor: 's-nurse', action: 'claim' as const, fromStatus: found.status, toStatus: claimed.status, severity: found.severity, note: null, finding: null };
        expect(await real.saveTransition(claimed, found.version, event)).toBe(true);
      }
      return found;
    };
    const second = rig.engine(racing);
    const changes: Alert[] = [];
    second.onAlertChange((a) => changes.push(a));
    // Worse: the engine updates the alert it read at version 1, which the nurse has claimed meanwhile.
    await rig.commit(reading('p-race', 'spo2', 84, NOW - H));
    await second.drain();
    expect(claims).toBe(1);
    const [now] = await rig.alerts('p-race');
    // The claim stands, and the worse reading is on the alert: judged again from version 2.
    expect(now).toMatchObject({ id: alert.id, status: 'claimed', claimedBy: 's-nurse', version: 3, value: 84 });
    expect((await rig.stores.alerts.events(alert.id)).map((e) => [e.version, e.action, e.actor === 's-nurse'])).toEqual([
      [1, 'raised', false],
      [2, 'claim', true],
      [3, 'updated', false],
    ]);
    // Only the written update was announced (the refused one never was).
    expect(changes.map((a) => a.version)).toEqual([3]);
    expect(await rig.stores.alerts.evaluationCursor()).toBe(await rig.stores.readings.countReadings());
  });

  describe('crash safety of the cursor', () => {
    it('evaluates readings committed while the engine was stopped on the next start, and never raises anything twice', async () => {
      rig = new Rig();
      await rig.patient('p-a');
      await rig.patient('p-b');
      const first = rig.engine();
      await rig.commit(reading('p-a', 'spo2', 89, NOW - 3 * H));
      await first.drain();
      expect((await rig.alerts('p-a')).map((a) => [a.ruleId, a.severity, a.status])).toEqual([['spo2-low', 'high', 'open']]);
      const cursorBefore = await rig.stores.alerts.evaluationCursor();

      // The engine stops (shutdown, crash); ingest goes on committing.
      await first.stop();
      await rig.commit(reading('p-a', 'spo2', 88, NOW - 2 * H), reading('p-b', 'heart-rate', 136, NOW - 2 * H));
      await rig.commit(reading('p-b', 'spo2', 90, NOW - H));
      first.kick();
      await first.drain();
      expect(await rig.stores.alerts.evaluationCursor()).toBe(cursorBefore);
      expect(await rig.alerts('p-b')).toEqual([]);

      // Start: a fresh engine catches up from the durable cursor.
      const second = rig.engine();
      await second.drain();
      expect(await rig.stores.alerts.evaluationCursor()).toBe(cursorBefore + 3);
      expect((await rig.alerts('p-a')).map((a) => [a.ruleId, a.severity, a.status])).toEqual([['spo2-low', 'high', 'open']]);
      expect((await rig.alerts('p-b')).map((a) => [a.ruleId, a.severity, a.status, a.measuredAtMs]).sort()).toEqual(
        [
          ['heart-rate-abnormal', 'high', 'open', NOW - 2 * H],
          ['spo2-low', 'high', 'open', NOW - H],
        ].sort(),
      );
      const events = (await rig.eventCount('p-a')) + (await rig.eventCount('p-b'));

      // Another start over the same stores: nothing left to evaluate, nothing raised again.
      const third = rig.engine();
      await third.drain();
      expect(await rig.stores.alerts.evaluationCursor()).toBe(cursorBefore + 3);
      expect((await rig.alerts('p-a')).length + (await rig.alerts('p-b')).length).toBe(3);
      expect((await rig.eventCount('p-a')) + (await rig.eventCount('p-b'))).toBe(events);
    });

    it('writes alerts and cursor together: a failed write leaves both untouched, the pass is retried and raises each alert once', async () => {
      rig = new Rig();
      await rig.patient('p-f');
      let failures = 1;
      const real = rig.stores.alerts;
      // Disk full / busy on the clinical database, once.
      const flaky: AlertStore = Object.create(real, {
        applyEvaluation: {
          value: async (w: EvaluationWrite): Promise<void> => {
            if (failures > 0) {
              failures -= 1;
              throw new Error('SQLITE_FULL: database or disk is full');
            }
            return real.applyEvaluation(w);
          },
        },
      }) as AlertStore;
      const engine = rig.engine(flaky);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      try {
        await rig.commit(reading('p-f', 'blood-glucose', 50, NOW - 20 * 60_000), reading('p-f', 'heart-rate', 45, NOW - 20 * 60_000));
        // As after a commit: fire and forget. The pass runs on microtasks only (SQLite is
        // synchronous), so it has settled by the next macrotask.
        engine.kick();
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        expect(failures).toBe(0);
        // The failure neither ended the process (an unhandled rejection does) nor wrote anything.
        expect(unhandled).toEqual([]);
        expect(await rig.stores.alerts.evaluationCursor()).toBe(0);
        expect(await rig.alerts('p-f')).toEqual([]);

        // The pass is retried: the readings behind the cursor are evaluated, once.
        await engine.drain();
        expect(await rig.stores.alerts.evaluationCursor()).toBe(2);
        // Glucose 50 mg/dL is level 2 hypoglycemia for every patient (a universal rule).
        expect((await rig.alerts('p-f')).map((a) => [a.ruleId, a.severity]).sort()).toEqual([
          ['glucose-low', 'critical'],
          ['heart-rate-abnormal', 'medium'],
        ]);

        // A caller that waits for the engine learns of a failed pass; the next pass catches up.
        failures = 1;
        await rig.commit(reading('p-f', 'spo2', 89, NOW - 10 * 60_000));
        await expect(engine.drain()).rejects.toThrow(/SQLITE_FULL/);
        expect(await rig.stores.alerts.evaluationCursor()).toBe(2);
        await engine.drain();
        expect(await rig.stores.alerts.evaluationCursor()).toBe(3);
        expect((await rig.alerts('p-f')).map((a) => a.ruleId).sort()).toEqual(['glucose-low', 'heart-rate-abnormal', 'spo2-low']);
        expect(await rig.eventCount('p-f')).toBe(3);
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });

  describe('missing-data rule on an injected clock', () => {
    it('opens "no weight in 48 h" (medium) once the deadline passes, never twice, and a new weight auto-resolves it', async () => {
      rig = new Rig();
      const t0 = NOW - 10 * D;
      rig.clock.advance(t0 - NOW);
      await rig.patient('p-hf', HEART_FAILURE, t0 - H);
      const engine = rig.engine();
      await rig.commit(reading('p-hf', 'body-weight', 82.0, t0));
      await engine.drain();

      rig.clock.advance(47 * H);
      await engine.sweepMissing(['p-hf']);
      expect(await rig.alerts('p-hf')).toEqual([]);

      rig.clock.advance(2 * H); // t0 + 49 h
      await engine.sweepMissing(['p-hf']);
      const [alert] = await rig.alerts('p-hf');
      expect(alert).toMatchObject({ ruleId: 'weight-missing', severity: 'medium', status: 'open', measuredAtMs: t0 + 48 * H, createdAtMs: t0 + 49 * H });

      // Sweeping again changes nothing: one alert, one event.
      rig.clock.advance(H);
      await engine.sweepMissing(['p-hf']);
      await engine.sweepMissing(['p-hf']);
      expect(await rig.alerts('p-hf')).toHaveLength(1);
      expect(await rig.eventCount('p-hf')).toBe(1);

      // The patient weighs again: the condition clears and the alert resolves by itself.
      await rig.commit(reading('p-hf', 'body-weight', 82.3, t0 + 50 * H));
      await engine.drain();
      const resolved = await rig.alerts('p-hf');
      expect(resolved).toHaveLength(1);
      expect(resolved[0]).toMatchObject({ ruleId: 'weight-missing', status: 'resolved', outcome: 'auto-resolved', resolvedBy: 'rules-engine' });

      // The next gap of 48 h after that weight is a new episode: a new alert.
      rig.clock.advance(47 * H); // t0 + 97 h, deadline t0 + 98 h
      await engine.sweepMissing(['p-hf']);
      expect(await rig.alerts('p-hf')).toHaveLength(1);
      rig.clock.advance(2 * H);
      await engine.sweepMissing(['p-hf']);
      expect((await rig.alerts('p-hf')).map((a) => [a.status, a.measuredAtMs])).toEqual([
        ['resolved', t0 + 48 * H],
        ['open', t0 + 98 * H],
      ]);
    });

    it('counts from the care plan when no weight ever arrived', async () => {
      rig = new Rig();
      await rig.patient('p-new', HEART_FAILURE, NOW);
      const engine = rig.engine();
      rig.clock.advance(47 * H);
      await engine.sweepMissing(['p-new']);
      expect(await rig.alerts('p-new')).toEqual([]);
      rig.clock.advance(2 * H);
      await engine.sweepMissing(['p-new']);
      expect((await rig.alerts('p-new')).map((a) => [a.ruleId, a.severity, a.measuredAtMs])).toEqual([['weight-missing', 'medium', NOW + 48 * H]]);
    });

    it('resolves the alert when a weight measured before the deadline is delivered after it (the scale synced late)', async () => {
      rig = new Rig();
      const t0 = NOW - 10 * D;
      rig.clock.advance(t0 - NOW);
      await rig.patient('p-late', HEART_FAILURE, t0 - H);
      const engine = rig.engine();
      await rig.commit(reading('p-late', 'body-weight', 82.0, t0));
      await engine.drain();
      rig.clock.advance(49 * H);
      await engine.sweepMissing(['p-late']);
      expect((await rig.alerts('p-late')).map((a) => a.status)).toEqual(['open']);

      // Weighed at t0 + 47 h, uploaded at t0 + 50 h: the patient did weigh within 48 h, and the
      // latest weight is 3 h old. Nothing is missing any more.
      rig.clock.advance(H);
      await rig.commit(reading('p-late', 'body-weight', 82.1, t0 + 47 * H));
      await engine.drain();
      await engine.sweepMissing(['p-late']);
      expect((await rig.alerts('p-late')).map((a) => [a.ruleId, a.status, a.outcome])).toEqual([['weight-missing', 'resolved', 'auto-resolved']]);
    });
  });
});

describe('restart in the middle of a window (real gateway, same data directory)', () => {
  let t: TestGateway | undefined;
  const dataDir = tempDir('rpm-restart-');
  const clock = new ManualClock(NOW);
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('weight-gain-week uses the weights from before the restart and raises one alert', async () => {
    try {
      t = await startTestGateway({}, { clock, dataDir });
      await t.admin.createOrganization('org-r');
      await t.admin.createStaff({ email: 'rita@r.example', role: 'nurse', organizationId: 'org-r' });
      await t.admin.createPatient('p-r', { organizationId: 'org-r' });
      const scale = await t.admin.createDevice({ id: 'scale-r', kind: 'scale', patientId: 'p-r', assignedFrom: new Date(NOW - 30 * D).toISOString() });
      let nurse = await t.admin.login('rita@r.example');
      expect((await request(`${t.baseUrl}/v1/patients/p-r/care-plan`, { token: nurse, method: 'PUT', json: HEART_FAILURE })).status).toBe(200);

      let n = 0;
      const weigh = async (gw: TestGateway, kg: number, atMs: number): Promise<void> => {
        const res = await request(`${gw.baseUrl}/v1/readings`, {
          token: scale,
          json: { readings: [{ id: `w-${++n}`, kind: 'body-weight', value: kg, unit: 'kg', measuredAt: new Date(atMs).toISOString() }] },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        await gw.gw.ctx.alerting!.drain();
      };
      const alerts = async (gw: TestGateway): Promise<{ rule: string; severity: string; status: string; measuredAt: string; value: number }[]> => {
        const res = await request(`${gw.baseUrl}/v1/patients/p-r/alerts?includeResolved=true`, { token: nurse });
        expect(res.status).toBe(200);
        return res.body.alerts;
      };

      // The first half of the week: +0.35 kg a day (never > 2 lb in a day).
      for (let d = 8; d >= 4; d--) await weigh(t, 80 + (8 - d) * 0.35, NOW - d * D);
      expect(await alerts(t)).toEqual([]);
      await t.close();

      // A new process on the same files: empty history cache, state and cursor from SQLite.
      t = await startTestGateway({}, { clock, dataDir });
      nurse = await t.admin.login('rita@r.example');
      await t.gw.ctx.alerting!.drain();
      expect(await alerts(t)).toEqual([]);
      for (let d = 3; d >= 1; d--) await weigh(t, 80 + (8 - d) * 0.35, NOW - d * D);
      // d = 1: 82.45 kg vs 80.0 kg at -8 d (7 days earlier): +2.45 kg ≥ 5 lb.
      const after = await alerts(t);
      expect(after.map((a) => [a.rule, a.severity, a.status, a.measuredAt, a.value])).toEqual([['weight-gain-week', 'high', 'open', new Date(NOW - D).toISOString(), 2.45]]);

      // Still gaining the next morning: the same alert, not a second one; and another restart
      // evaluates nothing again.
      await weigh(t, 82.8, NOW - 60_000);
      await t.close();
      t = await startTestGateway({}, { clock, dataDir });
      nurse = await t.admin.login('rita@r.example');
      await t.gw.ctx.alerting!.drain();
      expect((await alerts(t)).map((a) => [a.rule, a.status, a.measuredAt])).toEqual([['weight-gain-week', 'open', new Date(NOW - D).toISOString()]]);
    } finally {
      await t?.close();
      t = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
