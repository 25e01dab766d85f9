import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reading } from '../model/reading.js';
import type { ForwardingStore, NewDestination } from '../ports/forwarding-store.js';
import type { ReadingStore } from '../ports/reading-store.js';

export interface ForwardingFixture {
  readonly readings: ReadingStore;
  readonly forwarding: ForwardingStore;
  readonly addOrganization: (id: string) => Promise<void>;
  readonly addPatient: (id: string, organizationId: string) => Promise<void>;
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
      await f.addPatient('p-1', 'org-1');
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
      expect(created).toEqual({ ...dest('d-1'), appointments: false, encounters: false, practitioners: {}, updatedAtMs: 1000 });
      // A destination may also take visits as FHIR Appointments; off unless asked.
      expect(await f.forwarding.createDestination(dest('d-appt', { appointments: true }))).toMatchObject({ appointments: true });
      expect(await f.forwarding.updateDestination('d-appt', { appointments: false }, 1500)).toMatchObject({ appointments: false, updatedAtMs: 1500 });
      // Video visits as FHIR Encounters, and how the EHR knows our staff (staff id → its Practitioner).
      const enc = await f.forwarding.createDestination(dest('d-enc', { encounters: true, practitioners: { 'n-1': 'Practitioner/77' } }));
      expect(enc).toMatchObject({ encounters: true, practitioners: { 'n-1': 'Practitioner/77' } });
      expect(await f.forwarding.updateDestination('d-enc', { practitioners: { 'n-2': 'Practitioner/78' } }, 1600)).toMatchObject({ encounters: true, practitioners: { 'n-2': 'Practitioner/78' } });
      expect(await f.forwarding.getDestination('d-enc')).toMatchObject({ encounters: true, practitioners: { 'n-2': 'Practitioner/78' } });
      await expect(f.forwarding.createDestination(dest('d-1'))).rejects.toMatchObject({ code: 'RPM_ERR_FHIR_DESTINATION_EXISTS' });
      await expect(f.forwarding.createDestination(dest('d-2', { organizationId: 'nowhere' }))).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_NOT_FOUND' });
      await f.addOrganization('org-2');
      await f.forwarding.createDestination(dest('d-3', { organizationId: 'org-2' }));
      expect((await f.forwarding.listDestinations({ organizationId: 'org-2' })).map((d) => d.id)).toEqual(['d-3']);
      expect((await f.forwarding.listDestinations()).map((d) => d.id)).toEqual(['d-1', 'd-3', 'd-appt', 'd-enc']);
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

    it('backfills committed readings of the organization that have no delivery yet, once, by time and kind', async () => {
      await f.addOrganization('org-2');
      await f.addPatient('p-2', 'org-2');
      const t0 = Date.parse('2026-01-10T00:00:00Z');
      const early = makeReading({ kind: 'heart-rate', measuredAtMs: t0 - 3_600_000 });
      const inRange = [makeReading({ kind: 'heart-rate', measuredAtMs: t0 }), makeReading({ kind: 'heart-rate', measuredAtMs: t0 + 60_000 })];
      const otherKind = makeReading({ kind: 'spo2', measuredAtMs: t0 + 120_000 });
      const otherOrg = makeReading({ kind: 'heart-rate', patientId: 'p-2', measuredAtMs: t0 + 180_000 });
      const unassigned = makeReading({ kind: 'heart-rate', patientId: null, measuredAtMs: t0 + 240_000 });
      // Committed before the destination existed: no deliveries.
      await f.readings.commit({ readings: [early, ...inRange, otherKind, otherOrg, unassigned], rejections: [] });
      await f.forwarding.createDestination(dest('d-1'));
      // One of them already has its delivery (the commit of a resend, an earlier backfill).
      const delivered = makeReading({ kind: 'heart-rate', measuredAtMs: t0 + 300_000 });
      await f.readings.commit({ readings: [delivered], rejections: [], forwards: [{ reading: 0, destinationId: 'd-1' }] });
      const later = t0 + 86_400_000;
      expect(await f.forwarding.backfill('d-1', { fromMs: t0, kinds: ['heart-rate'] }, later)).toBe(2);
      const due = await f.forwarding.dueDeliveries('d-1', later, 10);
      expect(due.map((d) => d.reading.id).sort()).toEqual([...inRange.map((r) => r.id), delivered.id].sort());
      expect(await f.forwarding.backfill('d-1', { fromMs: t0, kinds: ['heart-rate'] }, later + 1)).toBe(0);
      // An earlier window and another kind, bounded above.
      expect(await f.forwarding.backfill('d-1', { fromMs: t0 - 7_200_000, toMs: t0, kinds: ['heart-rate', 'spo2'] }, later + 2)).toBe(1);
      expect(await f.forwarding.backfill('d-1', { fromMs: 0, kinds: ['spo2'] }, later + 3)).toBe(1);
      expect((await f.forwarding.countDeliveries('d-1')).pending).toBe(5);
      // Queued at the backfill: their age in the queue starts then.
      expect((await f.forwarding.queueStats('d-1', 100)).oldestWaitingSinceMs).toBe(delivered.receivedAtMs);
      await expect(f.forwarding.backfill('ghost', { fromMs: 0, kinds: ['spo2'] }, 1)).rejects.toMatchObject({ code: 'RPM_ERR_FHIR_DESTINATION_NOT_FOUND' });
    });

    it('gives readings attributed late their deliveries in the same transaction, for the kinds each destination takes', async () => {
      await f.forwarding.createDestination(dest('d-1', { kinds: ['heart-rate'] }));
      await f.forwarding.createDestination(dest('d-2', { kinds: ['spo2'] }));
      const t0 = Date.parse('2026-02-01T00:00:00Z');
      const hr = makeReading({ deviceId: 'loose-1', patientId: null, kind: 'heart-rate', measuredAtMs: t0, flags: ['unassigned'] });
      const spo2 = makeReading({ deviceId: 'loose-1', patientId: null, kind: 'spo2', measuredAtMs: t0 + 1000, flags: ['unassigned'] });
      const before = makeReading({ deviceId: 'loose-1', patientId: null, kind: 'heart-rate', measuredAtMs: t0 - 60_000, flags: ['unassigned'] });
      await f.readings.commit({ readings: [hr, spo2, before], rejections: [] });
      const forwards = [
        { destinationId: 'd-1', kinds: ['heart-rate' as const], atMs: 7000 },
        { destinationId: 'd-2', kinds: ['spo2' as const], atMs: 7000 },
      ];
      expect(await f.readings.attributeUnassigned('loose-1', 'p-1', t0, null, forwards)).toBe(2);
      expect((await f.forwarding.dueDeliveries('d-1', 7000, 10)).map((d) => [d.reading.id, d.reading.patientId])).toEqual([[hr.id, 'p-1']]);
      expect((await f.forwarding.dueDeliveries('d-2', 7000, 10)).map((d) => d.reading.id)).toEqual([spo2.id]);
      // Nothing left unassigned in that window: a second attribution adds nothing.
      expect(await f.readings.attributeUnassigned('loose-1', 'p-1', t0, null, forwards)).toBe(0);
      expect((await f.forwarding.countDeliveries('d-1')).pending).toBe(1);
    });

    it('reports a queue cheaply: waiting and dead (capped), and since when the oldest waits', async () => {
      await f.forwarding.createDestination(dest('d-1'));
      expect(await f.forwarding.queueStats('d-1', 10)).toEqual({ waiting: 0, oldestWaitingSinceMs: undefined, dead: 0 });
      const rs = [100, 200, 300, 400].map((t) => makeReading({ receivedAtMs: t }));
      await f.readings.commit({ readings: rs, rejections: [], forwards: rs.map((_, i) => ({ reading: i, destinationId: 'd-1' })) });
      const [a, b] = await f.forwarding.dueDeliveries('d-1', 1000, 10);
      if (a === undefined || b === undefined) throw new Error('expected deliveries');
      await f.forwarding.recordAttempts([
        { seq: a.seq, status: 'dead', atMs: 500, code: 'RPM_ERR_FHIR_PATIENT_UNKNOWN', message: 'no Patient', outcome: null },
        { seq: b.seq, status: 'failed', atMs: 500, nextAttemptAtMs: 900, code: 'RPM_ERR_UPSTREAM_FHIR', message: '503' },
      ]);
      expect(await f.forwarding.queueStats('d-1', 10)).toEqual({ waiting: 3, oldestWaitingSinceMs: 200, dead: 1 });
      expect((await f.forwarding.queueStats('d-1', 2)).waiting).toBe(2);
      expect(await f.forwarding.patientsWithDeadLetters('d-1', ['RPM_ERR_FHIR_PATIENT_UNKNOWN'], 10)).toEqual(['p-1']);
      expect(await f.forwarding.patientsWithDeadLetters('d-1', ['RPM_ERR_UPSTREAM_FHIR_REJECTED'], 10)).toEqual([]);
      // Requeue by code and patient: only the patient's dead letters of that code.
      expect(await f.forwarding.retryDeliveries({ destinationId: 'd-1', statuses: ['dead', 'failed'], codes: ['RPM_ERR_FHIR_PATIENT_UNKNOWN'], patientId: 'p-2' }, 600)).toBe(0);
      expect(await f.forwarding.retryDeliveries({ destinationId: 'd-1', statuses: ['dead', 'failed'], codes: ['RPM_ERR_FHIR_PATIENT_UNKNOWN'], patientId: 'p-1' }, 600)).toBe(1);
      expect(await f.forwarding.queueStats('d-1', 10)).toEqual({ waiting: 4, oldestWaitingSinceMs: 100, dead: 0 });
      const listed = await f.forwarding.listDeliveries({ destinationId: 'd-1', limit: 1 });
      expect(listed[0]?.patientId).toBe('p-1');
    });

    it("keeps how each destination's EHR knows a patient: admin identifiers and references, references found by search", async () => {
      await f.forwarding.createDestination(dest('d-1'));
      expect(await f.forwarding.getPatientLink('d-1', 'p-1')).toBeUndefined();
      const set = await f.forwarding.setPatientLink('d-1', 'p-1', { identifier: 'MRN-0042' }, 100);
      expect(set).toEqual({ destinationId: 'd-1', patientId: 'p-1', identifier: 'MRN-0042', reference: null, referenceSource: null, updatedAtMs: 100 });
      await f.forwarding.recordResolvedPatient('d-1', 'p-1', 'Patient/77', 200);
      expect(await f.forwarding.getPatientLink('d-1', 'p-1')).toMatchObject({ identifier: 'MRN-0042', reference: 'Patient/77', referenceSource: 'search' });
      // A new identifier: what the search found under the old one no longer holds.
      expect(await f.forwarding.setPatientLink('d-1', 'p-1', { identifier: 'MRN-0043' }, 300)).toMatchObject({ identifier: 'MRN-0043', reference: null, referenceSource: null });
      // An admin's reference is never overridden by a search.
      await f.forwarding.setPatientLink('d-1', 'p-1', { reference: 'Patient/88' }, 400);
      await f.forwarding.recordResolvedPatient('d-1', 'p-1', 'Patient/99', 500);
      expect(await f.forwarding.getPatientLink('d-1', 'p-1')).toMatchObject({ identifier: 'MRN-0043', reference: 'Patient/88', referenceSource: 'admin' });
      await f.addPatient('p-3', 'org-1');
      await f.forwarding.recordResolvedPatient('d-1', 'p-3', 'Patient/3', 600);
      expect((await f.forwarding.listPatientLinks('d-1', { limit: 10 })).map((l) => [l.patientId, l.reference])).toEqual([
        ['p-1', 'Patient/88'],
        ['p-3', 'Patient/3'],
      ]);
      expect((await f.forwarding.listPatientLinks('d-1', { limit: 10, afterPatientId: 'p-1' })).map((l) => l.patientId)).toEqual(['p-3']);
      await expect(f.forwarding.setPatientLink('d-1', 'nobody', { identifier: 'x' }, 700)).rejects.toMatchObject({ code: 'RPM_ERR_PATIENT_NOT_FOUND' });
      expect(await f.forwarding.deletePatientLink('d-1', 'p-1')).toBe(true);
      expect(await f.forwarding.deletePatientLink('d-1', 'p-1')).toBe(false);
      expect(await f.forwarding.getPatientLink('d-1', 'p-1')).toBeUndefined();
    });
  });
}
