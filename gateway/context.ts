import type { Config } from '../core/config/schema.js';
import type { Logger } from '../core/logging.js';
import type { AuditLog } from '../core/ports/audit-log.js';
import type { Clock } from '../core/ports/clock.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import type { GroupCommitter } from '../pipeline/group-committer.js';
import type { IngestService } from '../pipeline/ingest.js';
import type { DeviceAuthenticator } from './auth/device-authenticator.js';
import type { PresenceTracker } from './presence.js';
import type { RegistryService } from './registry-service.js';

/** Everything the protocol edges need, built once by the composition root. */
export interface GatewayContext {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly ingest: IngestService;
  readonly committer: GroupCommitter;
  readonly authenticator: DeviceAuthenticator;
  readonly registry: RegistryService;
  readonly readings: ReadingStore;
  readonly audit: AuditLog;
  readonly presence: PresenceTracker;
  readonly adminToken: string;
  /** True once shutdown has begun: new work is refused with 503 / CONNACK 3. */
  readonly shuttingDown: () => boolean;
}
