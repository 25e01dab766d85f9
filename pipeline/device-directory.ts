import type { Assignment, Device } from '../core/model/registry.js';
import type { RegistryStore } from '../core/ports/registry-store.js';

export interface DirectoryEntry {
  readonly device: Device | undefined;
  readonly assignments: readonly Assignment[];
}

/**
 * Read-through cache of devices and their assignment history, so that authenticating and
 * attributing a reading costs no store round trip. Every change goes through the registry
 * service in this process, which calls `invalidate`; the cache is bounded (LRU) so random
 * unknown ids cannot grow it without limit.
 */
export class DeviceDirectory {
  private readonly entries = new Map<string, DirectoryEntry>();
  private readonly loading = new Map<string, Promise<DirectoryEntry>>();

  constructor(
    private readonly registry: RegistryStore,
    private readonly maxEntries = 200_000,
  ) {}

  /** Synchronous lookup when cached; callers fall back to `load`. */
  peek(deviceId: string): DirectoryEntry | undefined {
    const hit = this.entries.get(deviceId);
    if (hit !== undefined) {
      this.entries.delete(deviceId);
      this.entries.set(deviceId, hit);
    }
    return hit;
  }

  async load(deviceId: string): Promise<DirectoryEntry> {
    const hit = this.peek(deviceId);
    if (hit !== undefined) return hit;
    let pending = this.loading.get(deviceId);
    if (pending === undefined) {
      pending = this.fetch(deviceId).finally(() => this.loading.delete(deviceId));
      this.loading.set(deviceId, pending);
    }
    return pending;
  }

  async device(deviceId: string): Promise<Device | undefined> {
    return (await this.load(deviceId)).device;
  }

  invalidate(deviceId: string): void {
    this.entries.delete(deviceId);
  }

  /** Forget every entry (changes elsewhere may have been missed). */
  invalidateAll(): void {
    this.entries.clear();
  }

  private async fetch(deviceId: string): Promise<DirectoryEntry> {
    const device = await this.registry.getDevice(deviceId);
    const assignments = device === undefined ? [] : await this.registry.assignments(deviceId);
    const entry: DirectoryEntry = { device, assignments };
    this.entries.set(deviceId, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    return entry;
  }
}

/** The patient a device was assigned to at an instant, by measurement time. */
export function patientAt(assignments: readonly Assignment[], atMs: number): string | null {
  for (let i = assignments.length - 1; i >= 0; i--) {
    const a = assignments[i];
    if (a !== undefined && a.fromMs <= atMs && (a.toMs === null || atMs < a.toMs)) return a.patientId;
  }
  return null;
}
