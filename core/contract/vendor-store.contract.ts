import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VendorConnection } from '../model/vendor.js';
import type { VendorStore } from '../ports/vendor-store.js';

export interface VendorFixture {
  readonly vendors: VendorStore;
  readonly addOrganization: (id: string) => Promise<void>;
  readonly addDevice: (id: string) => Promise<void>;
  /** The stored text of every credential column, to prove nothing is kept in clear. */
  readonly storedSecrets: () => Promise<string[]>;
  readonly dispose: () => Promise<void>;
}

/** The VendorStore contract, run by every adapter against its real backend. */
export function vendorStoreContract(name: string, make: () => Promise<VendorFixture>): void {
  describe(`VendorStore contract: ${name}`, () => {
    let f: VendorFixture;
    beforeEach(async () => {
      f = await make();
      await f.addOrganization('org-1');
      await f.addDevice('dev-1');
    });
    afterEach(async () => f.dispose());

    const tenovi = (over: Partial<VendorConnection<'tenovi'>> = {}): VendorConnection<'tenovi'> => ({
      organizationId: 'org-1',
      vendor: 'tenovi',
      settings: { authHeader: 'X-Tenovi-Key', authKey: 'tenovi-key-0123456789abcdef' },
      enabled: true,
      createdAtMs: 1000,
      updatedAtMs: 1000,
      ...over,
    });

    it('keeps one connection per organization and vendor, replaced in place, in existing organizations only', async () => {
      expect(await f.vendors.putConnection(tenovi())).toEqual(tenovi());
      const replaced = await f.vendors.putConnection(tenovi({ settings: { authHeader: 'Authorization', authKey: 'another-key-0123456789' }, createdAtMs: 5000, updatedAtMs: 5000 }));
      expect(replaced).toMatchObject({ settings: { authKey: 'another-key-0123456789' }, createdAtMs: 1000, updatedAtMs: 5000 });
      await f.vendors.putConnection({ organizationId: 'org-1', vendor: 'nightscout', settings: {}, enabled: true, createdAtMs: 2000, updatedAtMs: 2000 });
      expect((await f.vendors.listConnections('org-1')).map((c) => c.vendor)).toEqual(['nightscout', 'tenovi']);
      expect(await f.vendors.getConnection('org-1', 'withings')).toBeUndefined();
      await expect(f.vendors.putConnection(tenovi({ organizationId: 'nowhere' }))).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_NOT_FOUND' });
      expect(await f.vendors.deleteConnection('org-1', 'tenovi')).toBe(true);
      expect(await f.vendors.deleteConnection('org-1', 'tenovi')).toBe(false);
      expect((await f.vendors.listConnections('org-1')).map((c) => c.vendor)).toEqual(['nightscout']);
    });

    it('binds vendor identifiers to existing devices, once, and keeps credentials encrypted', async () => {
      await f.vendors.putConnection(tenovi());
      const binding = {
        organizationId: 'org-1',
        vendor: 'withings' as const,
        externalId: '12345',
        deviceId: 'dev-1',
        credentials: { type: 'withings' as const, accessToken: 'access-plain-text', refreshToken: 'refresh-plain-text', accessTokenExpiresAtMs: 9000 },
        createdAtMs: 1000,
        updatedAtMs: 1000,
      };
      expect(await f.vendors.createBinding(binding)).toEqual(binding);
      await expect(f.vendors.createBinding(binding)).rejects.toMatchObject({ code: 'RPM_ERR_VENDOR_BINDING_EXISTS' });
      await expect(f.vendors.createBinding({ ...binding, externalId: '2', deviceId: 'ghost' })).rejects.toMatchObject({ code: 'RPM_ERR_DEVICE_NOT_FOUND' });
      await expect(f.vendors.createBinding({ ...binding, externalId: '3', organizationId: 'nowhere' })).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_NOT_FOUND' });
      // The same external id in another organization, or for another vendor, is another binding.
      await f.addOrganization('org-2');
      await f.vendors.createBinding({ ...binding, organizationId: 'org-2' });
      await f.vendors.createBinding({ ...binding, vendor: 'nightscout', credentials: { type: 'nightscout', apiSecret: 'site-secret-plain' } });
      expect(await f.vendors.getBinding('org-1', 'nightscout', '12345')).toMatchObject({ credentials: { apiSecret: 'site-secret-plain' } });

      const rotated = { type: 'withings' as const, accessToken: 'access-2', refreshToken: 'refresh-2', accessTokenExpiresAtMs: 20_000 };
      expect(await f.vendors.updateBindingCredentials('org-1', 'withings', '12345', rotated, 7000)).toBe(true);
      expect(await f.vendors.getBinding('org-1', 'withings', '12345')).toMatchObject({ credentials: rotated, updatedAtMs: 7000, createdAtMs: 1000 });
      expect(await f.vendors.updateBindingCredentials('org-1', 'withings', 'ghost', rotated, 7000)).toBe(false);

      for (const text of await f.storedSecrets()) {
        for (const plain of ['access-2', 'refresh-2', 'site-secret-plain', 'tenovi-key-0123456789abcdef', 'refresh-plain-text']) expect(text).not.toContain(plain);
      }

      await f.vendors.createBinding({ ...binding, externalId: '200', credentials: null });
      const page1 = await f.vendors.listBindings('org-1', 'withings', { limit: 1 });
      const page2 = await f.vendors.listBindings('org-1', 'withings', { limit: 10, afterExternalId: page1[0]?.externalId ?? '' });
      expect([...page1, ...page2].map((b) => b.externalId)).toEqual(['12345', '200']);
      expect(await f.vendors.deleteBinding('org-1', 'withings', '200')).toBe(true);
      expect(await f.vendors.getBinding('org-1', 'withings', '200')).toBeUndefined();
    });

    it('keeps pulls until they are done or dead, due ones oldest first', async () => {
      const p1 = await f.vendors.enqueuePull({ organizationId: 'org-1', vendor: 'withings', externalId: 'u1', fromMs: 100, toMs: 200, reason: 'notification', createdAtMs: 1000 });
      const p2 = await f.vendors.enqueuePull({ organizationId: 'org-1', vendor: 'withings', externalId: 'u2', fromMs: 0, toMs: 900, reason: 'backfill', createdAtMs: 1500 });
      expect(p1).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAtMs: 1000, readings: null, lastAttemptAtMs: null });
      expect((await f.vendors.duePulls(1200, 10)).map((p) => p.id)).toEqual([p1.id]);
      expect((await f.vendors.duePulls(2000, 10)).map((p) => p.id)).toEqual([p1.id, p2.id]);
      expect(await f.vendors.nextPullDueAt()).toBe(1000);

      await f.vendors.recordPullAttempt(p1.id, { status: 'failed', atMs: 2000, nextAttemptAtMs: 5000, errorCode: 'RPM_ERR_UPSTREAM_VENDOR', errorMessage: 'HTTP 503' });
      expect((await f.vendors.duePulls(3000, 10)).map((p) => p.id)).toEqual([p2.id]);
      expect(await f.vendors.nextPullDueAt()).toBe(1500);
      await f.vendors.recordPullAttempt(p2.id, { status: 'done', atMs: 3000, readings: 7 });
      expect(await f.vendors.nextPullDueAt()).toBe(5000);
      await f.vendors.recordPullAttempt(p1.id, { status: 'dead', atMs: 6000, errorCode: 'RPM_ERR_UPSTREAM_VENDOR_AUTH', errorMessage: 'refresh refused' });
      expect(await f.vendors.nextPullDueAt()).toBeUndefined();
      expect(await f.vendors.duePulls(10_000, 10)).toEqual([]);

      const listed = await f.vendors.listPulls({ organizationId: 'org-1', limit: 10 });
      expect(listed.map((p) => [p.id, p.status, p.attempts])).toEqual([
        [p2.id, 'done', 1],
        [p1.id, 'dead', 2],
      ]);
      expect(listed[0]).toMatchObject({ readings: 7, errorCode: null });
      expect(listed[1]).toMatchObject({ errorCode: 'RPM_ERR_UPSTREAM_VENDOR_AUTH', lastAttemptAtMs: 6000 });
      expect((await f.vendors.listPulls({ statuses: ['dead'], limit: 10 })).map((p) => p.id)).toEqual([p1.id]);
      expect((await f.vendors.listPulls({ externalId: 'u2', limit: 10 })).map((p) => p.id)).toEqual([p2.id]);
      expect(await f.vendors.pullStats(100)).toEqual({ waiting: 0, dead: 1 });
    });
  });
}
