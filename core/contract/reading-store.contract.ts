import { partitionOf } from '../cluster/partitions.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reading } from '../model/reading.js';
import type { ReadingStore } from '../ports/reading-store.js';

/**
 * The ReadingStore contract. Every adapter (SQLite today; PostgreSQL, InfluxDB later) runs
 * this same suite against its real backend. `make` returns a fresh, empty store;
 * `makeReading` builds a valid reading with overrides.
 */
export function readingStoreContract(
  name: string,
  make: () => Promise<{ store: ReadingStore; dispose: () => Promise<void> }>,
  makeReading: (overrides?: Partial<Reading>) => Reading,
): void {
  describe(`ReadingStore contract: ${name}`, () => {
    let store: ReadingStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ store, dispose } = await make());
    });
    afterEach(async () => dispose());

    it('stores a batch and answers one outcome per reading, in order', async () => {
      const rs = [makeReading(), makeReading(), makeReading()];
      const out = await store.commit({ readings: rs, rejections: [] });
      expect(out.map((o) => ({ status: o.status, id: o.id }))).toEqual(rs.map((r) => ({ status: 'accepted', id: r.id })));
      expect(await store.countReadings()).toBe(3);
      // A store that reports log positions at commit reports the ones readingsSince answers.
      const log = await store.readingsSince(0, 100);
      for (const [i, o] of out.entries()) {
        if (o.status === 'accepted' && o.seq !== undefined) expect(o.seq).toBe(log.find((l) => l.reading.id === rs[i]?.id)?.seq);
      }
      const again = await store.commit({ readings: [rs[0] as Reading, makeReading()], rejections: [] });
      expect(again[0]).toMatchObject({ status: 'duplicate', id: rs[0]?.id });
      // A store that says where the stored reading is says the original's position, and it reads back.
      const firstSeq = out[0]?.status === 'accepted' ? out[0].seq : undefined;
      if (again[0]?.status === 'duplicate' && again[0].seq !== undefined) {
        expect(again[0].seq).toBe(firstSeq);
        expect(await store.readingAt(again[0].seq)).toEqual(rs[0]);
      }
      if (again[1]?.status === 'accepted' && again[1].seq !== undefined && out[2]?.status === 'accepted' && out[2].seq !== undefined) {
        expect(again[1].seq).toBeGreaterThan(out[2].seq);
      }
    });

    it('round-trips every field of a reading unchanged', async () => {
      const r = makeReading({
        hubId: 'hub-9',
        kind: 'blood-pressure',
        code: '85354-9',
        components: [
          { name: 'systolic', code: '8480-6', value: 151.5, unit: 'mm[Hg]' },
          { name: 'diastolic', code: '8462-4', value: 95, unit: 'mm[Hg]' },
        ],
        reported: { unit: 'kPa', values: { systolic: 20.2, diastolic: 12.67 } },
        measuredAt: '2026-11-30T07:00:00.123-05:00',
        utcOffsetMinutes: -300,
        entryMethod: 'ambiguous-user',
        setting: 'clinic',
        flags: ['device-kind-mismatch'],
      });
      await store.commit({ readings: [r], rejections: [] });
      expect(await store.getReading(r.deviceId, r.idempotencyKey)).toEqual(r);
    });

    it('answers duplicate for a key already stored, earlier or in the same batch, and writes it once', async () => {
      const r = makeReading();
      await store.commit({ readings: [r], rejections: [] });
      const again = { ...makeReading(), id: r.id, idempotencyKey: r.idempotencyKey };
      const out = await store.commit({ readings: [again, makeReading(), again], rejections: [] });
      expect(out.map((o) => o.status)).toEqual(['duplicate', 'accepted', 'duplicate']);
      expect(out[0]?.id).toBe(r.id);
      expect(await store.countReadings()).toBe(2);
      expect(await store.getReading(r.deviceId, r.idempotencyKey)).toEqual(r);
    });

    it('queries by patient, kind and time window, ordered by measurement time, with keyset paging', async () => {
      const t0 = Date.parse('2026-11-01T00:00:00Z');
      const rs = [3, 1, 4, 0, 2].map((i) => makeReading({ patientId: 'p-q', measuredAtMs: t0 + i * 60_000 }));
      const other = makeReading({ patientId: 'p-other', measuredAtMs: t0 });
      const weight = makeReading({ patientId: 'p-q', kind: 'body-weight', code: '29463-7', measuredAtMs: t0 + 30_000 });
      await store.commit({ readings: [...rs, other, weight], rejections: [] });
      const all = await store.queryReadings({ patientId: 'p-q', kinds: ['heart-rate'], limit: 100 });
      expect(all.map((r) => r.measuredAtMs)).toEqual([0, 1, 2, 3, 4].map((i) => t0 + i * 60_000));
      const windowed = await store.queryReadings({ patientId: 'p-q', fromMs: t0 + 60_000, toMs: t0 + 180_000, limit: 100 });
      expect(windowed.map((r) => r.measuredAtMs)).toEqual([t0 + 60_000, t0 + 120_000]);
      const page1 = await store.queryReadings({ patientId: 'p-q', limit: 2 });
      const last = page1[1];
      expect(last).toBeDefined();
      const page2 = await store.queryReadings({ patientId: 'p-q', limit: 10, after: { measuredAtMs: last!.measuredAtMs, id: last!.id } });
      expect([...page1, ...page2].map((r) => r.id)).toEqual((await store.queryReadings({ patientId: 'p-q', limit: 100 })).map((r) => r.id));
      expect(page2).toHaveLength(4);
    });

    it('answers the newest readings of a window first when asked, so a limit keeps the newest', async () => {
      const t0 = Date.parse('2026-11-01T00:00:00Z');
      const rs = [3, 1, 4, 0, 2].map((i) => makeReading({ patientId: 'p-n', measuredAtMs: t0 + i * 60_000 }));
      await store.commit({ readings: rs, rejections: [] });
      const newest = await store.queryReadings({ patientId: 'p-n', fromMs: t0 + 60_000, limit: 2, newestFirst: true });
      expect(newest.map((r) => r.measuredAtMs)).toEqual([t0 + 240_000, t0 + 180_000]);
      const log = await store.readingsSince(0, 100);
      const upTo = log.find((l) => l.reading.measuredAtMs === t0 + 60_000)?.seq;
      // Only what the log held up to a position (committed in the order 3, 1, 4, 0, 2 minutes).
      const bounded = await store.queryReadings({ patientId: 'p-n', limit: 10, newestFirst: true, maxSeq: upTo ?? -1 });
      expect(bounded.map((r) => r.measuredAtMs)).toEqual([t0 + 180_000, t0 + 60_000]);
    });

    it('attributes unassigned readings of a device within a window, and clears the unassigned flag', async () => {
      const t0 = Date.parse('2026-11-01T00:00:00Z');
      const before = makeReading({ deviceId: 'dev-u', patientId: null, flags: ['unassigned'], measuredAtMs: t0 - 1 });
      const inside = makeReading({ deviceId: 'dev-u', patientId: null, flags: ['unassigned', 'device-kind-mismatch'], measuredAtMs: t0 + 1 });
      const otherDevice = makeReading({ deviceId: 'dev-v', patientId: null, flags: ['unassigned'], measuredAtMs: t0 + 1 });
      await store.commit({ readings: [before, inside, otherDevice], rejections: [] });
      expect(await store.attributeUnassigned('dev-u', 'p-new', t0, null)).toBe(1);
      expect(await store.getReading(inside.deviceId, inside.idempotencyKey)).toMatchObject({ patientId: 'p-new', flags: ['attributed', 'device-kind-mismatch'] });
      expect(await store.getReading(before.deviceId, before.idempotencyKey)).toMatchObject({ patientId: null, flags: ['unassigned'] });
      expect(await store.getReading(otherDevice.deviceId, otherDevice.idempotencyKey)).toMatchObject({ patientId: null });
      // The attribution log says so, durably; an attribution that found nothing adds nothing.
      const log = await store.attributionsSince(0, 10);
      expect(log).toEqual([{ seq: expect.any(Number), deviceId: 'dev-u', patientId: 'p-new', fromMs: t0, toMs: null, atMs: expect.any(Number), readingIds: null }]);
      expect(await store.attributeUnassigned('dev-u', 'p-new', t0, null)).toBe(0);
      expect(await store.attributeUnassigned('dev-v', 'p-other', t0, t0 + 10)).toBe(1);
      const more = await store.attributionsSince(log[0]!.seq, 10);
      expect(more).toEqual([{ seq: expect.any(Number), deviceId: 'dev-v', patientId: 'p-other', fromMs: t0, toMs: t0 + 10, atMs: expect.any(Number), readingIds: null }]);
      expect(more[0]!.seq).toBeGreaterThan(log[0]!.seq);
    });

    it('round-trips the vendor source of a reading (vendor, payload hash, record id, details)', async () => {
      const r = makeReading({
        idempotencyKey: `k:heart-rate:${Date.parse('2026-11-30T08:00:00Z')}:mi3`,
        source: { vendor: 'tenovi', payloadSha256: 'a'.repeat(64), recordId: 'grp-1', details: { measurementIndex: 3, trend: 'Flat', estimated: false } },
        flags: ['time-estimated'],
      });
      const plain = makeReading();
      await store.commit({ readings: [r, plain], rejections: [] });
      expect(await store.getReading(r.deviceId, r.idempotencyKey)).toEqual(r);
      // Our own JSON has no source: the field stays absent.
      expect((await store.getReading(plain.deviceId, plain.idempotencyKey))?.source ?? null).toBeNull();
    });

    it("records a nurse's decision on readings whose user is unconfirmed, for that patient only, once", async () => {
      const a = makeReading({ patientId: 'p-u', entryMethod: 'ambiguous-user', flags: ['user-unconfirmed'] });
      const b = makeReading({ patientId: 'p-u', entryMethod: 'ambiguous-user', flags: ['device-kind-mismatch', 'user-unconfirmed', 'time-estimated'] });
      const other = makeReading({ patientId: 'p-other', entryMethod: 'ambiguous-user', flags: ['user-unconfirmed'] });
      const plain = makeReading({ patientId: 'p-u' });
      await store.commit({ readings: [a, b, other, plain], rejections: [] });
      const confirmed = await store.decideUser('p-u', [a.id, other.id, plain.id], 'confirmed');
      expect(confirmed.map((s) => s.reading.id)).toEqual([a.id]);
      // Confirmed readings are judged from the attribution log, which names them.
      expect(confirmed[0]?.reading.flags).toEqual(['attributed']);
      expect(confirmed[0]?.seq).toBeGreaterThan(0);
      const entries = await store.attributionsSince(0, 10);
      expect(entries.at(-1)).toMatchObject({ patientId: 'p-u', readingIds: [a.id] });
      const rejected = await store.decideUser('p-u', [b.id, a.id], 'rejected');
      expect(rejected.map((s) => s.reading.flags)).toEqual([['device-kind-mismatch', 'user-rejected', 'time-estimated']]);
      expect(await store.getReading(other.deviceId, other.idempotencyKey)).toMatchObject({ flags: ['user-unconfirmed'] });
      // Decided once: a second decision changes nothing.
      expect(await store.decideUser('p-u', [b.id], 'confirmed')).toEqual([]);
    });

    it('records rejections with the batch and lists them newest first', async () => {
      await store.commit({
        readings: [makeReading()],
        rejections: [
          { deviceId: 'd-r', receivedAtMs: 1, transport: 'http', code: 'RPM_ERR_READING_IMPLAUSIBLE', path: '/readings/0/value', message: 'too high', clientId: 'x', payloadSha256: null },
          { deviceId: 'd-r', receivedAtMs: 2, transport: 'mqtt', code: 'RPM_ERR_REQUEST_MALFORMED_JSON', path: '', message: 'bad json', clientId: null, payloadSha256: 'ff' },
        ],
      });
      const listed = await store.listRejections('d-r', 10);
      expect(listed.map((r) => r.code)).toEqual(['RPM_ERR_REQUEST_MALFORMED_JSON', 'RPM_ERR_READING_IMPLAUSIBLE']);
      expect(await store.listRejections('d-r', 1)).toHaveLength(1);
    });

    it('counts the readings committed after a log position (a consumer backlog)', async () => {
      expect(await store.countReadingsSince(0)).toBe(0);
      await store.commit({ readings: [makeReading(), makeReading(), makeReading()], rejections: [] });
      const log = await store.readingsSince(0, 10);
      expect(await store.countReadingsSince(0)).toBe(3);
      expect(await store.countReadingsSince(log[0]!.seq)).toBe(2);
      expect(await store.countReadingsSince(log[2]!.seq)).toBe(0);
    });

    it('answers one rule partition’s share of a window of the log, and how far it looked', async () => {
      const patients = Array.from({ length: 12 }, (_, i) => `p-part-${i}`);
      const readings = [...patients.map((patientId) => makeReading({ patientId })), makeReading({ patientId: null })];
      await store.commit({ readings, rejections: [] });
      const log = await store.readingsSince(0, 100);
      const count = 3;
      const seen = new Set<string>();
      for (let index = 0; index < count; index++) {
        const slice = await store.partitionSince(0, 100, { index, count });
        expect(slice.throughSeq).toBe(log[log.length - 1]!.seq);
        for (const { seq, reading } of slice.readings) {
          expect(partitionOf(reading.patientId!, count)).toBe(index);
          expect(log.find((l) => l.seq === seq)?.reading.id).toBe(reading.id);
          seen.add(reading.id);
        }
        expect(slice.readings.map((r) => r.seq)).toEqual([...slice.readings.map((r) => r.seq)].sort((a, b) => a - b));
      }
      // Every reading with a patient is in exactly one partition; the unassigned one in none.
      expect(seen.size).toBe(patients.length);
      // A window shorter than the log: the partition's readings within it, and the window's end.
      const first4 = await store.partitionSince(0, 4, { index: 0, count: 1 });
      expect(first4.readings.map((r) => r.seq)).toEqual(log.slice(0, 4).map((l) => l.seq));
      expect(first4.throughSeq).toBe(log[3]!.seq);
      // Nothing after the end of the log: the cursor stays.
      const end = log[log.length - 1]!.seq;
      expect(await store.partitionSince(end, 10, { index: 0, count: 2 })).toEqual({ readings: [], throughSeq: end });
    });

    it('answers a probe write while it can commit', async () => {
      await expect(store.probeWrite()).resolves.toBeUndefined();
      await store.commit({ readings: [makeReading()], rejections: [] });
      await expect(store.probeWrite()).resolves.toBeUndefined();
      expect(await store.countReadings()).toBe(1);
    });

    it('commits nothing of a batch that fails part-way', async () => {
      const good = makeReading();
      const broken = { ...makeReading(), components: undefined } as unknown as Reading;
      await expect(store.commit({ readings: [good, broken], rejections: [] })).rejects.toBeDefined();
      expect(await store.getReading(good.deviceId, good.idempotencyKey)).toBeUndefined();
      expect(await store.countReadings()).toBe(0);
    });
  });
}
