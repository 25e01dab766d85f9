import type { Logger } from '../../core/logging.js';
import { activeSampledContext, alertTraces, spanContextOf, traceparentOf } from '../../core/tracing.js';
import type { AlertStore } from '../../core/ports/alert-store.js';
import type { ClusterEvents } from '../../core/ports/work-bus.js';
import type { WorklistEvent, WorklistHub } from '../worklist/worklist-hub.js';

const CHANNEL = 'worklist';
const CHANGES = new Set<WorklistEvent['change']>(['created', 'updated', 'transition', 'escalated']);

/**
 * Worklist changes across the processes of the cluster: what this process publishes goes out as
 * ids (alert id, version, change; never the alert: no PHI on the bus), and what others publish is
 * read from the store and delivered to this process's streams. Cut off from the bus, streams
 * are ended when it comes back, so every dashboard reconnects and loads the worklist afresh.
 */
export class ClusterHubBridge {
  constructor(
    private readonly hub: WorklistHub,
    private readonly events: ClusterEvents,
    private readonly alerts: Pick<AlertStore, 'getAlert'>,
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.hub.onPublish((e) => {
      // Traced work (an alert raised from a traced reading): its trace goes along, so the escalation
      // SMS sent by another process continues it.
      const traceparent = traceparentOf(activeSampledContext());
      this.events
        .publish(CHANNEL, { origin: this.nodeName, alertId: e.alert.id, version: e.alert.version, change: e.change, ...(traceparent === undefined ? {} : { traceparent }) })
        .catch((err: unknown) => this.log.warn({ err }, 'a worklist change could not be told to the other processes (their streams refresh on reconnect)'));
    });
    await this.events.subscribe(CHANNEL, (m) => {
      if (m.origin === this.nodeName || typeof m.alertId !== 'string' || typeof m.change !== 'string') return;
      const change = m.change as WorklistEvent['change'];
      if (!CHANGES.has(change)) return;
      if (typeof m.traceparent === 'string' && (change === 'created' || change === 'updated')) {
        const origin = spanContextOf(m.traceparent);
        if (origin !== undefined) alertTraces.remember(m.alertId, origin);
      }
      this.alerts.getAlert(m.alertId).then(
        (alert) => {
          if (alert !== undefined) this.hub.deliver({ type: 'alert', change, alert });
        },
        (err: unknown) => this.log.warn({ err }, 'a worklist change from another process could not be read'),
      );
    });
    this.events.onReconnect(() => {
      this.log.info('cluster events reconnected: ending worklist streams so they load afresh');
      this.hub.closeAll();
    });
  }
}
