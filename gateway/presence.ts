import type { Logger } from '../core/logging.js';
import type { PresenceUpdate, RegistryStore } from '../core/ports/registry-store.js';

/**
 * Last-seen and online/offline per device. Seen-times are kept in memory and written in one
 * transaction every few seconds, so a busy device costs no extra write per reading.
 */
export class PresenceTracker {
  private readonly pending = new Map<string, { lastSeenAtMs: number; online?: boolean }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly registry: RegistryStore,
    private readonly log: Logger,
  ) {}

  seen(deviceId: string, atMs: number): void {
    const p = this.pending.get(deviceId);
    if (p === undefined) this.pending.set(deviceId, { lastSeenAtMs: atMs });
    else if (atMs > p.lastSeenAtMs) p.lastSeenAtMs = atMs;
  }

  /** An MQTT session opened. A device may hold several (e.g. TCP and WebSocket). */
  connected(deviceId: string, atMs: number): void {
    this.sessions.set(deviceId, (this.sessions.get(deviceId) ?? 0) + 1);
    this.seen(deviceId, atMs);
    const p = this.pending.get(deviceId);
    if (p !== undefined) p.online = true;
  }

  disconnected(deviceId: string, atMs: number): void {
    const left = (this.sessions.get(deviceId) ?? 1) - 1;
    if (left > 0) this.sessions.set(deviceId, left);
    else this.sessions.delete(deviceId);
    this.seen(deviceId, atMs);
    const p = this.pending.get(deviceId);
    if (p !== undefined) p.online = left > 0;
  }

  isOnline(deviceId: string): boolean {
    return this.sessions.has(deviceId);
  }

  start(intervalMs = 5000): void {
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.log.warn({ err }, 'presence flush failed'));
    }, intervalMs);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const updates: PresenceUpdate[] = [];
    for (const [deviceId, p] of this.pending) {
      updates.push(p.online === undefined ? { deviceId, lastSeenAtMs: p.lastSeenAtMs } : { deviceId, lastSeenAtMs: p.lastSeenAtMs, online: p.online });
    }
    this.pending.clear();
    await this.registry.recordPresence(updates);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const deviceId of this.sessions.keys()) this.seen(deviceId, Date.now());
    for (const [, p] of this.pending) p.online = false;
    this.sessions.clear();
    await this.flush();
  }
}
