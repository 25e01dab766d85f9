import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.js';

/** A task that finishes when the test says so, recording the order tasks started in. */
function harness() {
  const started: string[] = [];
  const finishers: Array<() => void> = [];
  const task = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      finishers.push(() => resolve(name));
    });
  const finishOne = async (): Promise<void> => {
    finishers.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { started, task, finishOne };
}

describe('FairQueue', () => {
  it('serves waiting work round-robin across sources, and the priority lane first', async () => {
    const q = new FairQueue({ concurrency: 1, maxWaitingPerSource: 10, maxWaiting: 100 });
    const h = harness();
    const all: Promise<unknown>[] = [];
    all.push(q.run('flood', h.task('flood-0')));
    for (let i = 1; i <= 4; i++) all.push(q.run('flood', h.task(`flood-${i}`)));
    all.push(q.run('nurse-a', h.task('nurse-a')));
    all.push(q.run('nurse-b', h.task('nurse-b')));
    all.push(q.run('known', h.task('known'), { priority: true }));
    expect(q.queued).toBe(7);
    for (let i = 0; i < 8; i++) await h.finishOne();
    await Promise.all(all);
    // The known address first; then one turn per address per round, the flood's backlog last.
    expect(h.started).toEqual(['flood-0', 'known', 'flood-1', 'nurse-a', 'nurse-b', 'flood-2', 'flood-3', 'flood-4']);
  });

  it('refuses more waiting work from one source (429) and in all (503) instead of queueing without bound', async () => {
    const q = new FairQueue({ concurrency: 1, maxWaitingPerSource: 2, maxWaiting: 3 });
    const h = harness();
    void q.run('a', h.task('a0'));
    void q.run('a', h.task('a1'));
    void q.run('a', h.task('a2'));
    await expect(q.run('a', h.task('a3'))).rejects.toMatchObject({ code: 'RPM_ERR_RATE_LIMITED' });
    void q.run('b', h.task('b0'));
    await expect(q.run('c', h.task('c0'))).rejects.toMatchObject({ code: 'RPM_ERR_OVERLOADED' });
    expect(q.queued).toBe(3);
  });
});
