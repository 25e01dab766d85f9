import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStores, type SqliteStores } from '../connectors/sqlite/index.js';
import { createLogger } from '../core/logging.js';
import { makeReading } from '../test/helpers/readings.js';
import { GroupCommitter, type GroupCommitOptions } from './group-committer.js';

const log = createLogger('silent');

describe('GroupCommitter over a real SQLite store', () => {
  let stores: SqliteStores;
  const open = (options: Partial<GroupCommitOptions> = {}): GroupCommitter => {
    stores = createSqliteStores({ path: ':memory:', synchronous: 'FULL' });
    return new GroupCommitter(stores.readings, { maxBatch: 100, maxPending: 1000, lingerMs: 0, ...options }, log);
  };
  afterEach(async () => stores.close());

  it('commits everything submitted in one turn of the event loop as one transaction', async () => {
    const c = open();
    const [a, b, dup] = [makeReading(), makeReading(), makeReading()];
    const results = await Promise.all([
      c.submit({ readings: [a, b], rejections: [] }),
      c.submit({ readings: [{ ...dup, id: a.id, idempotencyKey: a.idempotencyKey }], rejections: [] }),
    ]);
    expect(results).toMatchObject([
      [
        { status: 'accepted', id: a.id },
        { status: 'accepted', id: b.id },
      ],
      [{ status: 'duplicate', id: a.id }],
    ]);
    expect(c.stats).toMatchObject({ commits: 1, committedRows: 3, pending: 0 });
    expect(await stores.readings.countReadings()).toBe(2);
  });

  it('splits groups at maxBatch without splitting a submission', async () => {
    const c = open({ maxBatch: 3 });
    await Promise.all([
      c.submit({ readings: [makeReading(), makeReading()], rejections: [] }),
      c.submit({ readings: [makeReading(), makeReading()], rejections: [] }),
      c.submit({ readings: [makeReading(), makeReading(), makeReading(), makeReading()], rejections: [] }),
    ]);
    expect(c.stats.commits).toBe(3);
    expect(await stores.readings.countReadings()).toBe(8);
  });

  it('rejects every submission of a failed transaction with a coded, retriable error, and acknowledges nothing', async () => {
    const c = open();
    await stores.close(); // the store fails for real: its connection is gone
    const results = await Promise.allSettled([c.submit({ readings: [makeReading()], rejections: [] }), c.submit({ readings: [makeReading()], rejections: [] })]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'RPM_ERR_STORE_FAILURE', retryAfterSeconds: 1 });
    }
    expect(c.pending).toBe(0);
    stores = createSqliteStores({ path: ':memory:', synchronous: 'FULL' });
  });

  it('holds the pending bound hard: a submission that does not fit is refused with RPM_ERR_OVERLOADED and Retry-After', async () => {
    // A long linger keeps the first group pending while the others arrive.
    const c = open({ maxPending: 3, lingerMs: 50 });
    const first = c.submit({ readings: [makeReading(), makeReading()], rejections: [] });
    expect(c.pending).toBe(2);
    const tooMany = c.submit({ readings: [makeReading(), makeReading()], rejections: [] });
    await expect(tooMany).rejects.toMatchObject({ code: 'RPM_ERR_OVERLOADED', retryAfterSeconds: 1 });
    const fits = c.submit({ readings: [makeReading()], rejections: [] });
    expect(c.pending).toBe(3);
    expect(c.saturated).toBe(true);
    await Promise.all([first, fits]);
    expect(c.stats).toMatchObject({ pending: 0, peakPending: 3, shed: 1 });
    expect(await stores.readings.countReadings()).toBe(3);
  });

  it('admits waiting submissions in arrival order as commits free room, never past the bound', async () => {
    const c = open({ maxPending: 2, lingerMs: 20 });
    const order: string[] = [];
    const a = c.submit({ readings: [makeReading(), makeReading()], rejections: [] }).then(() => order.push('a'));
    const b = c.submit({ readings: [makeReading(), makeReading()], rejections: [] }, { waitForCapacity: true }).then(() => order.push('b'));
    const d = c.submit({ readings: [makeReading()], rejections: [] }, { waitForCapacity: true }).then(() => order.push('d'));
    expect(c.waiting).toBe(2);
    expect(c.pending).toBe(2);
    // A submission that may not wait is refused while others wait, even if it would fit later.
    await expect(c.submit({ readings: [makeReading()], rejections: [] })).rejects.toMatchObject({ code: 'RPM_ERR_OVERLOADED' });
    await Promise.all([a, b, d]);
    expect(order).toEqual(['a', 'b', 'd']);
    expect(c.stats.peakPending).toBe(2);
    expect(c.waiting).toBe(0);
    expect(await stores.readings.countReadings()).toBe(5);
  });

  it('refuses new work after close, once pending work is committed', async () => {
    const c = open({ lingerMs: 5 });
    const r = makeReading();
    const pending = c.submit({ readings: [r], rejections: [] });
    await c.close();
    await expect(pending).resolves.toMatchObject([{ status: 'accepted', id: r.id }]);
    await expect(c.submit({ readings: [makeReading()], rejections: [] })).rejects.toMatchObject({ code: 'RPM_ERR_SHUTTING_DOWN' });
  });

  it('records rejections in the same transaction', async () => {
    const c = open();
    await c.submit({
      readings: [],
      rejections: [{ deviceId: 'dev-r', receivedAtMs: 1, transport: 'mqtt', code: 'RPM_ERR_REQUEST_MALFORMED_JSON', path: '', message: 'bad', clientId: null, payloadSha256: 'ab' }],
    });
    expect(await stores.readings.listRejections('dev-r', 10)).toEqual([
      { deviceId: 'dev-r', receivedAtMs: 1, transport: 'mqtt', code: 'RPM_ERR_REQUEST_MALFORMED_JSON', path: '', message: 'bad', clientId: null, payloadSha256: 'ab' },
    ]);
  });

  it('tells listeners what was committed, and a failing listener does not undo the commit', async () => {
    const c = open();
    const seen: string[] = [];
    c.onCommitted(() => {
      throw new Error('listener bug');
    });
    c.onCommitted((readings) => seen.push(...readings.map((r) => r.id)));
    const r = makeReading();
    await expect(c.submit({ readings: [r], rejections: [] })).resolves.toHaveLength(1);
    expect(seen).toEqual([r.id]);
    expect(await stores.readings.getReading(r.deviceId, r.idempotencyKey)).toEqual(r);
  });
});
