import type { RulePartition } from '../cluster/partitions.js';
import type { RpmErrorCode } from '../errors/codes.js';
import type { ReadingKind } from '../model/reading-kinds.js';
import type { Reading, Transport } from '../model/reading.js';

/**
 * Durable store of normalized readings.
 *
 * Guarantees every adapter must give (checked by core/contract/reading-store.contract.ts):
 * - `commit` is all-or-nothing: when it resolves, every reading and rejection in the batch is
 *   durable (it survives a process crash, and a power loss where the backend promises that);
 *   when it rejects, nothing of the batch is visible.
 * - Idempotent on (deviceId, idempotencyKey): a reading whose key is already stored, earlier or
 *   earlier in the same batch, is answered `duplicate` with the stored reading's id, and is not
 *   written twice.
 * - Queries return readings ordered by measurement time, then id (descending when asked for the
 *   newest first).
 *
 * Deliberately left out: updates and deletes of readings (corrections are new readings),
 * and any driver, connection or transaction type.
 */
export interface ReadingStore {
  commit(batch: CommitBatch): Promise<CommitOutcome[]>;
  queryReadings(query: ReadingQuery): Promise<Reading[]>;
  /** The stored reading with this (measuring device, idempotency key), if any. */
  getReading(deviceId: string, idempotencyKey: string): Promise<Reading | undefined>;
  /**
   * Attribute a device's unassigned readings measured in [fromMs, toMs) to a patient. Returns how
   * many. In the same transaction, each of them gets a delivery to every destination in `forwards`
   * that takes its kind (the transactional outbox, as at commit): a reading that becomes a
   * patient's late is forwarded like one that was theirs on arrival. And in the same transaction,
   * when it attributed any, an entry in the attribution log (`attributionsSince`), so followers of
   * the reading log (the rules engine) learn of it durably, whichever process they run in.
   */
  attributeUnassigned(deviceId: string, patientId: string, fromMs: number, toMs: number | null, forwards?: readonly AttributedForward[]): Promise<number>;
  /** The attribution log after position `afterSeq`, oldest first (positions only grow). */
  attributionsSince(afterSeq: number, limit: number): Promise<AttributionRecord[]>;
  /**
   * A nurse's decision on readings of `patientId` whose user the device could not tell (flag
   * `user-unconfirmed`): `confirmed` removes the flag, so the rules judge them from now on;
   * `rejected` replaces it with `user-rejected` (kept, never judged). Confirmed readings are the
   * patient's from now on as if attributed late: they get the `attributed` flag and an entry in the
   * attribution log naming them (same transaction), from which the rules engine judges them once. Readings of another patient,
   * or without `user-unconfirmed`, are left as they are. Answers the changed readings, as they
   * are now, with their log positions, in one transaction.
   */
  decideUser(patientId: string, readingIds: readonly string[], decision: UserDecision): Promise<SequencedReading[]>;
  /** The reading at this log position (`readingsSince`, `CommitOutcome.seq`), if any. */
  readingAt(seq: number): Promise<Reading | undefined>;
  listRejections(deviceId: string, limit: number): Promise<Rejection[]>;
  /**
   * The reading log in commit order: readings committed after position `afterSeq`, oldest first.
   * Positions only grow; consumers (the rule engine) keep their own cursor.
   */
  readingsSince(afterSeq: number, limit: number): Promise<SequencedReading[]>;
  /**
   * The log as one rule partition sees it: of the next `window` positions after `afterSeq`, the
   * readings of the partition's patients (`core/cluster/partitions.ts`), oldest first, and the last
   * position examined, which is the follower's next cursor once it has handled them (so a quiet
   * partition still moves along the log). Readings without a patient belong to no partition.
   */
  partitionSince(afterSeq: number, window: number, partition: RulePartition): Promise<PartitionSlice>;
  /** How many readings were committed after position `afterSeq`: a log consumer's backlog (metrics). */
  countReadingsSince(afterSeq: number): Promise<number>;
  /** Measurement time of the patient's latest reading of a kind, if any. */
  lastMeasuredAt(patientId: string, kind: ReadingKind): Promise<number | undefined>;
  countReadings(): Promise<number>;
  /**
   * Durably commit a tiny write that holds nothing of value, to learn whether commits can succeed
   * again after they failed (readiness). Rejects when the store cannot commit.
   */
  probeWrite(): Promise<void>;
  close(): Promise<void>;
}

export type UserDecision = 'confirmed' | 'rejected';

export interface SequencedReading {
  readonly seq: number;
  readonly reading: Reading;
}

export interface CommitBatch {
  readonly readings: readonly Reading[];
  readonly rejections: readonly Rejection[];
  /**
   * Transactional outbox: forward jobs for readings of this batch (by index into `readings`).
   * Written in the same transaction as the readings, and only for readings newly accepted by it
   * (a duplicate's jobs were written with the original). Readable through `ForwardingStore`.
   */
  readonly forwards?: readonly ForwardJob[];
}

/** Deliver the attributed readings of these kinds to this destination. */
export interface AttributedForward {
  readonly destinationId: string;
  readonly kinds: readonly ReadingKind[];
  /** When the deliveries are queued (their age in the outbox starts here). */
  readonly atMs: number;
}

/** Deliver `readings[reading]` of the batch to one destination. */
export interface ForwardJob {
  readonly reading: number;
  readonly destinationId: string;
}

/** One per reading of the batch, in the same order. */
export type CommitOutcome =
  /** `seq`: the reading's position in the log (`readingsSince`), when the store knows it at commit. */
  | { readonly status: 'accepted'; readonly id: string; readonly seq?: number }
  /** `seq`: where the reading already stored sits in the log, when the store knows it. */
  | { readonly status: 'duplicate'; readonly id: string; readonly seq?: number };

export interface ReadingQuery {
  readonly patientId: string;
  readonly kinds?: readonly ReadingKind[];
  readonly fromMs?: number;
  /** Exclusive. */
  readonly toMs?: number;
  readonly limit: number;
  /** Only readings at or before this position of the reading log (see `readingsSince`). */
  readonly maxSeq?: number;
  /** Keyset cursor: continue after this (measuredAtMs, id). */
  readonly after?: { readonly measuredAtMs: number; readonly id: string };
  /**
   * Newest first (measurement time, then id, both descending), so `limit` keeps the newest
   * readings of the window: how a bounded cache is filled. Not combinable with `after`.
   */
  readonly newestFirst?: boolean;
}

/** Readings of `deviceId` measured in [fromMs, toMs) were attributed to `patientId` after they were committed. */
export interface AttributionRecord {
  readonly seq: number;
  readonly deviceId: string;
  readonly patientId: string;
  readonly fromMs: number;
  readonly toMs: number | null;
  /** Only these readings of that device and window (a nurse confirmed whose they are); null: all the attribution changed. */
  readonly readingIds: readonly string[] | null;
  readonly atMs: number;
}

export interface PartitionSlice {
  readonly readings: SequencedReading[];
  /** The last log position examined (`afterSeq` when the log holds nothing after it). */
  readonly throughSeq: number;
}

/** A reading the gateway refused, kept so operators and device makers can see why. No payload is kept, only its hash. */
export interface Rejection {
  readonly deviceId: string;
  readonly receivedAtMs: number;
  readonly transport: Transport;
  readonly code: RpmErrorCode;
  /** JSON pointer into the request body or MQTT payload (a FHIRPath expression for FHIR input). */
  readonly path: string | null;
  readonly message: string;
  readonly clientId: string | null;
  readonly payloadSha256: string | null;
}
