import type { Logger } from '../../core/logging.js';
import type { Leases, Membership } from '../../core/ports/leases.js';

export interface WorkOwnerDeps {
  readonly leases: Leases;
  readonly membership: Membership;
  readonly log: Logger;
  /** The units of work to share, by lease name (rule partitions, FHIR destinations, …); read each round. */
  readonly units: () => Promise<readonly string[]> | readonly string[];
  /** This process now holds `unit`: start its work. */
  readonly start: (unit: string) => Promise<void>;
  /** This process is giving `unit` up (or lost it): stop its work before the lease goes. */
  readonly stop: (unit: string) => Promise<void>;
  /** Where this process starts looking for free units (spreads first claims when workers start together). */
  readonly seed: number;
  readonly roundMs: number;
}

/**
 * Shares units of work among the live processes of a role, each unit held by one process at a
 * time (a lease). Every round: say we are alive, count the live processes, keep a fair share
 * (units ÷ processes, rounded up), give up the excess, and take free units up to the share. A
 * unit nobody has held for two rounds is taken even past the share, so the work of a process
 * that died moves at once (its leases ended with its connection), not only when it stops being
 * counted as alive; the share is evened out again in later rounds.
 */
export class WorkOwner {
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private readonly running = new Set<string>();
  private readonly freeRounds = new Map<string, number>();
  private stopped = false;

  constructor(private readonly deps: WorkOwnerDeps) {
    deps.leases.onLost((names) => {
      deps.log.warn({ units: names.length }, 'leases lost (store connection broken); stopping their work until they are taken again');
      for (const name of names) void this.stopUnit(name);
    });
  }

  /** Units whose work runs here now. */
  owned(): ReadonlySet<string> {
    return this.running;
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.round = this.rebalance()
        .catch((err: unknown) => this.deps.log.warn({ err }, 'work rebalance failed; trying again next round'))
        .finally(() => {
          this.round = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.deps.roundMs);
        });
    };
    tick();
  }

  /** Runs one round now (tests, and a process that just learned of a new unit). */
  async rebalance(): Promise<void> {
    const { leases, membership } = this.deps;
    await membership.heartbeat();
    const units = [...(await this.deps.units())].sort();
    const live = Math.max(1, (await membership.live()).length);
    const share = Math.ceil(units.length / live);
    const known = new Set(units);

    // Units that no longer exist (a deleted destination) stop here.
    for (const name of [...this.running]) if (!known.has(name)) await this.release(name);

    const held = units.filter((u) => this.running.has(u));
    // Give up the excess, keeping the ones we have held longest (the start of the list).
    for (const name of held.slice(share)) await this.release(name);

    const offset = units.length === 0 ? 0 : this.deps.seed % units.length;
    const order = [...units.slice(offset), ...units.slice(0, offset)];
    let count = Math.min(held.length, share);
    for (const name of order) {
      if (this.stopped) return;
      if (this.running.has(name)) continue;
      const orphaned = (this.freeRounds.get(name) ?? 0) >= 2;
      if (count >= share && !orphaned) {
        // Probe without keeping: a unit free for two rounds is one whose holder died.
        if (await leases.tryAcquire(name)) {
          await leases.release(name);
          this.freeRounds.set(name, (this.freeRounds.get(name) ?? 0) + 1);
        } else this.freeRounds.delete(name);
        continue;
      }
      if (await leases.tryAcquire(name)) {
        this.freeRounds.delete(name);
        this.running.add(name);
        count += 1;
        try {
          await this.deps.start(name);
        } catch (err) {
          this.deps.log.error({ err, unit: name }, 'work unit failed to start; giving it up');
          await this.release(name);
        }
      } else this.freeRounds.delete(name);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.round;
    // All at once: each unit's stop waits on its own connections (a pass to finish, a consumer to close).
    await Promise.all([...this.running].map((name) => this.release(name).catch((err: unknown) => this.deps.log.warn({ err, unit: name }, 'releasing a unit failed'))));
    await this.deps.membership.leave().catch(() => undefined);
  }

  private async release(name: string): Promise<void> {
    await this.stopUnit(name);
    await this.deps.leases.release(name);
  }

  private async stopUnit(name: string): Promise<void> {
    if (!this.running.delete(name)) return;
    try {
      await this.deps.stop(name);
    } catch (err) {
      this.deps.log.error({ err, unit: name }, 'work unit failed to stop cleanly');
    }
  }
}
