import { describe, expect, it } from 'vitest';
import { expectationAt } from './io/sender-agent.js';
import { Ledger } from './ledger.js';
import { compareAckedWithStored, formatChecks, lossChecks, type StoredRow } from './loss-check.js';
import type { SimReading } from './readings.js';

const reading = (deviceId: string, sequence: number, extra: Partial<SimReading> = {}): SimReading => ({
  key: `${deviceId}~b1~${sequence}`,
  deviceId,
  sequence,
  measuredAtMs: 1_000_000 + sequence,
  reportedAtMs: 1_000_000 + sequence,
  body: {},
  malformed: false,
  ...extra,
});

const row = (r: SimReading, over: Partial<StoredRow> = {}): StoredRow => ({ clientId: r.key, deviceId: r.deviceId, sequence: r.sequence, ...over });

/** Ten readings of one device: sent, 0–7 acknowledged, 8–9 never acknowledged. */
function scenario(): { ledger: Ledger; readings: SimReading[] } {
  const ledger = new Ledger();
  const readings = Array.from({ length: 10 }, (_, i) => reading('dev-1', i));
  for (const r of readings) ledger.sent(r, 'dev-1', 'mqtt', 5, 'stored');
  for (const r of readings.slice(0, 8)) ledger.acked(r.key, 10, 'acked');
  return { ledger, readings };
}

describe('ledger', () => {
  it('counts readings, transmissions, acknowledgements, rejections and failed transmissions', () => {
    const { ledger, readings } = scenario();
    ledger.sent(readings[9] as SimReading, 'dev-1', 'mqtt', 20, 'stored'); // a resend
    ledger.failed(readings[9]?.key ?? '');
    expect(ledger.acked(readings[0]?.key ?? '', 30, 'duplicate')).toBe(false); // not the first acknowledgement
    expect(ledger.acked(readings[8]?.key ?? '', 30, 'accepted')).toBe(true);
    ledger.rejected(readings[7]?.key ?? '', 'RPM_ERR_READING_IMPLAUSIBLE', 40);
    expect(ledger.counts()).toMatchObject({ readings: 10, transmissions: 11, acked: 8, rejected: 1, unacked: 1, failedTransmissions: 1, duplicateAnswers: 1 });
    expect(ledger.get(readings[0]?.key ?? '')?.ackedMs).toBe(10);
    expect([...ledger.jsonl()]).toHaveLength(10);
  });

  it('counts a reading rejected again on a resend once', () => {
    const { ledger, readings } = scenario();
    const key = readings[9]?.key ?? '';
    expect(ledger.rejected(key, 'RPM_ERR_READING_INVALID', 20)).toBe(true);
    expect(ledger.rejected(key, 'RPM_ERR_READING_INVALID', 30)).toBe(false);
    expect(ledger.counts()).toMatchObject({ rejected: 1, acked: 8, unacked: 1 });
    expect(ledger.get(key)?.ackedMs).toBe(20);
  });

  it('stamps each first acknowledgement with the phase it fell in (the loss checker’s kill cycle)', () => {
    const ledger = new Ledger();
    const a = reading('d', 0);
    const b = reading('d', 1);
    ledger.sent(a, 'd', 'http', 0, 'stored');
    ledger.sent(b, 'd', 'http', 0, 'stored');
    ledger.phase = 3;
    ledger.acked(a.key, 1, 'accepted');
    ledger.phase = 4;
    ledger.acked(b.key, 2, 'accepted');
    ledger.acked(a.key, 3, 'duplicate');
    expect([ledger.get(a.key)?.ackPhase, ledger.get(b.key)?.ackPhase]).toEqual([3, 4]);
  });
});

describe('acknowledged vs stored', () => {
  it('passes when every acknowledged reading is stored once; unacknowledged ones may or may not be', () => {
    const { ledger, readings } = scenario();
    const stored = readings.slice(0, 9).map((r) => row(r)); // #8 stored although its ack was lost: allowed
    const report = compareAckedWithStored(ledger.entries(), stored, 'b1');
    expect(report).toMatchObject({ ok: true, mustStore: 8, stored: 9, storedUnacked: 1, missing: [], duplicated: [] });
  });

  it('finds a lost reading, a reading stored twice, one stored under another device, and one never sent', () => {
    const { ledger, readings } = scenario();
    const r = (i: number): SimReading => readings[i] as SimReading;
    const stored = [
      ...readings.slice(0, 3).map((x) => row(x)),
      row(r(3)),
      row(r(3)), // twice
      row(r(4), { deviceId: 'dev-2' }), // attributed to another device
      ...readings.slice(6, 8).map((x) => row(x)), // #5 missing
      row(reading('dev-1', 99)), // never sent by this run
    ];
    const report = compareAckedWithStored(ledger.entries(), stored, 'b1');
    expect(report.ok).toBe(false);
    expect(report.missing).toEqual([r(5).key]);
    expect(report.duplicated).toEqual([r(3).key]);
    expect(report.mismatched).toEqual([r(4).key]);
    expect(report.unknown).toEqual(['dev-1~b1~99']);
  });

  it('ignores other runs’ readings and rows without client ids', () => {
    const { ledger, readings } = scenario();
    const stored = [...readings.slice(0, 8).map((r) => row(r)), { clientId: 'dev-1~older~3', deviceId: 'dev-1', sequence: 3 }, { clientId: null, deviceId: 'dev-1', sequence: null }];
    expect(compareAckedWithStored(ledger.entries(), stored, 'b1').ok).toBe(true);
  });

  it('expects injected invalid readings to be refused, and flags them if stored', () => {
    const ledger = new Ledger();
    const bad = reading('d', 0, { malformed: true });
    const future = reading('d', 1, { reportedAtMs: 1_000_000 + 20 * 60_000 });
    const good = reading('d', 2);
    for (const r of [bad, future, good]) ledger.sent(r, 'd', 'mqtt', 1_000_000, expectationAt(r, 1_000_000));
    for (const r of [bad, future, good]) ledger.acked(r.key, 1_000_010, 'acked');
    expect([ledger.get(bad.key)?.expect, ledger.get(future.key)?.expect, ledger.get(good.key)?.expect]).toEqual(['rejected', 'rejected', 'stored']);
    // Refused as expected: passes with only the valid one stored.
    expect(compareAckedWithStored(ledger.entries(), [row(good)], 'b1')).toMatchObject({ ok: true, mustStore: 1 });
    // Stored although invalid: fails.
    const report = compareAckedWithStored(ledger.entries(), [row(good), row(bad)], 'b1');
    expect(report.ok).toBe(false);
    expect(report.invalidStored).toEqual([bad.key]);
  });

  it('a clock near the gateway’s tolerance may go either way', () => {
    expect(expectationAt(reading('d', 0, { reportedAtMs: 1_000_000 + 290_000 }), 1_000_000)).toBe('either');
    expect(expectationAt(reading('d', 0, { reportedAtMs: 1_000_000 + 120_000 }), 1_000_000)).toBe('stored');
  });
});

describe('loss checks by phase and transport', () => {
  it('puts a loss and a double store in the phase and transport where they were acknowledged', () => {
    const ledger = new Ledger();
    const rs = Array.from({ length: 6 }, (_, i) => reading(i < 3 ? 'http-1' : 'mqtt-1', i));
    rs.forEach((r, i) => ledger.sent(r, r.deviceId, i < 3 ? 'http' : 'mqtt', 0, 'stored'));
    rs.forEach((r, i) => {
      ledger.phase = i % 2; // 0, 2, 4 in phase 0; 1, 3, 5 in phase 1
      ledger.acked(r.key, 10 + i, i < 3 ? 'accepted' : 'acked');
    });
    const r = (i: number): SimReading => rs[i] as SimReading;
    // #1 (HTTP, phase 1) lost; #4 (MQTT, phase 0) stored twice.
    const stored = [row(r(0)), row(r(2)), row(r(3)), row(r(4)), row(r(4)), row(r(5))];
    const checks = lossChecks(ledger.entries(), compareAckedWithStored(ledger.entries(), stored, 'b1'), (p) => `life ${p + 1}`);
    const byName = new Map(checks.map((c) => [c.name, c]));
    expect(byName.get('life 1')).toMatchObject({ ok: false, detail: '3 acknowledged, 0 lost, 1 stored twice' });
    expect(byName.get('life 2')).toMatchObject({ ok: false, detail: '3 acknowledged, 1 lost, 0 stored twice' });
    expect(byName.get('HTTP devices and hubs')).toMatchObject({ ok: false, detail: '3 acknowledged, 1 lost, 0 stored twice' });
    expect(byName.get('MQTT devices and hubs')).toMatchObject({ ok: false, detail: '3 acknowledged, 0 lost, 1 stored twice' });
    expect(byName.get('invalid readings not stored')?.ok).toBe(true);
    const text = formatChecks(checks);
    expect(text.split('\n').at(-1)).toBe(`${checks.filter((c) => c.ok).length} passed, ${checks.filter((c) => !c.ok).length} failed`);
    expect(text).toContain('FAIL  life 2: 3 acknowledged, 1 lost, 0 stored twice');
  });

  it('passes every check when all acknowledged readings are stored once', () => {
    const { ledger, readings } = scenario();
    const checks = lossChecks(ledger.entries(), compareAckedWithStored(ledger.entries(), readings.map((r) => row(r)), 'b1'));
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toContain('phase 0');
    expect(formatChecks(checks).endsWith(`${checks.length} passed, 0 failed`)).toBe(true);
  });
});
