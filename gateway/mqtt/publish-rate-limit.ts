import type { Clock } from '../../core/ports/clock.js';

interface Window {
  startMs: number;
  count: number;
  /** The device was told on its errors topic in this window (once is enough). */
  told: boolean;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** Until the device's window resets (0 when allowed and the window is fresh). */
  readonly retryAfterMs: number;
  /** First refusal in this window: the one worth explaining to the device. */
  readonly firstRefusal: boolean;
}

/**
 * Per-device limit on MQTT publishes to the readings topic, counted like HTTP requests
 * (RPM_RATE_LIMIT_PER_DEVICE_PER_MIN): a fixed window per device that starts with its first
 * publish and allows `max` publishes until `windowMs` later — the scheme of the HTTP limiter
 * (@fastify/rate-limit's local store), so one number means the same on both transports. Each
 * transport counts on its own. One publish is one PUBLISH packet on `devices/{id}/readings`,
 * whatever its QoS, DUP flag or number of readings (1..RPM_MAX_READINGS_PER_REQUEST, like one
 * HTTP request).
 */
export class PublishRateLimiter {
  private readonly windows = new Map<string, Window>();
  private lastSweepMs: number;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {
    this.lastSweepMs = clock.now();
  }

  /** Counts one publish of the device. */
  take(deviceId: string): RateDecision {
    const now = this.clock.now();
    this.sweep(now);
    let w = this.windows.get(deviceId);
    if (w === undefined || w.startMs + this.windowMs <= now) {
      w = { startMs: now, count: 0, told: false };
      this.windows.set(deviceId, w);
    }
    w.count += 1;
    if (w.count <= this.max) return { allowed: true, retryAfterMs: 0, firstRefusal: false };
    const firstRefusal = !w.told;
    w.told = true;
    return { allowed: false, retryAfterMs: w.startMs + this.windowMs - now, firstRefusal };
  }

  /** How long the device stays over its limit (0 if it is not), without counting anything. */
  blockedForMs(deviceId: string): number {
    const w = this.windows.get(deviceId);
    if (w === undefined || w.count <= this.max) return 0;
    return Math.max(0, w.startMs + this.windowMs - this.clock.now());
  }

  /** Devices with a live window (memory stays proportional to devices active in the last window). */
  get tracked(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweepMs < this.windowMs) return;
    this.lastSweepMs = now;
    for (const [deviceId, w] of this.windows) if (w.startMs + this.windowMs <= now) this.windows.delete(deviceId);
  }
}
