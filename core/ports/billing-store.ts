/**
 * RPM billing records: each patient's episode of care (monitoring start, time zone, the one
 * billing practitioner), and the physician sign-offs that freeze a billing period, with their
 * amendments. The ledger itself is computed (rules/billing); what is stored is what people
 * decided.
 *
 * Guarantees (checked by core/contract/billing-store.contract.ts):
 * - One episode record per patient, replaced whole; each save is kept (who, when, why) in its history.
 * - At most one sign-off per (organization, period key): a second answers
 *   RPM_ERR_BILLING_PERIOD_SIGNED, so two physicians signing at once end with one sign-off and
 *   one practitioner for the period (billing.md §3.2 rule 4).
 * - A signed period changes only by an amendment; amendments are numbered 1, 2, … per period and
 *   append-only: `amend` with a stale `expectedRevision` answers
 *   RPM_ERR_BILLING_AMENDMENT_CONFLICT, on an unsigned period RPM_ERR_BILLING_NOT_SIGNED.
 * - Sign-offs and amendments are never updated or deleted.
 * - Everything is per organization: another organization's period key finds nothing.
 */
export interface BillingStore {
  saveEpisode(episode: StoredEpisode): Promise<StoredEpisode>;
  episode(patientId: string): Promise<StoredEpisode | undefined>;
  /** Every episode of an organization, by patient id. */
  episodesOf(organizationId: string): Promise<StoredEpisode[]>;
  /** Every save of the patient's episode, oldest first. */
  episodeHistory(patientId: string): Promise<StoredEpisode[]>;

  signOff(signOff: NewSignOff): Promise<SignOff>;
  amend(amendment: NewAmendment, expectedRevision: number): Promise<SignOff>;
  /** Sign-offs with their amendments; `periodKeys` limits to those periods. */
  signOffs(organizationId: string, filter?: { periodKeys?: readonly string[]; patientId?: string }): Promise<SignOff[]>;
  close(): Promise<void>;
}

export interface StoredEpisode {
  readonly patientId: string;
  readonly organizationId: string;
  /** Local date (YYYY-MM-DD) monitoring started. */
  readonly startDate: string;
  readonly endDate: string | null;
  /** IANA zone the patient lives in. */
  readonly timeZone: string;
  readonly billingPractitionerId: string | null;
  readonly savedBy: string;
  readonly savedAtMs: number;
  readonly reason: string | null;
}

export interface NewSignOff {
  readonly organizationId: string;
  readonly patientId: string;
  /** `${patientId}/device/${start}` or `${patientId}/management/${month}` (rules/billing/ledger.ts). */
  readonly periodKey: string;
  /** The practitioner who signs (a physician), who is the period's billing practitioner. */
  readonly signedBy: string;
  readonly signedAtMs: number;
  /** The ledger line as signed (JSON), frozen. */
  readonly line: unknown;
  /** SHA-256 of the line's canonical JSON, to tell whether the computed line changed since. */
  readonly lineSha256: string;
}

export interface NewAmendment {
  readonly organizationId: string;
  readonly periodKey: string;
  readonly amendedBy: string;
  readonly amendedAtMs: number;
  readonly reason: string;
  readonly line: unknown;
  readonly lineSha256: string;
}

export interface Amendment extends NewAmendment {
  /** 1 for the first amendment of the period. */
  readonly revision: number;
}

export interface SignOff extends NewSignOff {
  /** 0 when never amended, else the newest amendment's revision. */
  readonly revision: number;
  readonly amendments: readonly Amendment[];
}
