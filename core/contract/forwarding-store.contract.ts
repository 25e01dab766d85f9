import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reading } from '../model/reading.js';
import type { ForwardingStore, NewDestination } from '../ports/forwarding-store.js';
import type { ReadingStore } from '../ports/reading-store.js';

export interface ForwardingFixture {
  readonly readings: ReadingStore;
  readonly forwarding: ForwardingStore;
  readonly addOrganization: (id: string) => Promise<void>;
  readonly dispose: () => Promise<void>;
}

/**
 * The ForwardingStore contract, run by every adapter against its real backend, together with
 * the ReadingStore whose commits fill the outbox (they must share a transaction).
 */
export function forwardingStoreContract(name: string, make: () => Promise<ForwardingFixture>, makeReading: (overrides?: Partial<Reading>) => Reading): void {
  describe(`ForwardingStore contract: ${name}`, () => {
    let f: ForwardingFixture;
    beforeEach(async () => {
      f = await make();
      await f.addOrganization('org-1');
    });
    afterEach(async () => f.dispose());

    const dest = (id: string, overrides: Partial<NewDestination> = {}): NewDestination => ({
      id,
      organizationId: 'org-1',
      baseUrl: 'https://ehr.test/fhir',
      auth: { type: 'bearer', token: 'secret-token' },
      patientMapping: { type: 'identifier', system: 'https://ehr.test/mrn' },
      kinds: ['blood-pressure', 'heart-rate'],
      enabled: true,
      batchSize: null,
      createdAtMs: 1000,
      ...overrides,
    });

    it('keeps destinations with their configuration, unique ids, in existing organizations', async () => {
      const created = await f.forwarding.createDestination(dest('d-1'));
      expect(created).toEqual({ ...dest('d-1'), updatedAtMs: 1000 });
      await expect(f.forwarding.createDestination(dest('d-1'))).rejects.toMatchObject({ code: 'RPM_ERR_FHIR_DESTINATION_EXISTS' });
      await expect(f.forwarding.createDestination(dest('d-2', { organizationId: 'nowhere' }))).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_NOT_FOUND' });
      await f.addOrganization('org-2');
      await f.forwarding.createDestination(dest('d-3', { organizationId: 'org-2' }));
      expect((await f.forwarding.listDestinations({ organizationId: 'org-2' })).map((d) => d.id)).toEqual(['d-3']);
      expect((await f.forwarding.listDestinations()).map((d) => d.id)).toEqual(['d-1', 'd-3']);
      const updated = await f.forwarding.updateDestination('d-1', { enabled: false, kinds: ['spo2'], batchSize: 10, auth: { type: 'none' } }, 2000);
      expect(updated).toMatchObject({ enabled: false, kinds: ['spo2'], batchSize: 10, auth: { type: 'none' }, updatedAtMs: 2000, createdAtMs: 1000 });
      expect(await f.forwarding.updateDestination('ghost', { enabled: true }, 3000)).toBeUndefined();
    });

    it('writes deliveries with the commit, for newly accepted readings only, and answers them with the reading as committed', async () => {
      await f.forwarding.createDestination(dest('d-1'));
      await f.forwarding.createDestination(dest('d-2'));
      const a = makeReading({ receivedAtMs: 5000 });
      const b = makeReading({ receivedAtMs: 5000 });
      await f.readings.commit({
        readings: [a, b],
        rejections: [],
        forwards: [
          { reading: 0, destinationId: 'd-1' },
          { reading: 0, destinationId: 'd-2' },
          { reading: 1, destinationId: 'd-1' },
        ],
      });
      // A resend of `a` is a duplicate: no second delivery.
      const again = { ...makeReading(), id: a.id, idempotencyKey: a.idempotencyKey, deviceId: a.deviceId };
      const out = await f.readings.commit({ readings: [again], rejections: [], forwards: [{ reading: 0, destinationId: 'd-1' }] });
      expect(out[0]?.status).toBe('duplicate');
      const due = await f.forwarding.dueDeliveries('d-1', 5000, 10);
      expect(due.map((d) => d.reading)).toEqual([a, b]);
      expect(due.every((d) => d.attempts === 0 && d.destinationId === 'd-1')).toBe(true);
      expect((await f.forwarding.dueDeliveries('d-2', 5000, 10)).map((d) => d.reading.id)).toEqual([a.id]);
      expect(await f.forwarding.dueDeliveries('d-1', 4999, 10)).toEqual([]);
      expect(await f.forwarding.countDeliveries('d-1')).toEqual({ pending: 2, failed: 0, delivered: 0, dead: 0 });
    });

    it('writes no delivery when the commit fails', async () => {
      await f.forwarding.createDestination(dest('d-1'));
      const good = makeReading();
      const broken = { ...makeReading(), components: undefined } as unknown as Reading;
      await expect(
        f.readings.commit({ readings: [good, broken], rejections: [], forwards: [{ reading: 0, destinationId: 'd-1' }, { reading: 1, destinationId: 'd-1' }] }),
      ).rejects.toBeDefined();
      expect(await f.forwarding.dueDeliveries('d-1', Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    });

    it('records attempts: delivered, failed (due again later), dead (with the outcome); operators requeue failed and dead ones', async () => {
      await f.forwarding.createDestination(dest('d-1'));
      const rs = [makeReading({ receivedAtMs: 100 }), makeReading({ receivedAtMs: 100 }), makeReading({ receivedAtMs: 100 })];
      await f.readings.commit({ readings: rs, rejections: [], forwards: rs.map((_, i) => ({ reading: i, destinationId: 'd-1' })) });
      const [d1, d2, d3] = await f.forwarding.dueDeliveries('d-1', 100, 10);
      if (d1 === undefined || d2 === undefined || d3 === undefined) throw new Error('expected three deliveries');
      const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] };
      await f.forwarding.recordAttempts([
        { seq: d1.seq, status: 'delivered', atMs: 200, refs: ['Observation/1', 'Observation/2'] },
        { seq: d2.seq, status: 'failed', atMs: 200, nextAttemptAtMs: 900, code: 'RPM_ERR_UPSTREAM_FHIR', message: 'FHIR server answered 503' },
        { seq: d3.seq, status: 'dead', atMs: 200, code: 'RPM_ERR_UPSTREAM_FHIR_REJECTED', message: 'FHIR server answered 422', outcome },
      ]);
      expect(await f.forwarding.dueDeliveries('d-1', 899, 10)).toEqual([]);
      expect(await f.forwarding.nextDueAt('d-1')).toBe(900);
      expect((await f.forwarding.dueDeliveries('d-1', 900, 10)).map((d) => [d.seq, d.attempts])).toEqual([[d2.seq, 1]]);
      expect(await f.forwarding.countDeliveries('d-1')).toEqual({ pending: 0, failed: 1, delivered: 1, dead: 1 });
      const listed = await f.forwarding.listDeliveries({ limit: 10 });
      expect(listed.map((r) => [r.status, r.attempts, r.errorCode])).toEqual([
        ['delivered', 1, null],
        ['failed', 1, 'RPM_ERR_UPSTREAM_FHIR'],
        ['dead', 1, 'RPM_ERR_UPSTREAM_FHIR_REJECTED'],
      ]);
      expect(listed[0]).toMatchObject({ readingId: rs[0]?.id, deviceId: rs[0]?.deviceId, kind: rs[0]?.kind, refs: ['Observation/1', 'Observation/2'], deliveredAtMs: 200, nextAttemptAtMs: null });
      expect(listed[2]).toMatchObject({ outcome, refs: [] });
      expect((await f.forwarding.listDeliveries({ limit: 10, statuses: ['dead', 'failed'] })).map((r) => r.seq)).toEqual([d2.seq, d3.seq]);
      expect((await f.forwarding.listDeliveries({ limit: 1, afterSeq: d1.seq })).map((r) => r.seq)).toEqual([d2.seq]);
      // Requeue the dead one only, by position: due now, attempt count kept.
      expect(await f.forwarding.retryDeliveries({ statuses: ['dead'], seqs: [d3.seq, d1.seq] }, 300)).toBe(1);
      expect((await f.forwarding.dueDeliveries('d-1', 300, 10)).map((d) => [d.seq, d.attempts])).toEqual([[d3.seq, 1]]);
      expect(await f.forwarding.retryDeliveries({ destinationId: 'd-1', statuses: ['failed'] }, 300)).toBe(1);
      expect(await f.forwarding.countDeliveries('d-1')).toEqual({ pending: 2, failed: 0, delivered: 1, dead: 0 });
      expect(await f.forwarding.nextDueAt('d-1')).toBe(300);
    });
  });
}
