import { describe, expect, it } from 'vitest';
import { readingInput } from '../core/model/reading-input.js';
import { buildFleet } from './fleet.js';
import { DAY_MS } from './local-time.js';
import { senders } from './model.js';
import { DeviceStream, parseKey } from './readings.js';
import { Rng } from './rng.js';

const ANCHOR = Date.parse('2026-03-10T15:00:00Z');

/** Every reading of every device over `days` before the anchor, as the runner would produce them. */
function history(seed: string, days: number, patients = 40): string[] {
  const fleet = buildFleet({ seed, patients, anchorMs: ANCHOR });
  const root = Rng.seeded(fleet.seed);
  return fleet.devices.flatMap((d) => {
    const p = fleet.patients.find((x) => x.id === d.patientId);
    if (p === undefined) throw new Error('no patient');
    return new DeviceStream(d, p, root.fork(`device:${d.id}`), 'boot1').scheduled(ANCHOR - days * DAY_MS, ANCHOR).map((r) => JSON.stringify(r.body));
  });
}

describe('fleet', () => {
  it('is the same for the same seed and anchor, to the digit, and different for another seed', () => {
    expect(buildFleet({ seed: 9, patients: 30, anchorMs: ANCHOR })).toEqual(buildFleet({ seed: 9, patients: 30, anchorMs: ANCHOR }));
    expect(history('det', 3)).toEqual(history('det', 3));
    expect(history('det', 3)).not.toEqual(history('other', 3));
  });

  it('marks everything as simulated by id prefix and pairs hub devices with their hub', () => {
    const fleet = buildFleet({ seed: 1, patients: 50, hubShare: 0.4, anchorMs: ANCHOR, idPrefix: 'sim-x' });
    expect(fleet.organizationId).toBe('sim-x-org');
    for (const id of [...fleet.patients.map((p) => p.id), ...fleet.devices.map((d) => d.id), ...fleet.hubs.map((h) => h.id)]) expect(id.startsWith('sim-x-')).toBe(true);
    expect(fleet.hubs.length).toBeGreaterThan(10);
    for (const h of fleet.hubs) {
      for (const id of h.deviceIds) {
        const d = fleet.devices.find((x) => x.id === id);
        expect(d?.hubId).toBe(h.id);
        expect(d?.transport).toBeNull();
        expect(d?.patientId).toBe(h.patientId);
      }
    }
    // One connection per cellular device, one per hub.
    expect(senders(fleet)).toHaveLength(fleet.devices.filter((d) => d.hubId === null).length + fleet.hubs.length);
  });

  it('gives conditions their devices, and follows a device mix exactly when one is given', () => {
    const fleet = buildFleet({ seed: 2, patients: 200, anchorMs: ANCHOR });
    for (const p of fleet.patients) {
      const kinds = fleet.devices.filter((d) => d.patientId === p.id).map((d) => d.kind);
      if (p.programs.includes('heart-failure')) expect(kinds).toContain('scale');
      if (p.programs.includes('diabetes')) expect(kinds.some((k) => k === 'glucometer' || k === 'cgm')).toBe(true);
    }
    const mixed = buildFleet({ seed: 3, devices: 100, mix: { 'bp-cuff': 3, scale: 1, cgm: 1 }, anchorMs: ANCHOR });
    const count = (k: string): number => mixed.devices.filter((d) => d.kind === k).length;
    expect([count('bp-cuff'), count('scale'), count('cgm'), mixed.devices.length]).toEqual([60, 20, 20, 100]);
    expect(buildFleet({ seed: 4, devices: 37, anchorMs: ANCHOR }).devices).toHaveLength(37);
  });

  it('showcase: every episode type happens to someone who has the device to show it', () => {
    const fleet = buildFleet({ seed: 'demo', patients: 36, anchorMs: ANCHOR, showcase: true });
    const types = new Set(fleet.patients.flatMap((p) => p.episodes.map((e) => e.type)));
    expect([...types].sort()).toEqual(['desaturation', 'fever', 'hf-fluid-gain', 'hypoglycemia', 'missed-readings', 'severe-hypertension']);
    const none = buildFleet({ seed: 'demo', patients: 36, anchorMs: ANCHOR, episodes: 'none' });
    expect(none.patients.every((p) => p.episodes.length === 0)).toBe(true);
  });
});

describe('device readings', () => {
  const fleet = buildFleet({ seed: 5, patients: 60, hubShare: 0.3, anchorMs: ANCHOR });
  const root = Rng.seeded(fleet.seed);
  const streamOf = (i: number, quirks = { clockOffsetMs: 0, malformedRate: 0 }): DeviceStream => {
    const d = fleet.devices[i];
    const p = fleet.patients.find((x) => x.id === d?.patientId);
    if (d === undefined || p === undefined) throw new Error('no device');
    return new DeviceStream(d, p, root.fork(`device:${d.id}`), 'b1', quirks);
  };

  it('are valid canonical reading JSON, with consecutive per-device sequence numbers and idempotent ids', () => {
    for (let i = 0; i < fleet.devices.length; i++) {
      const s = streamOf(i);
      const readings = s.scheduled(ANCHOR - 7 * DAY_MS, ANCHOR);
      expect(readings.length).toBeGreaterThan(0);
      readings.forEach((r, n) => {
        expect(r.sequence).toBe(n);
        expect(parseKey(r.key)).toEqual({ deviceId: s.device.id, boot: 'b1', sequence: n });
        const parsed = readingInput.safeParse(r.body);
        expect(parsed.success, JSON.stringify(r.body)).toBe(true);
        expect(r.body.id).toBe(r.key);
        expect(r.body.sequence).toBe(n);
        // A hub says which paired device measured; a cellular device is the measuring device itself.
        expect(r.body.deviceId).toBe(s.device.hubId === null ? undefined : s.device.id);
        expect(String(r.body.measuredAt)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$/);
      });
    }
  });

  it('report in the patient’s units and through the device clock', () => {
    const i = fleet.devices.findIndex((d) => d.kind === 'scale');
    const p = fleet.patients.find((x) => x.id === fleet.devices[i]?.patientId);
    const r = streamOf(i, { clockOffsetMs: 20 * 60_000, malformedRate: 0 }).at(ANCHOR);
    expect(r.body.unit).toBe(p?.profile.units.weight);
    expect(r.reportedAtMs - r.measuredAtMs).toBe(20 * 60_000);
    expect(Date.parse(String(r.body.measuredAt))).toBe(Math.floor(r.reportedAtMs / 1000) * 1000);
  });

  it('malformed readings (fault injection) fail the gateway’s schema and are flagged', () => {
    const s = streamOf(0, { clockOffsetMs: 0, malformedRate: 1 });
    for (let k = 0; k < 30; k++) {
      const r = s.at(ANCHOR + k * 1000);
      expect(r.malformed).toBe(true);
      expect(readingInput.safeParse(r.body).success).toBe(false);
      expect(r.body.id).toBe(r.key);
    }
  });
});
