import { describe, expect, it } from 'vitest';
import type { AuditEntry, SealedAuditEntry } from '../ports/audit-log.js';
import { auditHash, ChainVerifier, GENESIS_HASH, parseAnchor, seal } from './chain.js';

const entry = (i: number): AuditEntry => ({
  atMs: 1000 + i,
  actor: 'staff:s-1',
  action: 'readings.read',
  subject: `patient:p-${i}`,
  outcome: 'success',
  sourceIp: null,
  details: { b: 2, a: i },
  patientIds: ['p-9', 'p-1'],
});

function chainOf(n: number): SealedAuditEntry[] {
  const out: SealedAuditEntry[] = [];
  for (let i = 1; i <= n; i++) out.push(seal(out[out.length - 1] ?? null, entry(i)));
  return out;
}

const verify = (entries: readonly SealedAuditEntry[], anchor?: { seq: number; hash: string }) => {
  const v = new ChainVerifier();
  for (const e of entries) {
    if (anchor !== undefined && !v.checkAnchor(e, anchor)) break;
    if (!v.add(e)) break;
  }
  return v.finish(anchor);
};

describe('audit hash chain', () => {
  it('hashes a canonical form: detail key order and patient order do not matter, content does', () => {
    const a = seal(null, entry(1));
    expect(a.prevHash).toBe(GENESIS_HASH);
    expect(a.patientIds).toEqual(['p-1', 'p-9']);
    expect(auditHash(1, { ...entry(1), details: { a: 1, b: 2 }, patientIds: ['p-1', 'p-9'] }, GENESIS_HASH)).toBe(a.hash);
    expect(auditHash(1, { ...entry(1), details: { a: 1, b: 3 } }, GENESIS_HASH)).not.toBe(a.hash);
    expect(auditHash(2, entry(1), GENESIS_HASH)).not.toBe(a.hash);
  });

  it('verifies an intact chain and names the first broken link otherwise', () => {
    const chain = chainOf(5);
    expect(verify(chain)).toEqual({ ok: true, entries: 5, head: { seq: 5, hash: chain[4]?.hash } });
    const edited = chain.map((e) => (e.seq === 3 ? { ...e, outcome: 'denied' as const } : e));
    expect(verify(edited)).toMatchObject({ ok: false, brokenAt: 3, reason: 'content-hash-mismatch' });
    const rehashed = chain.map((e) => (e.seq === 3 ? seal(chain[1] ?? null, { ...entry(3), actor: 'admin' }) : e));
    expect(verify(rehashed)).toMatchObject({ ok: false, brokenAt: 4, reason: 'previous-hash-mismatch' });
    expect(verify(chain.filter((e) => e.seq !== 2))).toMatchObject({ ok: false, brokenAt: 3, reason: 'sequence-gap' });
  });

  it('catches a truncated or rewritten log against an anchor kept elsewhere', () => {
    const chain = chainOf(6);
    const anchor = parseAnchor(`5:${chain[4]?.hash}`);
    expect(anchor).toEqual({ seq: 5, hash: chain[4]?.hash });
    expect(verify(chain, anchor)).toMatchObject({ ok: true });
    expect(verify(chain.slice(0, 4), anchor)).toMatchObject({ ok: false, reason: 'anchor-mismatch', brokenAt: 5 });
    // Rewritten from entry 2 on, consistently: the chain verifies by itself, the anchor does not match.
    const forged: SealedAuditEntry[] = [chain[0] as SealedAuditEntry];
    for (let i = 2; i <= 6; i++) forged.push(seal(forged[forged.length - 1] ?? null, { ...entry(i), actor: 'admin' }));
    expect(verify(forged)).toMatchObject({ ok: true });
    expect(verify(forged, anchor)).toMatchObject({ ok: false, reason: 'anchor-mismatch', brokenAt: 5 });
    expect(parseAnchor('5:nothex')).toBeUndefined();
  });
});
