import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry, AuditLog } from '../ports/audit-log.js';

/**
 * The AuditLog contract, run by every adapter against its real backend. `make` returns a fresh,
 * empty log. What the admin audit route and the services that audit (reads of patient data,
 * nurse actions, FHIR disclosures, logins) rely on: entries come back exactly as recorded, newest
 * recorded first, filtered by subject; nothing recorded is ever lost or changed by later records.
 */
export function auditLogContract(name: string, make: () => Promise<{ log: AuditLog; dispose: () => Promise<void> }>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let log: AuditLog;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ log, dispose } = await make());
    });
    afterEach(async () => dispose());

    const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
      atMs: 1_000,
      actor: 'staff:n-1',
      action: 'readings.read',
      subject: 'patient:p-1',
      outcome: 'success',
      sourceIp: '10.0.0.7',
      details: { count: 3, kinds: 'spo2,heart-rate', truncated: false, cursor: null },
      ...overrides,
    });

    it('returns entries exactly as recorded, newest recorded first', async () => {
      const a = entry();
      const b = entry({ atMs: 2_000, actor: 'admin', action: 'device.revoke', subject: 'device:d-1', outcome: 'denied', sourceIp: null, details: null });
      const c = entry({ atMs: 3_000, actor: 'device:d-1', action: 'fhir.disclose', subject: 'patient:p-2', outcome: 'error', details: { destination: 'ehr-1', observations: 2 } });
      for (const e of [a, b, c]) await log.record(e);
      expect(await log.list({ limit: 10 })).toEqual([c, b, a]);
      expect(await log.list({ limit: 2 })).toEqual([c, b]);
      expect(await log.list({ limit: 10, subjectId: 'patient:p-1' })).toEqual([a]);
      expect(await log.list({ limit: 10, subjectId: 'patient:nobody' })).toEqual([]);
    });

    it('orders by recording, not by the clock: an entry stamped earlier but recorded later is newer', async () => {
      // A clock stepped back (NTP) or a slow request that recorded late.
      await log.record(entry({ atMs: 5_000, action: 'first' }));
      await log.record(entry({ atMs: 4_000, action: 'second' }));
      await log.record(entry({ atMs: 4_000, action: 'third' }));
      expect((await log.list({ limit: 10 })).map((e) => e.action)).toEqual(['third', 'second', 'first']);
    });

    it('keeps every one of many concurrent records, each once, unchanged by the others', async () => {
      const entries = Array.from({ length: 60 }, (_, i) => entry({ atMs: 10_000 + i, action: `a-${i}`, subject: `patient:p-${i % 3}` }));
      await Promise.all(entries.map((e) => log.record(e)));
      const listed = await log.list({ limit: 1000 });
      expect(listed).toHaveLength(60);
      expect(listed.map((e) => e.action).sort()).toEqual(entries.map((e) => e.action).sort());
      for (const e of listed) expect(e).toEqual(entries.find((x) => x.action === e.action));
      expect((await log.list({ limit: 1000, subjectId: 'patient:p-1' })).every((e) => e.subject === 'patient:p-1')).toBe(true);
      expect(await log.list({ limit: 1000, subjectId: 'patient:p-1' })).toHaveLength(20);
      // Later records leave earlier ones as they were.
      const before = await log.list({ limit: 1000 });
      await log.record(entry({ action: 'later' }));
      expect((await log.list({ limit: 1000 })).slice(1)).toEqual(before);
    });
  });
}
