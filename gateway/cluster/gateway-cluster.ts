import type { Logger } from '../../core/logging.js';
import type { Leases } from '../../core/ports/leases.js';
import type { ClusterEvents, WorkBus } from '../../core/ports/work-bus.js';
import type { MqttClusterParts } from '../mqtt/broker.js';

/** What a gateway of the distributed mode shares with the rest of the cluster. */
export interface GatewayCluster {
  readonly bus: WorkBus;
  readonly events: ClusterEvents;
  readonly leases: Leases;
  readonly mqtt: MqttClusterParts & { close(): Promise<void> };
  /**
   * Runs `start` while this process holds the named lease, `stop` when it loses it; another
   * gateway takes over within a few seconds of this one's death.
   */
  singleton(name: string, start: () => void, stop: () => Promise<void>): void;
  close(): Promise<void>;
}

export interface GatewayClusterParts {
  readonly bus: WorkBus;
  readonly events: ClusterEvents;
  readonly leases: Leases;
  readonly mqtt: MqttClusterParts & { close(): Promise<void> };
}

const SINGLETON_ROUND_MS = 5000;

export function gatewayCluster(parts: GatewayClusterParts, log: Logger): GatewayCluster {
  const singletons: Array<{ name: string; running: boolean; start: () => void; stop: () => Promise<void> }> = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const round = async (): Promise<void> => {
    for (const s of singletons) {
      if (s.running || closed) continue;
      if (await parts.leases.tryAcquire(s.name).catch(() => false)) {
        s.running = true;
        log.info({ lease: s.name }, 'holding a cluster-wide singleton');
        s.start();
      }
    }
  };
  parts.leases.onLost((names) => {
    for (const s of singletons) {
      if (!names.includes(s.name) || !s.running) continue;
      s.running = false;
      s.stop().catch((err: unknown) => log.error({ err, lease: s.name }, 'stopping a singleton whose lease was lost failed'));
    }
  });
  const schedule = (): void => {
    timer = setTimeout(() => {
      round()
        .catch((err: unknown) => log.warn({ err }, 'singleton lease round failed'))
        .finally(() => {
          if (!closed) schedule();
        });
    }, SINGLETON_ROUND_MS);
    timer.unref();
  };
  return {
    ...parts,
    singleton(name, start, stop) {
      singletons.push({ name, running: false, start, stop });
      void round().catch((err: unknown) => log.warn({ err }, 'singleton lease round failed'));
      if (timer === undefined) schedule();
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const s of singletons) if (s.running) await s.stop().catch(() => undefined);
      await parts.leases.close();
      await parts.bus.close();
      await parts.events.close();
      await parts.mqtt.close();
    },
  };
}
