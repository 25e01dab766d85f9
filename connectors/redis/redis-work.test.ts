import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WorkJob, WorkJobData } from '../../core/ports/work-bus.js';
import { dropRedisPrefix, freshRedisPrefix, type OwnRedis, REDIS_TEST_URL, requireRedis, startOwnRedis } from '../../test/helpers/redis.js';
import { BullWorkBus } from './bullmq-work-bus.js';
import { RedisClusterEvents } from './redis-cluster-events.js';

const prefixes: string[] = [];
const prefix = (): string => {
  const p = freshRedisPrefix();
  prefixes.push(p);
  return p;
};

beforeAll(async () => requireRedis());
afterAll(async () => {
  for (const p of prefixes) await dropRedisPrefix(p);
});

describe('BullWorkBus on the real Redis', () => {
  const buses: BullWorkBus[] = [];
  afterEach(async () => {
    for (const b of buses.splice(0)) await b.close();
  });
  const bus = (p: string, url = REDIS_TEST_URL): BullWorkBus => {
    const b = new BullWorkBus({ url, prefix: p });
    buses.push(b);
    return b;
  };

  it('delivers posts to the unit’s consumer in order, one at a time, across processes’ connections', async () => {
    const p = prefix();
    const producer = bus(p);
    const consumer = bus(p);
    const seen: WorkJob[] = [];
    let active = 0;
    let maxActive = 0;
    const close = await consumer.consume('rules:16:3', async (job) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 5));
      seen.push(job);
      active--;
    });
    await producer.post(Array.from({ length: 20 }, (_, i) => ({ unit: 'rules:16:3', job: { name: 'committed', data: { seq: i + 1 } } })));
    await producer.post([{ unit: 'rules:16:4', job: { name: 'committed', data: { seq: 99 } } }]);
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(20);
    expect(seen.map((j) => j.data.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(seen.every((j) => j.name === 'committed')).toBe(true);
    expect(maxActive).toBe(1);
    await close();
  });

  it('an id makes a post idempotent while its job waits', async () => {
    const p = prefix();
    const b = bus(p);
    await b.post([
      { unit: 'notifications', job: { name: 'send', data: { id: 'n-1' } }, id: 'n-1' },
      { unit: 'notifications', job: { name: 'send', data: { id: 'n-1' } }, id: 'n-1' },
      { unit: 'notifications', job: { name: 'send', data: { id: 'n-2' } }, id: 'n-2' },
    ]);
    const seen: WorkJobData[] = [];
    const close = await b.consume('notifications', async (job) => void seen.push(job.data));
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2);
    await close();
  });

  it('repeats a job on the clock, once per tick whoever consumes, and survives being upserted again', async () => {
    const p = prefix();
    const a = bus(p);
    const b = bus(p);
    let runs = 0;
    await a.repeat('timers', 'sla', { name: 'sla', data: {} }, 200);
    await b.repeat('timers', 'sla', { name: 'sla', data: {} }, 200);
    const closeA = await a.consume('timers', async () => void runs++);
    const closeB = await b.consume('timers', async () => void runs++);
    await new Promise((r) => setTimeout(r, 1300));
    await closeA();
    await closeB();
    // Two schedulers upserted under one key are one: about 6 ticks in 1.3 s, never 12.
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(runs).toBeLessThanOrEqual(8);
  });

  describe('with a Redis that restarts and loses everything', () => {
    let own: OwnRedis;
    beforeAll(async () => {
      own = await startOwnRedis();
    });
    afterAll(async () => own.stop());

    it('posts fail fast while Redis is down (callers never wait on a nudge), and the bus works again after', async () => {
      const p = prefix();
      const b = bus(p, own.url);
      const seen: WorkJobData[] = [];
      const close = await b.consume('timeseries', async (job) => void seen.push(job.data));
      await b.post([{ unit: 'timeseries', job: { name: 'committed', data: { seq: 1 } } }]);
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1);

      await own.kill();
      const t0 = Date.now();
      await expect(b.post([{ unit: 'timeseries', job: { name: 'committed', data: { seq: 2 } } }])).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(5000);

      await own.start();
      // The consumer reconnects by itself; a scheduler lost with the data is upserted again by its owner.
      await expect
        .poll(
          async () => {
            await b.post([{ unit: 'timeseries', job: { name: 'committed', data: { seq: 3 } } }]).catch(() => undefined);
            return seen.some((d) => d.seq === 3);
          },
          { timeout: 20_000, interval: 500 },
        )
        .toBe(true);
      await close();
    });
  });
});

describe('RedisClusterEvents on the real Redis', () => {
  it('fans a message out to every subscriber and tells them when they reconnect', async () => {
    const own = await startOwnRedis();
    const p = prefix();
    const a = new RedisClusterEvents({ url: own.url, prefix: p });
    const b = new RedisClusterEvents({ url: own.url, prefix: p });
    try {
      const gotA: WorkJobData[] = [];
      const gotB: WorkJobData[] = [];
      let reconnects = 0;
      await a.subscribe('alerts', (m) => void gotA.push(m));
      await b.subscribe('alerts', (m) => void gotB.push(m));
      b.onReconnect(() => void reconnects++);
      await a.publish('alerts', { alertId: 'a-1', change: 'created' });
      await expect.poll(() => gotA.length + gotB.length, { timeout: 5000 }).toBe(2);
      expect(gotB[0]).toEqual({ alertId: 'a-1', change: 'created' });

      await own.kill();
      await own.start();
      await expect.poll(() => reconnects, { timeout: 20_000 }).toBe(1);
      // Subscriptions come back with the connection.
      await expect
        .poll(
          async () => {
            await a.publish('alerts', { alertId: 'a-2', change: 'updated' }).catch(() => undefined);
            return gotB.some((m) => m.alertId === 'a-2');
          },
          { timeout: 20_000, interval: 300 },
        )
        .toBe(true);
    } finally {
      await a.close();
      await b.close();
      await own.stop();
    }
  });
});
