import type { Logger } from '../../core/logging.js';
import type { ClusterEvents } from '../../core/ports/work-bus.js';
import type { RelayMessage, SignalingRelay } from './signaling.js';

const CHANNEL = 'visit-signaling';
const KINDS = new Set(['join', 'here', 'leave', 'signal', 'ended']);
/** The signaling socket's own cap on a message (an SDP offer with its candidates fits many times). */
const MAX_DATA_CHARS = 64 * 1024;

/**
 * The embedded provider's signaling across the gateways of the distributed mode, on the cluster's
 * events (Redis pub/sub): at most once, in order per sending gateway. Each message names its
 * gateway (`origin`); a gateway ignores its own. Messages carry ids, and SDP/ICE text for the other
 * side's socket: no PHI, and nothing of them is ever logged.
 */
export function clusterSignalingRelay(events: ClusterEvents, nodeName: string, log: Logger): SignalingRelay {
  return {
    publish(m) {
      events.publish(CHANNEL, { ...m, origin: nodeName }).catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : 'error', kind: m.kind }, 'a visit signaling message could not reach the other gateways'));
    },
    async subscribe(handler) {
      await events.subscribe(CHANNEL, (raw) => {
        const { origin, kind, visitId } = raw;
        if (typeof origin !== 'string' || origin === nodeName || typeof kind !== 'string' || !KINDS.has(kind) || typeof visitId !== 'string' || visitId.length > 64) return;
        if (kind === 'ended') return handler({ kind, visitId }, origin);
        const role = raw.role;
        if (role !== 'staff' && role !== 'patient') return;
        if (kind === 'signal') {
          if (typeof raw.data !== 'string' || raw.data.length > MAX_DATA_CHARS) return;
          return handler({ kind, visitId, role, data: raw.data }, origin);
        }
        if (typeof raw.conn !== 'string' || raw.conn.length > 64) return;
        handler({ kind: kind as 'join' | 'here' | 'leave', visitId, role, conn: raw.conn } satisfies RelayMessage, origin);
      });
    },
    onReconnect(handler) {
      events.onReconnect(handler);
    },
  };
}
