import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStores, type SqliteStores } from '../connectors/sqlite/index.js';
import { createLogger } from '../core/logging.js';
import type { Reading } from '../core/model/reading.js';
import { ManualClock } from '../test/helpers/clock.js';
import { tempDir } from '../test/helpers/gateway.js';
import { makeReading } from '../test/helpers/readings.js';
import { AlertingService } from './alerting-service.js';
import { CarePlans } from './care-plans.js';
import { heldFromRules } from './held-readings.js';

const H = 3_600_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;

const weight = (kg: number, atMs: number, ambiguous = false): Reading =>
  makeReading({
    deviceId: 'scale-h',
    patientId: 'p-h',
    kind: 'body-weight',
    code: '29463-7',
    measuredAtMs: atMs,
    measuredAt: new Date(atMs).toISOString(),
    receivedAtMs: atMs,
    components: [{ name: 'value', code: '29463-7', value: kg, unit: 'kg' }],
    reported: { unit: 'kg', values: { value: kg } },
    ...(ambiguous ? { entryMethod: 'ambiguous-user' as const, flags: ['user-unconfirmed' as const] } : {}),
  });

describe('readings whose user the device could not tell are held from the rules until a nurse decides', () => {
  let stores: SqliteStores | undefined;
  let dir = '';
  let engine: AlertingService | undefined;
  afterEach(async () => {
    await engine?.stop();
    await stores?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const setup = async (): Promise<{ stores: SqliteStores; engine: AlertingService }> => {
    dir = tempDir('rpm-held-');
    stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'NORMAL' });
    await stores.registry.createPatient({ id: 'p-h', organizationId: 'org-1', createdAtMs: NOW - 30 * 24 * H });
    await stores.alerts.saveCarePlan('p-h', { programs: ['general', 'heart-failure'] }, null, 'test', NOW - 10 * 24 * H);
    engine = new AlertingService({
      readings: stores.readings,
      progress: stores.progress,
      alerts: stores.alerts,
      registry: stores.registry,
      carePlans: new CarePlans(stores.alerts),
      clock: new ManualClock(NOW),
      log: createLogger('silent'),
      newId: randomUUID,
    });
    return { stores, engine };
  };
  const rules = async (s: SqliteStores): Promise<string[]> => (await s.alerts.alertsOfPatient('p-h', { includeResolved: true, limit: 100 })).map((a) => a.ruleId);

  it('names the flags that hold a reading', () => {
    expect(heldFromRules({ flags: ['user-unconfirmed'] })).toBe(true);
    expect(heldFromRules({ flags: ['device-kind-mismatch', 'user-rejected'] })).toBe(true);
    expect(heldFromRules({ flags: ['time-estimated', 'unassigned'] })).toBe(false);
  });

  it('raises nothing for an unconfirmed reading, and judges it as late data once confirmed', async () => {
    const { stores: s, engine: e } = await setup();
    await s.readings.commit({ readings: [weight(80, NOW - 20 * H)], rejections: [] });
    const spouse = weight(84, NOW - 2 * H, true);
    await s.readings.commit({ readings: [spouse], rejections: [] });
    await e.drain();
    expect(await rules(s)).toEqual([]);
    const decided = await s.readings.decideUser('p-h', [spouse.id], 'confirmed');
    await e.evaluateConfirmed('p-h', decided.map((d) => d.reading));
    // 4 kg: both the daily and the weekly gain.
    expect((await rules(s)).sort()).toEqual(['weight-gain-day', 'weight-gain-week']);
  });

  it('keeps a held reading out of the history: a low unconfirmed weight is no baseline for a gain', async () => {
    const { stores: s, engine: e } = await setup();
    // Someone lighter stepped on the scale (unconfirmed); the patient's own weights are steady.
    await s.readings.commit({ readings: [weight(55, NOW - 20 * H, true)], rejections: [] });
    await e.drain();
    await s.readings.commit({ readings: [weight(80, NOW - 10 * H), weight(80.2, NOW - H)], rejections: [] });
    await e.drain();
    expect(await rules(s)).toEqual([]);
    // Rejected by a nurse: still never judged, even when "confirmed" is attempted afterwards.
    const held = (await s.readings.queryReadings({ patientId: 'p-h', limit: 10 })).find((r) => r.flags.includes('user-unconfirmed'));
    expect(held).toBeDefined();
    const rejected = await s.readings.decideUser('p-h', [held?.id ?? ''], 'rejected');
    await e.evaluateConfirmed('p-h', rejected.map((d) => d.reading));
    expect(await s.readings.decideUser('p-h', [held?.id ?? ''], 'confirmed')).toEqual([]);
    expect(await rules(s)).toEqual([]);
  });
});
