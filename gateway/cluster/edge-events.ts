import type { Logger } from '../../core/logging.js';
import type { ClusterEvents, WorkJobData } from '../../core/ports/work-bus.js';
import type { SessionEnd, SessionService } from '../auth/session-service.js';
import type { ForwardingRoutes } from '../../pipeline/forwarding-routes.js';
import type { RegistryService } from '../registry-service.js';
import type { StaffService } from '../staff-service.js';

const REASONS = new Set(['logged-out', 'account-disabled', 'password-changed', 'idle', 'expired']);

/**
 * What one gateway must hear at once of changes made at another: a device's registry entry or
 * credentials (caches here, and open MQTT sessions re-checked), a staff session ended by logout or
 * an account change (worklist streams here end), a care-team scope change (streams re-check), FHIR
 * destinations (routing tables reload, so readings committed here get outbox rows for them), a
 * patient moved to another organization (its cached organization is forgotten). Sent
 * as ids on ClusterEvents; each gateway ignores its own. After a reconnect, caches are not trusted:
 * every device entry is dropped (the safety net of RPM_STREAM_RECHECK_S covers sessions and scope).
 */
export class EdgeEvents {
  constructor(
    private readonly events: ClusterEvents,
    private readonly nodeName: string,
    private readonly deps: {
      registry: RegistryService;
      sessions: SessionService;
      staff: StaffService;
      routes: ForwardingRoutes;
      forgetAllDevices: () => void;
      destinationsChanged: () => void;
    },
    private readonly log: Logger,
  ) {}

  /**
   * An operator moved a patient to another organization here: every other process forgets the
   * patient's cached organization (gateways route readings to the new organization's EHRs; workers
   * stamp alerts and time-series points with it).
   */
  patientMoved(patientId: string): void {
    this.events.publish('patients', { origin: this.nodeName, patientId }).catch((err: unknown) => this.log.warn({ err }, 'a patient move could not be told to the other processes'));
  }

  async start(): Promise<void> {
    const { registry, sessions, staff } = this.deps;
    const send = (channel: string, message: WorkJobData): void => {
      this.events.publish(channel, { ...message, origin: this.nodeName }).catch((err: unknown) => this.log.warn({ err, channel }, 'a change could not be told to the other gateways'));
    };
    // Changes made here go out; those replayed from elsewhere are not sent back (`replaying`).
    let replaying = false;
    registry.onDeviceChanged((deviceId, credentials) => {
      if (!replaying) send('devices', { deviceId, credentials });
    });
    sessions.onSessionEnded((end) => {
      if (replaying) return;
      send('sessions', end.kind === 'session' ? { kind: 'session', tokenSha256: end.tokenSha256, staffId: end.staffId, atMs: end.atMs, reason: end.reason } : { kind: 'account', staffId: end.staffId, atMs: end.atMs, reason: end.reason });
    });
    staff.onScopeChanged((organizationId) => {
      if (!replaying) send('scope', { organizationId });
    });
    this.deps.routes.onInvalidated(() => {
      this.deps.destinationsChanged();
      send('destinations', {});
    });
    const replay = (fn: () => void): void => {
      replaying = true;
      try {
        fn();
      } finally {
        replaying = false;
      }
    };
    await this.events.subscribe('devices', (m) => {
      if (m.origin === this.nodeName || typeof m.deviceId !== 'string') return;
      const deviceId = m.deviceId;
      replay(() => registry.remoteDeviceChanged(deviceId, m.credentials === true));
    });
    await this.events.subscribe('sessions', (m) => {
      if (m.origin === this.nodeName || typeof m.reason !== 'string' || !REASONS.has(m.reason) || typeof m.atMs !== 'number') return;
      const reason = m.reason as SessionEnd['reason'];
      let end: SessionEnd | undefined;
      if (m.kind === 'session' && typeof m.tokenSha256 === 'string') {
        end = { kind: 'session', tokenSha256: m.tokenSha256, staffId: typeof m.staffId === 'string' ? m.staffId : null, atMs: m.atMs, reason };
      } else if (m.kind === 'account' && typeof m.staffId === 'string') {
        end = { kind: 'account', staffId: m.staffId, atMs: m.atMs, reason };
      }
      if (end !== undefined) {
        const e = end;
        replay(() => sessions.remoteSessionEnded(e));
      }
    });
    await this.events.subscribe('scope', (m) => {
      if (m.origin === this.nodeName || typeof m.organizationId !== 'string') return;
      const org = m.organizationId;
      replay(() => staff.remoteScopeChanged(org));
    });
    await this.events.subscribe('patients', (m) => {
      if (m.origin === this.nodeName || typeof m.patientId !== 'string') return;
      this.deps.routes.forgetPatient(m.patientId);
    });
    await this.events.subscribe('destinations', (m) => {
      if (m.origin === this.nodeName) return;
      this.deps.routes.reload();
      this.deps.destinationsChanged();
    });
    this.events.onReconnect(() => {
      this.deps.forgetAllDevices();
      this.deps.routes.reload();
      this.deps.destinationsChanged();
    });
  }
}
