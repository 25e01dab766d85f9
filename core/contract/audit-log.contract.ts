import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../audit/chain.js';
import type { AuditEntry, AuditLog } from '../ports/audit-log.js';

export interface AuditLogFixture {
  readonly log: AuditLog;
  /** What the gateway's own database role may do: both must be refused by the store itself. */
  readonly tryUpdate: (seq: number) => Promise<void>;
  readonly tryDelete: (seq: number) => Promise<void>;
  /**
   * What someone with direct access to the storage can do despite that (drop the guard, edit, put
   * it back): used to prove that verification catches it.
   */
  readonly tamper: {
    readonly editActor: (seq: number, actor: string) => Promise<void>;
    readonly remove: (seq: number) => Promise<void>;
    readonly removeNewest: (count: number) => Promise<void>;
  };
  /** The same storage opened again, as after a restart. */
  readonly reopen: () => Promise<AuditLog>;
  readonly dispose: () => Promise<void>;
}

/**
 * The AuditLog contract (core/ports/audit-log.ts), run by every adapter against its real backend:
 * the embedded SQLite store today, a PostgreSQL store when one exists.
 */
export function auditLogContract(name: string, make: () => Promise<AuditLogFixture>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let f: AuditLogFixture;
    let log: AuditLog;
    beforeEach(async () => {
      f = await make();
      log = f.log;
    });
    afterEach(async () => f.dispose());

    const entry = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
      atMs: 1_700_000_000_000 + i,
      actor: `staff:s-${i % 3}`,
      action: 'readings.read',
      subject: `patient:p-${i % 4}`,
      outcome: 'success',
      sourceIp: '10.0.0.1',
      details: { n: i, note: null, ok: true },
      ...extra,
    });
    const fill = async (n: number): Promise<void> => {
      for (let i = 1; i <= n; i++) await log.record(entry(i));
    };

    it('numbers entries from 1 in order and chains each to the one before, from the genesis hash', async () => {
      await fill(5);
      const all = await log.range({ afterSeq: 0, limit: 100 });
      expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(all[0]?.prevHash).toBe(GENESIS_HASH);
      for (let i = 1; i < all.length; i++) expect(all[i]?.prevHash).toBe(all[i - 1]?.hash);
      expect(new Set(all.map((e) => e.hash)).size).toBe(5);
      expect(all[2]).toMatchObject({ actor: 'staff:s-0', subject: 'patient:p-3', details: { n: 3, note: null, ok: true }, patientIds: [] });
      expect(await log.head()).toEqual({ seq: 5, hash: all[4]?.hash });
      expect(await log.verify()).toEqual({ ok: true, entries: 5, head: { seq: 5, hash: all[4]?.hash } });
    });

    it('lists newest first, by subject, and pages with beforeSeq', async () => {
      await fill(8);
      expect((await log.list({ limit: 3 })).map((e) => e.seq)).toEqual([8, 7, 6]);
      expect((await log.list({ limit: 3, beforeSeq: 6 })).map((e) => e.seq)).toEqual([5, 4, 3]);
      expect((await log.list({ limit: 10, subjectId: 'patient:p-1' })).map((e) => e.seq)).toEqual([5, 1]);
    });

    it('finds a patient both as the subject and among the patients an access disclosed', async () => {
      await log.record(entry(1, { subject: 'patient:p-9' }));
      await log.record(entry(2, { action: 'worklist.read', subject: 'organization:org-a', patientIds: ['p-9', 'p-2', 'p-9'] }));
      await log.record(entry(3, { action: 'worklist.read', subject: 'organization:org-a', patientIds: ['p-2'] }));
      const ofP9 = await log.list({ limit: 10, subjectId: 'patient:p-9' });
      expect(ofP9.map((e) => e.seq)).toEqual([2, 1]);
      expect(ofP9[0]?.patientIds).toEqual(['p-2', 'p-9']);
      expect((await log.verify()).ok).toBe(true);
    });

    it('keeps one unbroken chain under concurrent writers', async () => {
      await Promise.all(Array.from({ length: 60 }, (_, i) => log.record(entry(i + 1))));
      expect(await log.verify()).toMatchObject({ ok: true, entries: 60 });
    });

    it('is durable and keeps chaining after a restart', async () => {
      await fill(3);
      const again = await f.reopen();
      await again.record(entry(4));
      expect(await again.verify()).toMatchObject({ ok: true, entries: 4 });
    });

    it('returns entries exactly as recorded, and orders by recording, not by the clock', async () => {
      // A clock stepped back (NTP) or a slow request that recorded late: still the newest.
      const first = entry(1, { atMs: 5_000, details: { count: 3, kinds: 'spo2,heart-rate', truncated: false, cursor: null } });
      const second = entry(2, { atMs: 4_000, sourceIp: null, details: null, outcome: 'denied' });
      await log.record(first);
      await log.record(second);
      const [newest, older] = await log.list({ limit: 10 });
      expect(newest).toMatchObject({ ...second, seq: 2, patientIds: [] });
      expect(older).toMatchObject({ ...first, seq: 1, patientIds: [] });
    });

    it('keeps every one of many concurrent records once, each unchanged by later ones', async () => {
      const entries = Array.from({ length: 40 }, (_, i) => entry(i + 1, { action: `a-${i}` }));
      await Promise.all(entries.map((e) => log.record(e)));
      const listed = await log.range({ afterSeq: 0, limit: 100 });
      expect(listed.map((e) => e.action).sort()).toEqual(entries.map((e) => e.action).sort());
      for (const e of listed) expect(e).toMatchObject(entries.find((x) => x.action === e.action) ?? {});
      await log.record(entry(99, { action: 'later' }));
      expect((await log.range({ afterSeq: 0, limit: 100 })).slice(0, 40)).toEqual(listed);
    });

    it('refuses to change or remove an entry', async () => {
      await fill(3);
      const before = await log.range({ afterSeq: 0, limit: 10 });
      await expect(f.tryUpdate(2)).rejects.toThrow(/append-only/);
      await expect(f.tryDelete(2)).rejects.toThrow(/append-only/);
      expect(await log.range({ afterSeq: 0, limit: 10 })).toEqual(before);
    });

    it('names the first broken link when an entry was edited behind its back', async () => {
      await fill(6);
      await f.tamper.editActor(4, 'admin');
      expect(await log.verify()).toMatchObject({ ok: false, brokenAt: 4, reason: 'content-hash-mismatch', entries: 3 });
    });

    it('names the first broken link when an entry was removed', async () => {
      await fill(6);
      await f.tamper.remove(3);
      expect(await log.verify()).toMatchObject({ ok: false, brokenAt: 4, reason: 'sequence-gap', entries: 2 });
    });

    it('cannot see removed newest entries by itself: the head is the anchor to compare with', async () => {
      await fill(6);
      const anchor = await log.head();
      await f.tamper.removeNewest(2);
      expect((await log.verify()).ok).toBe(true);
      expect(await log.head()).not.toEqual(anchor);
    });
  });
}
