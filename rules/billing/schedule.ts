import { z } from 'zod';
import { TIME_MODALITIES } from '../../core/model/visit.js';

/**
 * The shape of a billing schedule: which codes exist, their thresholds and exclusions. The
 * ledger (`ledger.ts`) reads only this; a new calendar year is a new schedule (a data change in
 * `schedules/`), never a code change. Every value carries its source (`source` fields).
 */

const code = z.string().regex(/^[0-9A-Z]{5}$/);
const source = z.string().min(1).describe('Where the value comes from, and how sure it is ([V] verified, [S] secondary sources, [U] unverified)');

const dayTier = z.object({
  code,
  minDays: z.number().int().min(1),
  maxDays: z.number().int().min(1),
  source,
});

const minuteTier = z.object({
  code,
  minMinutes: z.number().int().min(1),
  /** Inclusive; null = no upper bound. */
  maxMinutes: z.number().int().min(1).nullable(),
  source,
});

export const billingSchedule = z
  .object({
    id: z.string().min(1),
    /** First local date the schedule applies to (a device period by its start date, a month by its first day). */
    effectiveFrom: z.iso.date(),
    source,
    deviceSupply: z.object({
      /** Length of a device period, anchored at the episode's monitoring start. */
      periodDays: z.number().int().min(1),
      /** Entry methods whose readings count as device days (manual entries never do). */
      countedEntryMethods: z.array(z.enum(['device', 'manual', 'ambiguous-user'])).min(1),
      /** Reading flags that keep a reading from counting (someone else's, or not yet known whose). */
      excludedFlags: z.array(z.string()),
      /** Readings of simulated / test devices never count: not an FDA-defined medical device. */
      excludeSimulatedDevices: z.boolean(),
      /** Tiers by distinct local days with a qualifying reading; at most one is billed per period. */
      tiers: z.array(dayTier).min(1),
      source,
    }),
    setup: z.object({
      code,
      /** Billed once per episode of care, in the first device period that reaches `minDays`. */
      minDays: z.number().int().min(1),
      source,
    }),
    management: z.object({
      /** Local calendar months, in the patient's time zone. */
      requiresInteractive: z.boolean(),
      /** Staff roles whose time counts (clinical staff, physicians, QHPs; never an administrator's). */
      countedRoles: z.array(z.enum(['nurse', 'physician', 'admin'])).min(1),
      /** Modalities of an entry that make it a real-time interactive communication. */
      interactiveModalities: z.array(z.enum([...TIME_MODALITIES, 'unspecified'])),
      tiers: z.array(minuteTier).min(1),
      addOn: z
        .object({
          code,
          /** Only billed with this base code. */
          withCode: code,
          /** One unit per full `unitMinutes` beyond `afterMinutes`. */
          afterMinutes: z.number().int().min(1),
          unitMinutes: z.number().int().min(1),
          /** Medicare unit limit, null = none known. */
          maxUnits: z.number().int().min(1).nullable(),
          source,
        })
        .nullable(),
      source,
    }),
    /** Codes never billed together for one patient in one period. The ledger checks every line against these. */
    exclusive: z.array(z.object({ codes: z.array(code).min(2), source })),
  })
  .superRefine((s, ctx) => {
    const overlap = <T extends { code: string }>(tiers: readonly T[], lo: (t: T) => number, hi: (t: T) => number): void => {
      const sorted = [...tiers].sort((a, b) => lo(a) - lo(b));
      for (let i = 1; i < sorted.length; i++) {
        const prev = sorted[i - 1] as T;
        const cur = sorted[i] as T;
        if (lo(cur) <= hi(prev)) ctx.addIssue({ code: 'custom', message: `tiers ${prev.code} and ${cur.code} overlap` });
      }
    };
    overlap(s.deviceSupply.tiers, (t) => t.minDays, (t) => t.maxDays);
    overlap(s.management.tiers, (t) => t.minMinutes, (t) => t.maxMinutes ?? Number.MAX_SAFE_INTEGER);
    for (const t of s.deviceSupply.tiers) {
      if (t.maxDays > s.deviceSupply.periodDays) ctx.addIssue({ code: 'custom', message: `${t.code} counts more days than a period has` });
    }
  });

export type BillingSchedule = z.infer<typeof billingSchedule>;

/** The schedule in force on a local date: the latest whose `effectiveFrom` is on or before it. */
export function scheduleOn(schedules: readonly BillingSchedule[], date: string): BillingSchedule | undefined {
  let best: BillingSchedule | undefined;
  for (const s of schedules) if (s.effectiveFrom <= date && (best === undefined || s.effectiveFrom > best.effectiveFrom)) best = s;
  return best;
}
