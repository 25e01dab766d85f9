import { RpmError } from '../../core/errors/rpm-error.js';

/**
 * Keys (Observation identifiers) with an exchange in flight at one destination. A second
 * delivery of the same identifier waits until the first has its answer, whatever write path the
 * server's capabilities chose: search-then-create would otherwise create it twice (both searches
 * find nothing), and a server's conditional create is not atomic everywhere either.
 *
 * An exchange takes all its keys at once, and only when none of them is held, so two exchanges
 * never wait for each other (no deadlock).
 */
export class InFlightKeys {
  private readonly held = new Map<string, Promise<void>>();

  get size(): number {
    return this.held.size;
  }

  /** Waits until no key is held, then holds them all; call the returned function when answered. */
  async acquire(keys: Iterable<string>, signal?: AbortSignal): Promise<() => void> {
    const unique = [...new Set(keys)];
    for (;;) {
      const busy = new Set<Promise<void>>();
      for (const k of unique) {
        const p = this.held.get(k);
        if (p !== undefined) busy.add(p);
      }
      if (busy.size === 0) break;
      await waitOrAbort(Promise.all(busy), signal);
    }
    let release: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (const k of unique) this.held.set(k, done);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of unique) if (this.held.get(k) === done) this.held.delete(k);
      release();
    };
  }
}

function waitOrAbort(p: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return p.then(() => undefined);
  if (signal.aborted) return Promise.reject(new RpmError('RPM_ERR_SHUTTING_DOWN', 'cancelled while waiting for an exchange in flight'));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(new RpmError('RPM_ERR_SHUTTING_DOWN', 'cancelled while waiting for an exchange in flight'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
    );
  });
}
