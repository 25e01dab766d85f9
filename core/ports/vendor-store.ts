import type { BindingCredentials, PullStatus, VendorBinding, VendorConnection, VendorName, VendorPull } from '../model/vendor.js';

/**
 * Vendor integrations per organization: connections (credentials), bindings of vendor
 * identifiers to our devices, and durable pulls of a vendor's measures.
 *
 * Guarantees (checked by core/contract/vendor-store.contract.ts):
 * - One connection per (organization, vendor); `putConnection` creates or replaces it, keeping
 *   its creation time. The organization must exist (RPM_ERR_ORGANIZATION_NOT_FOUND).
 * - One binding per (organization, vendor, external id) (RPM_ERR_VENDOR_BINDING_EXISTS), to a
 *   device that exists (RPM_ERR_DEVICE_NOT_FOUND) in an organization that exists.
 * - Connection settings and binding credentials are kept encrypted by the adapter
 *   (core/crypto/field-encryption.ts, bound to their row); the port speaks plain values.
 * - Pulls move pending → failed ⇄ pending → done | dead and are never deleted; `duePulls`
 *   answers pending and failed pulls whose next attempt is due, oldest due first.
 */
export interface VendorStore {
  putConnection(connection: VendorConnection): Promise<VendorConnection>;
  getConnection(organizationId: string, vendor: VendorName): Promise<VendorConnection | undefined>;
  listConnections(organizationId: string): Promise<VendorConnection[]>;
  deleteConnection(organizationId: string, vendor: VendorName): Promise<boolean>;

  createBinding(binding: VendorBinding): Promise<VendorBinding>;
  getBinding(organizationId: string, vendor: VendorName, externalId: string): Promise<VendorBinding | undefined>;
  listBindings(organizationId: string, vendor: VendorName, page: { readonly limit: number; readonly afterExternalId?: string }): Promise<VendorBinding[]>;
  deleteBinding(organizationId: string, vendor: VendorName, externalId: string): Promise<boolean>;
  /** Replaces a binding's credentials (a Withings token refresh rotates both tokens). False when there is no such binding. */
  updateBindingCredentials(organizationId: string, vendor: VendorName, externalId: string, credentials: BindingCredentials, atMs: number): Promise<boolean>;

  enqueuePull(pull: NewVendorPull): Promise<VendorPull>;
  duePulls(nowMs: number, limit: number): Promise<VendorPull[]>;
  /** When the earliest pending or failed pull is due, if any. */
  nextPullDueAt(): Promise<number | undefined>;
  recordPullAttempt(id: number, attempt: PullAttempt): Promise<void>;
  listPulls(query: PullQuery): Promise<VendorPull[]>;
  /** Pulls waiting (pending or failed) and dead, each counted up to `cap` (metrics). */
  pullStats(cap: number): Promise<{ readonly waiting: number; readonly dead: number }>;
}

export interface NewVendorPull {
  readonly organizationId: string;
  readonly vendor: VendorName;
  readonly externalId: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly reason: VendorPull['reason'];
  readonly createdAtMs: number;
}

export type PullAttempt =
  | { readonly status: 'done'; readonly atMs: number; readonly readings: number }
  | { readonly status: 'failed'; readonly atMs: number; readonly nextAttemptAtMs: number; readonly errorCode: string; readonly errorMessage: string }
  | { readonly status: 'dead'; readonly atMs: number; readonly errorCode: string; readonly errorMessage: string };

export interface PullQuery {
  readonly organizationId?: string;
  readonly vendor?: VendorName;
  readonly externalId?: string;
  readonly statuses?: readonly PullStatus[];
  readonly limit: number;
}
