import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BillingStore, NewSignOff, StoredEpisode } from '../ports/billing-store.js';

export interface BillingFixture {
  readonly store: BillingStore;
  readonly dispose: () => Promise<void>;
}

/** The BillingStore contract, run by every adapter against its real backend. */
export function billingStoreContract(name: string, make: () => Promise<BillingFixture>): void {
  describe(`BillingStore contract: ${name}`, () => {
    let f: BillingFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => f.dispose());

    const episode = (over: Partial<StoredEpisode> = {}): StoredEpisode => ({
      patientId: 'p-1',
      organizationId: 'org-1',
      startDate: '2026-03-10',
      endDate: null,
      timeZone: 'America/New_York',
      billingPractitionerId: 'dr-1',
      savedBy: 'staff:admin-1',
      savedAtMs: 1000,
      reason: null,
      ...over,
    });
    const signOff = (over: Partial<NewSignOff> = {}): NewSignOff => ({
      organizationId: 'org-1',
      patientId: 'p-1',
      periodKey: 'p-1/device/2026-03-10',
      signedBy: 'dr-1',
      signedAtMs: 5000,
      line: { codes: [{ code: '99454', units: 1 }], days: ['2026-03-10'] },
      lineSha256: 'a'.repeat(64),
      ...over,
    });

    it('keeps one episode per patient, replaced whole, with every save in its history', async () => {
      expect(await f.store.episode('p-1')).toBeUndefined();
      await f.store.saveEpisode(episode());
      await f.store.saveEpisode(episode({ patientId: 'p-2', startDate: '2026-04-01' }));
      await f.store.saveEpisode(episode({ patientId: 'p-3', organizationId: 'org-2' }));
      const changed = episode({ billingPractitionerId: 'dr-2', endDate: '2026-06-30', savedAtMs: 2000, reason: 'goals met' });
      expect(await f.store.saveEpisode(changed)).toEqual(changed);
      expect(await f.store.episode('p-1')).toEqual(changed);
      expect((await f.store.episodesOf('org-1')).map((e) => [e.patientId, e.billingPractitionerId])).toEqual([
        ['p-1', 'dr-2'],
        ['p-2', 'dr-1'],
      ]);
      expect((await f.store.episodeHistory('p-1')).map((e) => e.savedAtMs)).toEqual([1000, 2000]);
    });

    it('signs a period once: a second sign-off, even by another practitioner, is refused', async () => {
      const signed = await f.store.signOff(signOff());
      expect(signed).toMatchObject({ revision: 0, amendments: [], signedBy: 'dr-1', line: signOff().line });
      await expect(f.store.signOff(signOff({ signedBy: 'dr-2' }))).rejects.toMatchObject({ code: 'RPM_ERR_BILLING_PERIOD_SIGNED' });
      const [again] = await f.store.signOffs('org-1');
      expect(again?.signedBy).toBe('dr-1');
    });

    it('of two sign-offs at once, exactly one wins', async () => {
      const results = await Promise.allSettled([f.store.signOff(signOff({ signedBy: 'dr-1' })), f.store.signOff(signOff({ signedBy: 'dr-2' }))]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['RPM_ERR_BILLING_PERIOD_SIGNED']);
      expect(await f.store.signOffs('org-1')).toHaveLength(1);
    });

    it('changes a signed period only by numbered amendments, with who, when and why', async () => {
      await expect(
        f.store.amend({ organizationId: 'org-1', periodKey: 'p-1/device/2026-03-10', amendedBy: 'dr-1', amendedAtMs: 6000, reason: 'r', line: {}, lineSha256: 'b'.repeat(64) }, 0),
      ).rejects.toMatchObject({ code: 'RPM_ERR_BILLING_NOT_SIGNED' });
      await f.store.signOff(signOff());
      const a1 = { organizationId: 'org-1', periodKey: 'p-1/device/2026-03-10', amendedBy: 'dr-1', amendedAtMs: 6000, reason: 'late readings from a hub', line: { codes: [] }, lineSha256: 'b'.repeat(64) };
      const after1 = await f.store.amend(a1, 0);
      expect(after1.revision).toBe(1);
      expect(after1.amendments).toEqual([{ ...a1, revision: 1 }]);
      await expect(f.store.amend({ ...a1, amendedAtMs: 7000 }, 0)).rejects.toMatchObject({ code: 'RPM_ERR_BILLING_AMENDMENT_CONFLICT' });
      const after2 = await f.store.amend({ ...a1, amendedBy: 'dr-2', amendedAtMs: 7000, reason: 'second' }, 1);
      expect(after2.revision).toBe(2);
      expect(after2.amendments.map((a) => [a.revision, a.amendedBy, a.reason])).toEqual([
        [1, 'dr-1', 'late readings from a hub'],
        [2, 'dr-2', 'second'],
      ]);
      // The sign-off itself is never rewritten.
      expect(after2).toMatchObject({ signedBy: 'dr-1', signedAtMs: 5000, line: signOff().line });
    });

    it('keeps organizations apart and filters by period and patient', async () => {
      await f.store.signOff(signOff());
      await f.store.signOff(signOff({ periodKey: 'p-1/management/2026-03', line: { minutes: 22 } }));
      await f.store.signOff(signOff({ patientId: 'p-2', periodKey: 'p-2/device/2026-03-10' }));
      await f.store.signOff(signOff({ organizationId: 'org-2', patientId: 'p-9', periodKey: 'p-9/device/2026-03-10' }));
      expect((await f.store.signOffs('org-1')).map((s) => s.periodKey).sort()).toEqual(['p-1/device/2026-03-10', 'p-1/management/2026-03', 'p-2/device/2026-03-10']);
      expect((await f.store.signOffs('org-1', { periodKeys: ['p-1/management/2026-03', 'p-9/device/2026-03-10'] })).map((s) => s.line)).toEqual([{ minutes: 22 }]);
      expect((await f.store.signOffs('org-1', { patientId: 'p-2' })).map((s) => s.periodKey)).toEqual(['p-2/device/2026-03-10']);
      expect(await f.store.signOffs('org-2', { periodKeys: ['p-1/device/2026-03-10'] })).toEqual([]);
      await expect(f.store.amend({ organizationId: 'org-2', periodKey: 'p-1/device/2026-03-10', amendedBy: 'x', amendedAtMs: 1, reason: 'r', line: {}, lineSha256: 'c'.repeat(64) }, 0)).rejects.toMatchObject({
        code: 'RPM_ERR_BILLING_NOT_SIGNED',
      });
    });
  });
}
