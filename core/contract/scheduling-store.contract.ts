import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DelayedJobs, NewDelayedJob } from '../ports/delayed-jobs.js';
import type { NewAppointment, SchedulingStore } from '../ports/scheduling-store.js';

export interface SchedulingFixture {
  readonly scheduling: SchedulingStore;
  readonly jobs: DelayedJobs;
  readonly dispose: () => Promise<void>;
}

const H = 3_600_000;
const T0 = Date.parse('2026-12-10T15:00:00Z');

const appt = (over: Partial<NewAppointment> = {}): NewAppointment => ({
  id: 'a-1',
  organizationId: 'org-1',
  patientId: 'p-1',
  staffId: 's-1',
  typeId: 'monthly-check-in',
  modality: 'video',
  startMs: T0,
  endMs: T0 + 20 * 60_000,
  status: 'booked',
  createdAtMs: 1000,
  createdBy: 'staff:s-1',
  ...over,
});

const job = (id: string, dueAtMs: number, group = 'appointment:a-1'): NewDelayedJob => ({ id, kind: 'reminder', group, payload: { appointmentId: 'a-1', reminder: '24h' }, dueAtMs, createdAtMs: 1 });

/** The SchedulingStore and DelayedJobs contracts, run by every adapter against its real backend. */
export function schedulingStoreContract(name: string, make: () => Promise<SchedulingFixture>): void {
  describe(`SchedulingStore + DelayedJobs contract: ${name}`, () => {
    let f: SchedulingFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => f.dispose());

    it('keeps one versioned availability per staff member and unique appointment types per organization', async () => {
      const a = { staffId: 's-1', organizationId: 'org-1', timeZone: 'America/Chicago', weekly: [{ weekday: 1, start: '09:00', end: '17:00' }], exceptions: [], updatedAtMs: 1 };
      expect(await f.scheduling.putAvailability(a, 0)).toMatchObject({ version: 1, timeZone: 'America/Chicago' });
      await expect(f.scheduling.putAvailability(a, 0)).rejects.toMatchObject({ code: 'RPM_ERR_AVAILABILITY_VERSION_CONFLICT' });
      expect(await f.scheduling.putAvailability({ ...a, exceptions: [{ date: '2026-12-24', available: false }] })).toMatchObject({ version: 2 });
      expect(await f.scheduling.getAvailability('s-1')).toMatchObject({ version: 2, exceptions: [{ date: '2026-12-24', available: false }], weekly: a.weekly });
      expect(await f.scheduling.getAvailability('s-2')).toBeUndefined();

      const type = { organizationId: 'org-1', id: 'monthly-check-in', name: 'Monthly check-in', durationMinutes: 20, modality: 'video' as const, createdAtMs: 1 };
      await f.scheduling.createAppointmentType(type);
      await expect(f.scheduling.createAppointmentType(type)).rejects.toMatchObject({ code: 'RPM_ERR_APPOINTMENT_TYPE_EXISTS' });
      await f.scheduling.createAppointmentType({ ...type, organizationId: 'org-2' });
      expect(await f.scheduling.listAppointmentTypes('org-1')).toEqual([type]);
      expect(await f.scheduling.getAppointmentType('org-2', 'monthly-check-in')).toMatchObject({ organizationId: 'org-2' });
    });

    it('refuses overlapping bookings of a staff member or a patient, not touching or cancelled ones', async () => {
      const booked = await f.scheduling.book(appt(), []);
      expect(booked).toMatchObject({ id: 'a-1', version: 1, status: 'booked', patientResponse: null, updatedBy: 'staff:s-1' });
      await expect(f.scheduling.book(appt({ id: 'a-2', patientId: 'p-2', startMs: T0 + 10 * 60_000, endMs: T0 + 30 * 60_000 }), [])).rejects.toMatchObject({ code: 'RPM_ERR_APPOINTMENT_SLOT_TAKEN' });
      await expect(f.scheduling.book(appt({ id: 'a-3', staffId: 's-2', startMs: T0 - 10 * 60_000, endMs: T0 + 10 * 60_000 }), [])).rejects.toMatchObject({ code: 'RPM_ERR_APPOINTMENT_SLOT_TAKEN' });
      // Touching is fine.
      await f.scheduling.book(appt({ id: 'a-4', patientId: 'p-2', startMs: T0 + 20 * 60_000, endMs: T0 + 40 * 60_000 }), []);
      const cancelled = await f.scheduling.change('a-1', 1, { kind: 'status', status: 'cancelled', atMs: 2000, by: 'staff:s-1' }, []);
      expect(cancelled).toMatchObject({ status: 'cancelled', version: 2, updatedAtMs: 2000 });
      await f.scheduling.book(appt({ id: 'a-5', patientId: 'p-3' }), []);
      expect((await f.scheduling.listAppointments({ staffId: 's-1', fromMs: T0 - H, toMs: T0 + H, limit: 10 })).map((a) => a.id)).toEqual(['a-1', 'a-5', 'a-4']);
      expect((await f.scheduling.listAppointments({ staffId: 's-1', fromMs: T0 - H, toMs: T0 + H, limit: 10, statuses: ['booked'], descending: true })).map((a) => a.id)).toEqual(['a-4', 'a-5']);
      expect((await f.scheduling.listAppointments({ patientId: 'p-2', fromMs: 0, toMs: T0 + 10 * H, limit: 10 })).map((a) => a.id)).toEqual(['a-4']);
      expect((await f.scheduling.listAppointments({ organizationId: 'org-1', fromMs: T0 + 30 * 60_000, toMs: T0 + H, limit: 10 })).map((a) => a.id)).toEqual(['a-4']);
    });

    it('lets exactly one of many concurrent bookings of one slot through', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => f.scheduling.book(appt({ id: `race-${i}`, patientId: `p-${i}`, startMs: T0 + i * 60_000, endMs: T0 + 20 * 60_000 + i * 60_000 }), [])),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'RPM_ERR_APPOINTMENT_SLOT_TAKEN' });
    });

    it('reschedules with optimistic versions, moving its reminder jobs in the same transaction', async () => {
      await f.scheduling.book(appt(), [job('r:a-1:1:24h', T0 - 24 * H), job('r:a-1:1:15m', T0 - 15 * 60_000)]);
      await f.scheduling.book(appt({ id: 'a-2', patientId: 'p-2', startMs: T0 + H, endMs: T0 + H + 20 * 60_000 }), []);
      await expect(f.scheduling.change('a-1', 1, { kind: 'reschedule', startMs: T0 + H, endMs: T0 + H + 20 * 60_000, staffId: 's-1', atMs: 3000, by: 'admin' }, [])).rejects.toMatchObject({
        code: 'RPM_ERR_APPOINTMENT_SLOT_TAKEN',
      });
      const moved = await f.scheduling.change('a-1', 1, { kind: 'reschedule', startMs: T0 + 2 * H, endMs: T0 + 2 * H + 20 * 60_000, staffId: 's-1', atMs: 3000, by: 'admin' }, [
        job('r:a-1:2:15m', T0 + 2 * H - 15 * 60_000),
      ]);
      expect(moved).toMatchObject({ version: 2, startMs: T0 + 2 * H, updatedBy: 'admin' });
      await expect(f.scheduling.change('a-1', 1, { kind: 'status', status: 'cancelled', atMs: 4000, by: 'admin' }, [])).rejects.toMatchObject({ code: 'RPM_ERR_APPOINTMENT_VERSION_CONFLICT' });
      await expect(f.scheduling.change('ghost', 1, { kind: 'status', status: 'cancelled', atMs: 4000, by: 'admin' }, [])).rejects.toMatchObject({ code: 'RPM_ERR_APPOINTMENT_NOT_FOUND' });
      const jobs = await f.jobs.list({ group: 'appointment:a-1', limit: 10 });
      expect(Object.fromEntries(jobs.map((j) => [j.id, j.status]))).toEqual({ 'r:a-1:1:24h': 'cancelled', 'r:a-1:1:15m': 'cancelled', 'r:a-1:2:15m': 'pending' });
      expect(await f.scheduling.recordResponse('a-1', 'confirmed', 5000)).toMatchObject({ patientResponse: 'confirmed', patientRespondedAtMs: 5000, version: 2 });
      expect(await f.scheduling.recordResponse('ghost', 'confirmed', 5000)).toBeUndefined();
    });

    it('runs each due job once: idempotent scheduling, exclusive claims with leases, owner-checked completion, release at start', async () => {
      await f.jobs.schedule([job('j-1', 1000, 'g'), job('j-2', 2000, 'g'), job('j-3', 9000, 'g')]);
      await f.jobs.schedule([{ ...job('j-1', 5000, 'g') }]);
      expect(await f.jobs.nextDueAt()).toBe(1000);
      const [a, b] = await Promise.all([
        f.jobs.claimDue({ nowMs: 2500, limit: 10, owner: 'w1', leaseMs: 1000 }),
        f.jobs.claimDue({ nowMs: 2500, limit: 10, owner: 'w2', leaseMs: 1000 }),
      ]);
      expect([...a, ...b].map((j) => j.id).sort()).toEqual(['j-1', 'j-2']);
      expect([...a, ...b].find((j) => j.id === 'j-1')).toMatchObject({ dueAtMs: 1000, status: 'running', attempts: 1, payload: { appointmentId: 'a-1', reminder: '24h' } });
      const holder = a.some((j) => j.id === 'j-1') ? 'w1' : 'w2';
      expect(await f.jobs.complete('j-1', 'intruder', { atMs: 2600, result: 'sent' })).toBe(false);
      expect(await f.jobs.complete('j-1', holder, { atMs: 2600, result: 'sent' })).toBe(true);
      // A lease that ran out makes the job due again for another claimer; the old holder can no longer finish it.
      const again = await f.jobs.claimDue({ nowMs: 4000, limit: 10, owner: 'w3', leaseMs: 1000 });
      expect(again.map((j) => j.id)).toEqual(['j-2']);
      expect(again[0]).toMatchObject({ attempts: 2, leaseOwner: 'w3' });
      expect(await f.jobs.retry('j-2', 'w3', { atMs: 4100, nextAtMs: 6000, error: 'RPM_ERR_UPSTREAM_SMS', dead: false })).toBe(true);
      expect(await f.jobs.claimDue({ nowMs: 5000, limit: 10, owner: 'w3', leaseMs: 1000 })).toEqual([]);
      expect((await f.jobs.claimDue({ nowMs: 9500, limit: 1, owner: 'w4', leaseMs: 60_000 })).map((j) => j.id)).toEqual(['j-2']);
      expect(await f.jobs.releaseAll()).toBe(1);
      expect((await f.jobs.claimDue({ nowMs: 9500, limit: 10, owner: 'w5', leaseMs: 60_000 })).map((j) => j.id)).toEqual(['j-2', 'j-3']);
      expect(await f.jobs.cancelGroup('g', 9600)).toBe(0);
      await f.jobs.schedule([job('j-4', 20_000, 'h')]);
      expect(await f.jobs.cancelGroup('h', 9600)).toBe(1);
      expect(await f.jobs.claimDue({ nowMs: 70_000, limit: 10, owner: 'w6', leaseMs: 1000, kinds: ['reminder'] })).toMatchObject([{ id: 'j-2' }, { id: 'j-3' }]);
      const listed = await f.jobs.list({ group: 'g', limit: 10 });
      expect(listed.find((j) => j.id === 'j-1')).toMatchObject({ status: 'done', result: 'sent', finishedAtMs: 2600 });
    });

    it('keeps iCalendar feed tokens by hash, one per staff member', async () => {
      await f.scheduling.setFeedToken('s-1', 'hash-1', 1);
      expect(await f.scheduling.staffOfFeedToken('hash-1')).toBe('s-1');
      await f.scheduling.setFeedToken('s-1', 'hash-2', 2);
      expect(await f.scheduling.staffOfFeedToken('hash-1')).toBeUndefined();
      expect(await f.scheduling.staffOfFeedToken('hash-2')).toBe('s-1');
    });
  });
}
