import { trace } from '@opentelemetry/api';
import { tracer } from '../../core/tracing.js';
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
  private readonly publishListeners: Array<(event: WorklistEvent) => void> = [];

  subscribe(organizationId: string, subscriber: Subscriber): () => void {
    let set = this.byOrg.get(organizationId);
    if (set === undefined) this.byOrg.set(organizationId, (set = new Set()));
    set.add(subscriber);
    return () => {
      set.delete(subscriber);
      if (set.size === 0) this.byOrg.delete(organizationId);
    };
  }

  /** A change made in this process: its streams hear it, and so do the publish listeners (the cluster). */
  publish(event: WorklistEvent): void {
    // Inside traced work (an alert raised from a traced reading, a nurse's request), the push is a span of that trace.
    if (trace.getActiveSpan()?.isRecording() !== true) {
      this.deliver(event);
      for (const l of this.publishListeners) l(event);
      return;
    }
    const span = tracer.startSpan('rpm.sse.push', {
      attributes: { 'rpm.alert.id': event.alert.id, 'rpm.worklist.change': event.change, 'rpm.sse.streams': this.streamsOf(event.alert.organizationId) },
    });
    try {
      this.deliver(event);
      for (const l of this.publishListeners) l(event);
    } finally {
      span.end();
    }
  }

  private streamsOf(organizationId: string | null): number {
    return organizationId === null ? 0 : (this.byOrg.get(organizationId)?.size ?? 0);
  }

  /** A change made elsewhere (another process of the cluster): only this process's streams hear it. */
  deliver(event: WorklistEvent): void {
    const org = event.alert.organizationId;
    if (org === null) return;
    for (const s of this.byOrg.get(org) ?? []) s(event);
  }

  /** Hears every change published here (the distributed mode passes them on to the other processes). */
  onPublish(listener: (event: WorklistEvent) => void): void {
    this.publishListeners.push(listener);
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
