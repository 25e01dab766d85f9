import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RegistryStore } from '../ports/registry-store.js';

/** The RegistryStore contract, run by every adapter against its real backend. */
export function registryStoreContract(name: string, make: () => Promise<{ store: RegistryStore; dispose: () => Promise<void> }>): void {
  describe(`RegistryStore contract: ${name}`, () => {
    let store: RegistryStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ store, dispose } = await make());
    });
    afterEach(async () => dispose());

    const device = (id: string) => ({ id, kind: 'scale' as const, manufacturer: 'Acme', model: 'S1', serial: `sn-${id}`, hubId: null, createdAtMs: 1000 });
    const cred = (id: string, deviceId: string) => ({ id, deviceId, secretHash: `hash-${id}`, createdAtMs: 1000 });

    it('creates patients once and refuses a second with the same id', async () => {
      await store.createPatient({ id: 'p-1', organizationId: 'org-1', createdAtMs: 5 });
      expect(await store.getPatient('p-1')).toEqual({ id: 'p-1', organizationId: 'org-1', createdAtMs: 5 });
      await expect(store.createPatient({ id: 'p-1', organizationId: null, createdAtMs: 6 })).rejects.toMatchObject({ code: 'RPM_ERR_PATIENT_EXISTS' });
      expect(await store.getPatient('nobody')).toBeUndefined();
    });

    it('moves a patient to another organization, answering before and after; unknown patients are undefined', async () => {
      await store.createPatient({ id: 'p-m', organizationId: null, createdAtMs: 5 });
      expect(await store.setPatientOrganization('p-m', 'org-2')).toEqual({
        before: { id: 'p-m', organizationId: null, createdAtMs: 5 },
        after: { id: 'p-m', organizationId: 'org-2', createdAtMs: 5 },
      });
      expect(await store.getPatient('p-m')).toEqual({ id: 'p-m', organizationId: 'org-2', createdAtMs: 5 });
      // Again: nothing changes, and the answer says so.
      expect(await store.setPatientOrganization('p-m', 'org-2')).toEqual({
        before: { id: 'p-m', organizationId: 'org-2', createdAtMs: 5 },
        after: { id: 'p-m', organizationId: 'org-2', createdAtMs: 5 },
      });
      expect(await store.setPatientOrganization('ghost', 'org-2')).toBeUndefined();
      expect(await store.getPatient('ghost')).toBeUndefined();
    });

    it('creates a device with its credential and first assignment atomically', async () => {
      await store.createPatient({ id: 'p-1', organizationId: null, createdAtMs: 1 });
      const d = await store.createDevice(device('s-1'), cred('c1', 's-1'), { deviceId: 's-1', patientId: 'p-1', fromMs: 0 });
      expect(d).toMatchObject({ id: 's-1', kind: 'scale', status: 'active', online: false, lastSeenAtMs: null, serial: 'sn-s-1', simulated: false });
      expect(await store.createDevice({ ...device('s-sim'), simulated: true }, cred('c-sim', 's-sim'))).toMatchObject({ simulated: true });
      expect(await store.assignments('s-1')).toEqual([{ deviceId: 's-1', patientId: 'p-1', fromMs: 0, toMs: null }]);
      expect(await store.findCredential('c1')).toMatchObject({ deviceId: 's-1', secretHash: 'hash-c1', expiresAtMs: null, revokedAtMs: null });
      await expect(store.createDevice(device('s-1'), cred('c2', 's-1'))).rejects.toMatchObject({ code: 'RPM_ERR_DEVICE_EXISTS' });
      // An assignment to a patient that does not exist leaves nothing behind.
      await expect(store.createDevice(device('s-2'), cred('c3', 's-2'), { deviceId: 's-2', patientId: 'ghost', fromMs: 0 })).rejects.toMatchObject({ code: 'RPM_ERR_PATIENT_NOT_FOUND' });
      expect(await store.getDevice('s-2')).toBeUndefined();
      expect(await store.findCredential('c3')).toBeUndefined();
    });

    it('keeps the assignment history across reassignments and refuses to rewrite it', async () => {
      for (const p of ['p-a', 'p-b', 'p-c']) await store.createPatient({ id: p, organizationId: null, createdAtMs: 1 });
      await store.createDevice(device('s-h'), cred('ch', 's-h'), { deviceId: 's-h', patientId: 'p-a', fromMs: 100 });
      await store.assign({ deviceId: 's-h', patientId: 'p-b', fromMs: 200 });
      expect(await store.assign({ deviceId: 's-h', patientId: 'p-b', fromMs: 250 })).toEqual({ deviceId: 's-h', patientId: 'p-b', fromMs: 200, toMs: null });
      await expect(store.assign({ deviceId: 's-h', patientId: 'p-c', fromMs: 150 })).rejects.toMatchObject({ code: 'RPM_ERR_ASSIGNMENT_CONFLICT' });
      expect(await store.unassign('s-h', 300)).toEqual({ deviceId: 's-h', patientId: 'p-b', fromMs: 200, toMs: 300 });
      await expect(store.assign({ deviceId: 's-h', patientId: 'p-c', fromMs: 250 })).rejects.toMatchObject({ code: 'RPM_ERR_ASSIGNMENT_CONFLICT' });
      await store.assign({ deviceId: 's-h', patientId: 'p-c', fromMs: 400 });
      expect(await store.assignments('s-h')).toEqual([
        { deviceId: 's-h', patientId: 'p-a', fromMs: 100, toMs: 200 },
        { deviceId: 's-h', patientId: 'p-b', fromMs: 200, toMs: 300 },
        { deviceId: 's-h', patientId: 'p-c', fromMs: 400, toMs: null },
      ]);
      expect(await store.unassign('s-none', 1)).toBeUndefined();
    });

    it('expires older credentials on rotation and revokes them all on revocation', async () => {
      await store.createDevice(device('s-c'), cred('old', 's-c'));
      await store.addCredential(cred('new', 's-c'), 5000);
      expect(await store.findCredential('old')).toMatchObject({ expiresAtMs: 5000, revokedAtMs: null });
      expect(await store.findCredential('new')).toMatchObject({ expiresAtMs: null });
      await store.addCredential(cred('newer', 's-c'), 9000);
      // An earlier expiry is never pushed later by a second rotation.
      expect(await store.findCredential('old')).toMatchObject({ expiresAtMs: 5000 });
      expect(await store.findCredential('new')).toMatchObject({ expiresAtMs: 9000 });
      expect((await store.credentialsOf('s-c')).map((c) => c.id)).toEqual(['old', 'new', 'newer']);
      await store.revokeDevice('s-c', 7000);
      expect(await store.getDevice('s-c')).toMatchObject({ status: 'revoked', revokedAtMs: 7000 });
      for (const c of await store.credentialsOf('s-c')) expect(c.revokedAtMs).toBe(7000);
    });

    it('replaces a credential hash only while it is the expected one (compare-and-set), keeping expiry and revocation', async () => {
      await store.createDevice(device('s-r'), cred('cr', 's-r'));
      await store.addCredential(cred('cr2', 's-r'), 8000);
      expect(await store.replaceCredentialHash('cr', 'hash-cr', '$hmac-sha256$k1$new')).toBe(true);
      expect(await store.findCredential('cr')).toMatchObject({ deviceId: 's-r', secretHash: '$hmac-sha256$k1$new', expiresAtMs: 8000, revokedAtMs: null });
      // Someone else replaced it first: the stale expectation changes nothing.
      expect(await store.replaceCredentialHash('cr', 'hash-cr', '$hmac-sha256$k1$other')).toBe(false);
      expect(await store.findCredential('cr')).toMatchObject({ secretHash: '$hmac-sha256$k1$new' });
      expect(await store.replaceCredentialHash('ghost', 'hash-ghost', 'x')).toBe(false);
      // The other credential of the device is untouched.
      expect(await store.findCredential('cr2')).toMatchObject({ secretHash: 'hash-cr2', expiresAtMs: null });
      await store.revokeDevice('s-r', 9000);
      expect(await store.replaceCredentialHash('cr2', 'hash-cr2', 'y')).toBe(true);
      expect(await store.findCredential('cr2')).toMatchObject({ secretHash: 'y', revokedAtMs: 9000 });
    });

    it('records presence: last seen only moves forward; online follows the latest update', async () => {
      await store.createDevice(device('s-p'), cred('cp', 's-p'));
      await store.recordPresence([{ deviceId: 's-p', lastSeenAtMs: 2000, online: true }]);
      expect(await store.getDevice('s-p')).toMatchObject({ lastSeenAtMs: 2000, online: true });
      await store.recordPresence([{ deviceId: 's-p', lastSeenAtMs: 1500 }, { deviceId: 'ghost', lastSeenAtMs: 1 }]);
      expect(await store.getDevice('s-p')).toMatchObject({ lastSeenAtMs: 2000, online: true });
      await store.recordPresence([{ deviceId: 's-p', lastSeenAtMs: 3000, online: false }]);
      expect(await store.getDevice('s-p')).toMatchObject({ lastSeenAtMs: 3000, online: false, battery: null });
      // Battery: the newest measurement wins; an update may carry only the battery.
      await store.recordPresence([{ deviceId: 's-p', battery: { percent: 80, atMs: 5000 } }]);
      await store.recordPresence([{ deviceId: 's-p', lastSeenAtMs: 3500, battery: { percent: 95, atMs: 4000 } }]);
      expect(await store.getDevice('s-p')).toMatchObject({ lastSeenAtMs: 3500, online: false, battery: { percent: 80, atMs: 5000 } });
      await store.recordPresence([{ deviceId: 's-p', battery: { percent: 12.5, atMs: 6000 } }]);
      expect((await store.getDevice('s-p'))?.battery).toEqual({ percent: 12.5, atMs: 6000 });
    });

    it("lists a patient's assignments of every device, current and past, oldest first", async () => {
      for (const p of ['p-x', 'p-y']) await store.createPatient({ id: p, organizationId: null, createdAtMs: 1 });
      await store.createDevice(device('s-x1'), cred('cx1', 's-x1'), { deviceId: 's-x1', patientId: 'p-x', fromMs: 100 });
      await store.createDevice(device('s-x2'), cred('cx2', 's-x2'), { deviceId: 's-x2', patientId: 'p-y', fromMs: 50 });
      await store.assign({ deviceId: 's-x2', patientId: 'p-x', fromMs: 300 });
      await store.assign({ deviceId: 's-x1', patientId: 'p-y', fromMs: 400 });
      expect(await store.assignmentsOfPatient('p-x')).toEqual([
        { deviceId: 's-x1', patientId: 'p-x', fromMs: 100, toMs: 400 },
        { deviceId: 's-x2', patientId: 'p-x', fromMs: 300, toMs: null },
      ]);
      expect(await store.assignmentsOfPatient('nobody')).toEqual([]);
    });

    it('lists devices in id order with keyset paging', async () => {
      for (const id of ['d-c', 'd-a', 'd-b']) await store.createDevice(device(id), cred(`c-${id}`, id));
      expect((await store.listDevices({ limit: 2 })).map((d) => d.id)).toEqual(['d-a', 'd-b']);
      expect((await store.listDevices({ limit: 2, afterId: 'd-b' })).map((d) => d.id)).toEqual(['d-c']);
    });
  });
}
