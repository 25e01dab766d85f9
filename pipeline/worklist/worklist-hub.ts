import type { Alert } from '../../core/model/alert.js';

export interface WorklistEvent {
  readonly type: 'alert';
  readonly change: 'created' | 'updated' | 'transition' | 'escalated';
  readonly alert: Alert;
}

type Subscriber = (event: WorklistEvent) => void;

/**
 * In-process fan-out of worklist changes to live streams (SSE), by organization. Each stream
 * filters further by the staff member's patient scope before sending anything.
 */
export class WorklistHub {
  private readonly byOrg = new Map<string, Set<Subscriber>>();
  private readonly closers = new Set<() => void>();

  subscribe(organizationId: string, subscriber: Subscriber): () => void {
    let set = this.byOrg.get(organizationId);
    if (set === undefined) this.byOrg.set(organizationId, (set = new Set()));
    set.add(subscriber);
    return () => {
      set.delete(subscriber);
      if (set.size === 0) this.byOrg.delete(organizationId);
    };
  }

  publish(event: WorklistEvent): void {
    const org = event.alert.organizationId;
    if (org === null) return;
    for (const s of this.byOrg.get(org) ?? []) s(event);
  }

  /** Streams end with the process: shutdown calls this so open SSE responses finish. */
  onClose(fn: () => void): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  closeAll(): void {
    for (const fn of [...this.closers]) fn();
    this.closers.clear();
  }

  get subscribers(): number {
    let n = 0;
    for (const set of this.byOrg.values()) n += set.size;
    return n;
  }
}
