import { describe, expect, it } from 'vitest';
import { InFlightKeys } from './in-flight.js';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('InFlightKeys: one exchange per Observation identifier at a time', () => {
  it('lets a second holder of a key in only after the first released it; disjoint keys go together', async () => {
    const keys = new InFlightKeys();
    const order: string[] = [];
    const releaseA = await keys.acquire(['x', 'y']);
    const b = keys.acquire(['y', 'z']).then((release) => {
      order.push('b');
      return release;
    });
    const c = keys.acquire(['w']).then((release) => {
      order.push('c');
      return release;
    });
    await tick();
    expect(order).toEqual(['c']);
    order.push('a released');
    releaseA();
    (await b)();
    (await c)();
    expect(order).toEqual(['c', 'a released', 'b']);
    expect(keys.size).toBe(0);
  });

  it('never deadlocks: an exchange takes all its keys at once, only when none is held', async () => {
    const keys = new InFlightKeys();
    const held = await keys.acquire(['a']);
    const got: number[] = [];
    // Each releases as soon as it holds its keys (an exchange answered).
    const waiting = [keys.acquire(['a', 'b']), keys.acquire(['b', 'a']), keys.acquire(['b'])].map((w, i) =>
      w.then((release) => {
        got.push(i);
        release();
      }),
    );
    await tick();
    // 'b' alone was free; the two that need 'a' wait for it.
    expect(got).toEqual([2]);
    held();
    await Promise.all(waiting);
    expect(got.sort()).toEqual([0, 1, 2]);
    expect(keys.size).toBe(0);
  });

  it('stops waiting when the exchange is cancelled (shutdown)', async () => {
    const keys = new InFlightKeys();
    const release = await keys.acquire(['a']);
    const abort = new AbortController();
    const waiting = keys.acquire(['a'], abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'RPM_ERR_SHUTTING_DOWN' });
    release();
    expect(keys.size).toBe(0);
  });
});
