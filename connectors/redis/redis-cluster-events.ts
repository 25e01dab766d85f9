import { Redis } from 'ioredis';
import type { ClusterEvents, WorkJobData } from '../../core/ports/work-bus.js';

export interface RedisClusterEventsOptions {
  readonly url: string;
  /** Channel prefix (a cluster's processes share it; tests use their own). */
  readonly prefix?: string;
  readonly onError?: (err: Error) => void;
}

/**
 * ClusterEvents on Redis pub/sub: at most once, to whoever listens now. Receivers treat a
 * message as "go and read", so a lost one costs freshness, never data; after a reconnect they are
 * told (`onReconnect`) so they can refresh everything they show.
 */
export class RedisClusterEvents implements ClusterEvents {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Array<(message: WorkJobData) => void>>();
  private readonly reconnectHandlers: Array<() => void> = [];
  private readonly prefix: string;
  private readyOnce = false;

  constructor(options: RedisClusterEventsOptions) {
    this.prefix = options.prefix ?? 'rpm';
    this.pub = new Redis(options.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
    this.sub = new Redis(options.url, { maxRetriesPerRequest: null });
    this.pub.on('error', (err: Error) => options.onError?.(err));
    this.sub.on('error', (err: Error) => options.onError?.(err));
    this.sub.on('ready', () => {
      if (this.readyOnce) for (const h of this.reconnectHandlers) h();
      this.readyOnce = true;
    });
    this.sub.on('message', (channel: string, text: string) => {
      const list = this.handlers.get(channel);
      if (list === undefined) return;
      let message: WorkJobData;
      try {
        message = JSON.parse(text) as WorkJobData;
      } catch {
        return;
      }
      for (const h of list) h(message);
    });
  }

  async publish(channel: string, message: WorkJobData): Promise<void> {
    await this.pub.publish(`${this.prefix}:${channel}`, JSON.stringify(message));
  }

  async subscribe(channel: string, handler: (message: WorkJobData) => void): Promise<void> {
    const full = `${this.prefix}:${channel}`;
    const list = this.handlers.get(full);
    if (list !== undefined) {
      list.push(handler);
      return;
    }
    this.handlers.set(full, [handler]);
    await this.sub.subscribe(full);
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
