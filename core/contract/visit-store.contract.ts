import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewVisit } from '../model/visit.js';
import type { AlertStore, NewTimeEntry } from '../ports/alert-store.js';
import type { DelayedJobs, NewDelayedJob } from '../ports/delayed-jobs.js';
import type { VisitStore } from '../ports/visit-store.js';

/**
 * The VisitStore contract, run by every adapter against its real backend (the port's doc block).
 * `make` answers a fresh, empty store and the AlertStore of the same store set (a visit's end
 * writes its time-log entry there).
 */
export function visitStoreContract(name: string, make: () => Promise<{ visits: VisitStore; alerts: AlertStore; jobs: DelayedJobs; dispose: () => Promise<void> }>): void {
  describe(`VisitStore contract: ${name}`, () => {
    let visits: VisitStore;
    let alerts: AlertStore;
    let jobs: DelayedJobs;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ visits, alerts, jobs, dispose } = await make());
    });
    afterEach(async () => dispose());

    const visit = (id: string, overrides: Partial<NewVisit> = {}): NewVisit => ({
      id,
      organizationId: 'org-1',
      patientId: 'p-1',
      staffId: 'n-1',
      alertId: 'al-1',
      appointmentId: null,
      provider: 'embedded',
      room: `room-${id}`,
      modality: 'video',
      createdAtMs: 1_000,
      linkExpiresAtMs: 10_000,
      ...overrides,
    });
    const entry = (id: string, overrides: Partial<NewTimeEntry> = {}): NewTimeEntry & { endedAtMs: number } => ({
      id,
      organizationId: 'org-1',
      patientId: 'p-1',
      staffId: 'n-1',
      startedAtMs: 2_000,
      endedAtMs: 5_000,
      interactive: true,
      note: null,
      source: 'visit',
      modality: 'video',
      ...overrides,
    });

    it('round-trips a visit and lists them newest first, by organization, patient, staff and openness', async () => {
      const created = await visits.create(visit('v-1'), 'hash-1');
      expect(created).toEqual({ ...visit('v-1'), startedAtMs: null, endedAtMs: null, endReason: null, linkUsedAtMs: null, timeEntryId: null });
      expect(await visits.get('v-1')).toEqual(created);
      expect(await visits.get('ghost')).toBeUndefined();
      await visits.create(visit('v-2', { createdAtMs: 2_000, patientId: 'p-2', alertId: null, provider: 'jitsi', modality: 'audio' }), 'hash-2');
      await visits.create(visit('v-3', { createdAtMs: 3_000, staffId: 'n-2' }), 'hash-3');
      await visits.create(visit('v-4', { createdAtMs: 4_000, organizationId: 'org-2' }), 'hash-4');
      expect((await visits.list({ organizationId: 'org-1', limit: 10 })).map((v) => v.id)).toEqual(['v-3', 'v-2', 'v-1']);
      expect((await visits.list({ organizationId: 'org-1', limit: 2 })).map((v) => v.id)).toEqual(['v-3', 'v-2']);
      expect((await visits.list({ organizationId: 'org-1', patientId: 'p-1', limit: 10 })).map((v) => v.id)).toEqual(['v-3', 'v-1']);
      expect((await visits.list({ organizationId: 'org-1', staffId: 'n-1', limit: 10 })).map((v) => v.id)).toEqual(['v-2', 'v-1']);
      expect((await visits.list({ organizationId: 'org-2', limit: 10 })).map((v) => v.id)).toEqual(['v-4']);
      expect(await visits.get('v-2')).toMatchObject({ provider: 'jitsi', modality: 'audio', alertId: null, patientId: 'p-2' });
      await visits.end('v-1', 3_000, 'cancelled', null);
      expect((await visits.list({ organizationId: 'org-1', open: true, limit: 10 })).map((v) => v.id)).toEqual(['v-3', 'v-2']);
      expect((await visits.list({ organizationId: 'org-1', open: false, limit: 10 })).map((v) => v.id)).toEqual(['v-1']);
      expect((await visits.openCreatedBefore(3_500, 10)).map((v) => v.id)).toEqual(['v-2', 'v-3']);
    });

    it('lets a link work once, before it expires, while the visit is open; a patient session follows the visit', async () => {
      await visits.create(visit('v-1'), 'link-a');
      expect(await visits.redeemLink('link-x', 2_000, 'sess-x')).toBeUndefined();
      // At the expiry instant the link no longer works.
      expect(await visits.redeemLink('link-a', 10_000, 'sess-late')).toBeUndefined();
      expect(await visits.redeemLink('link-a', 2_000, 'sess-1')).toMatchObject({ id: 'v-1', linkUsedAtMs: 2_000 });
      expect(await visits.redeemLink('link-a', 2_001, 'sess-2')).toBeUndefined();
      expect(await visits.visitOfPatientSession('sess-1')).toMatchObject({ id: 'v-1' });
      expect(await visits.visitOfPatientSession('sess-2')).toBeUndefined();

      // A new link replaces the old one (and the session it gave).
      expect(await visits.renewLink('v-1', 'link-b', 20_000)).toBe(true);
      expect(await visits.visitOfPatientSession('sess-1')).toBeUndefined();
      expect(await visits.redeemLink('link-a', 3_000, 'sess-3')).toBeUndefined();
      expect(await visits.renewLink('ghost', 'link-c', 20_000)).toBe(false);

      // Two redemptions at once: exactly one wins.
      const both = await Promise.all([visits.redeemLink('link-b', 4_000, 'sess-4'), visits.redeemLink('link-b', 4_000, 'sess-5')]);
      expect(both.filter((v) => v !== undefined)).toHaveLength(1);

      await visits.end('v-1', 5_000, 'ended', null);
      expect(await visits.visitOfPatientSession('sess-4')).toBeUndefined();
      expect(await visits.visitOfPatientSession('sess-5')).toBeUndefined();
      expect(await visits.renewLink('v-1', 'link-d', 20_000)).toBe(false);

      // An ended visit's unused link does not work either.
      await visits.create(visit('v-2'), 'link-e');
      await visits.end('v-2', 1_500, 'cancelled', null);
      expect(await visits.redeemLink('link-e', 2_000, 'sess-6')).toBeUndefined();
    });

    it('records participants, the start once, and ends once with the time-log entry in the same write', async () => {
      await visits.create(visit('v-1'), 'link-a');
      await visits.joined('v-1', 'staff', 'staff:n-1', 1_500);
      await visits.joined('v-1', 'patient', 'patient', 2_000);
      expect(await visits.markStarted('v-1', 2_000)).toBe(true);
      expect(await visits.markStarted('v-1', 2_500)).toBe(false);
      await visits.left('v-1', 'patient', 2_600);
      await visits.joined('v-1', 'patient', 'patient', 2_700);
      expect(await visits.participants('v-1')).toEqual([
        { visitId: 'v-1', role: 'staff', actor: 'staff:n-1', joinedAtMs: 1_500, leftAtMs: null },
        { visitId: 'v-1', role: 'patient', actor: 'patient', joinedAtMs: 2_000, leftAtMs: 2_600 },
        { visitId: 'v-1', role: 'patient', actor: 'patient', joinedAtMs: 2_700, leftAtMs: null },
      ]);

      const ended = await visits.end('v-1', 5_000, 'ended', entry('te-1'));
      expect(ended).toMatchObject({ id: 'v-1', startedAtMs: 2_000, endedAtMs: 5_000, endReason: 'ended', timeEntryId: 'te-1' });
      expect((await visits.participants('v-1')).map((p) => p.leftAtMs)).toEqual([5_000, 2_600, 5_000]);
      const logged = await alerts.timeEntries({ staffId: 'n-1' });
      expect(logged).toEqual([{ ...entry('te-1'), stopReason: null }]);

      // Ending again writes nothing: the minutes are logged once.
      expect(await visits.end('v-1', 6_000, 'ended', entry('te-2'))).toBeUndefined();
      expect((await alerts.timeEntries({ staffId: 'n-1' })).map((e) => e.id)).toEqual(['te-1']);
      expect(await visits.get('v-1')).toMatchObject({ endedAtMs: 5_000, timeEntryId: 'te-1' });
      expect(await visits.markStarted('v-1', 7_000)).toBe(false);
      expect(await visits.end('ghost', 6_000, 'ended', null)).toBeUndefined();
    });

    it('writes nothing of an end whose time-log entry cannot be written', async () => {
      await visits.create(visit('v-1'), 'link-a');
      await alerts.addTime(entry('te-dup', { source: 'manual' }));
      await expect(visits.end('v-1', 5_000, 'ended', entry('te-dup'))).rejects.toThrow();
      expect(await visits.get('v-1')).toMatchObject({ endedAtMs: null, timeEntryId: null });
      expect(await visits.end('v-1', 5_000, 'ended', entry('te-ok', { modality: 'audio' }))).toMatchObject({ endedAtMs: 5_000 });
      expect((await alerts.timeEntries({ staffId: 'n-1' })).find((e) => e.id === 'te-ok')).toMatchObject({ modality: 'audio', source: 'visit', interactive: true });
    });

    it('links a visit to its appointment, finds it by room, and writes the jobs of a start or an end only with the change', async () => {
      await visits.create(visit('v-1', { appointmentId: 'ap-1' }), 'link-a');
      await visits.create(visit('v-2', { createdAtMs: 2_000 }), 'link-b');
      expect(await visits.get('v-1')).toMatchObject({ appointmentId: 'ap-1' });
      expect((await visits.list({ organizationId: 'org-1', appointmentId: 'ap-1', limit: 10 })).map((v) => v.id)).toEqual(['v-1']);
      expect((await visits.byRoom('room-v-2'))?.id).toBe('v-2');
      expect(await visits.byRoom('room-ghost')).toBeUndefined();
      const job = (id: string): NewDelayedJob => ({ id, kind: 'fhir-encounter', group: 'visit:v-1', payload: { visitId: 'v-1' }, dueAtMs: 2_000, createdAtMs: 2_000 });
      expect(await visits.markStarted('v-1', 2_000, [job('start-1')])).toBe(true);
      expect(await visits.markStarted('v-1', 2_500, [job('start-2')])).toBe(false);
      expect(await visits.end('v-1', 5_000, 'ended', entry('te-1'), [job('end-1')])).toMatchObject({ endedAtMs: 5_000 });
      expect(await visits.end('v-1', 6_000, 'ended', null, [job('end-2')])).toBeUndefined();
      expect((await jobs.list({ group: 'visit:v-1', limit: 10 })).map((j) => j.id).sort()).toEqual(['end-1', 'start-1']);
    });
  });
}
