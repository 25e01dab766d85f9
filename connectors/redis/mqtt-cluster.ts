import aedesPersistenceRedis from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import type { MQEmitter } from 'mqemitter';

export interface RedisMqttClusterOptions {
  /** redis:// or rediss:// URL. */
  readonly url: string;
  /**
   * Prefix of every key the broker keeps (sessions, subscriptions, QoS 1 messages in flight), so
   * that several clusters (or tests) can share one Redis. Gateways of one cluster use the same one.
   */
  readonly keyPrefix?: string;
  /**
   * Connection problems (Redis restarting, unreachable). Reported, never thrown: an 'error' event
   * without a listener would end the process, and ioredis reconnects by itself.
   */
  readonly onError?: (err: Error) => void;
}

/** The two pieces aedes takes to run as one broker across processes. */
export interface RedisMqttCluster {
  /** Message fan-out between gateways (Redis pub/sub). */
  readonly mq: MQEmitter;
  /** Sessions, subscriptions, retained and in-flight messages, shared by every gateway. */
  readonly persistence: unknown;
  /** Closes the persistence's connection; aedes closes `mq` itself when it closes. */
  close(): Promise<void>;
}

/**
 * aedes across gateway processes over Redis: `mqemitter-redis` carries publishes to the gateway
 * that holds the subscriber (a command for a device reaches it on whichever node it is connected
 * to), and `aedes-persistence-redis` keeps sessions, so a device reconnecting on another node
 * finds its subscriptions and queued QoS 1 messages, and a client id connecting on a second node
 * takes the session over (aedes announces new clients to every broker through the emitter).
 *
 * Nothing here holds a reading: a reading's PUBACK still follows its commit to the primary store.
 * A Redis that loses its data loses only sessions: devices reconnect and subscribe again (they
 * do on every CONNECT with clean start), and unacknowledged readings are resent by the devices.
 */
export function createRedisMqttCluster(options: RedisMqttClusterOptions): RedisMqttCluster {
  const mq = MQEmitterRedis({ connectionString: options.url });
  const report = (err: Error): void => options.onError?.(err);
  // mqemitter-redis re-emits its connections' errors on `state`.
  (mq as unknown as { state: { on(event: 'error', listener: (err: Error) => void): void } }).state.on('error', report);
  const conn = new Redis(options.url, { keyPrefix: options.keyPrefix ?? 'rpm:mqtt:', lazyConnect: false, maxRetriesPerRequest: null });
  conn.on('error', report);
  const persistence = aedesPersistenceRedis({ conn }) as { destroy(): Promise<void> | void };
  let closed = false;
  return {
    mq,
    persistence,
    async close() {
      if (closed) return;
      closed = true;
      await persistence.destroy();
    },
  };
}
