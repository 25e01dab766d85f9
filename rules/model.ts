import { z } from 'zod';
import { COMPONENT_NAMES, READING_KINDS } from '../core/model/reading-kinds.js';

/**
 * Rule definitions are data: shipped defaults per condition program carry their clinical
 * source, and a patient's care plan overrides any of them. Values are in canonical units
 * (mm[Hg], kg, Cel, mg/dL, %, /min).
 */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

export const comparator = z.enum(['>', '>=', '<', '<=']);
export type Comparator = z.infer<typeof comparator>;

const kind = z.enum(READING_KINDS);
const component = z.enum(COMPONENT_NAMES);
const severity = z.enum(SEVERITIES);

const base = {
  id: z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9-]*$/),
  /** What it is, without numbers: the limits are added from the rule itself (rules/describe.ts), in the reader's units. */
  title: z.string().min(1).max(200),
  /** Clinical source of the default (guideline, paper). */
  source: z.string().max(500).optional(),
  /**
   * What the nurse should do, one short line from the source. `{{quantity:value}}` (canonical
   * unit) is shown in the reader's units, e.g. `{{glucose:240}}` → 240 mg/dL or 13.3 mmol/L.
   */
  action: z.string().max(500).optional(),
  enabled: z.boolean().default(true),
  /** Close the alert by itself when the patient is back in range; else a nurse resolves it. */
  autoResolve: z.boolean().default(false),
  /**
   * A safety net that applies to every patient whatever the programs (hypertensive crisis,
   * hypotension, level 2 hypoglycemia, hypothermia, …): programs may tighten it; a care plan
   * changes or disables it only with a recorded reason.
   */
  universal: z.boolean().default(false),
  /**
   * After a nurse resolves an alert while the patient is still breaching, a new alert is raised
   * when the breach persists this long after the resolve (default by severity: critical 30 min,
   * high 4 h, medium 12 h, low 24 h), or at once when it gets materially worse.
   */
  renotifyMinutes: z.number().positive().max(7 * 24 * 60).optional(),
};

/** A limit on one component: tiers ordered from least to most severe; hysteresis via `clearAt`. */
const limit = z.object({
  component,
  comparator,
  tiers: z.array(z.object({ severity, value: z.number(), label: z.string().max(100).optional().describe('Names the tier, e.g. "Level 2 hypoglycemia"') })).min(1),
  /** Once open, the condition clears only when the value is past this (in the safe direction). */
  clearAt: z.number().optional(),
  /**
   * A change this large past the worst value seen (same component, canonical unit) is "materially
   * worse": it re-raises a resolved alert at once and ends a snooze.
   */
  worsenBy: z.number().positive().optional(),
});
export type Limit = z.infer<typeof limit>;

/**
 * One reading compared with limits (any limit may breach, e.g. systolic or diastolic); the most
 * severe tier met wins.
 */
export const thresholdRule = z.object({
  ...base,
  type: z.literal('threshold'),
  kind,
  limits: z.array(limit).min(1),
  /**
   * Ask for a repeat measurement before escalating. The first breach opens the alert at
   * `initialSeverity`, confirmation `pending`. A distinct repeat measured at least `minMinutes`
   * later that still breaches confirms it at the tier's severity (`confirmed`); a repeat back
   * below the limits makes it `not-confirmed` at `notConfirmedSeverity` (it stays for a nurse to
   * review); no repeat within `withinMinutes` makes it `expired` (call the patient).
   */
  confirmation: z
    .object({
      withinMinutes: z.number().positive(),
      minMinutes: z.number().min(0).default(3),
      initialSeverity: severity,
      notConfirmedSeverity: severity.default('medium'),
    })
    .optional(),
});

/** N of the last M readings breach (e.g. SpO2 < 92 % in 3 of the last 5). */
export const durationRule = z.object({
  ...base,
  type: z.literal('n-of-m'),
  kind,
  component,
  comparator,
  value: z.number(),
  n: z.number().int().positive(),
  m: z.number().int().positive(),
  /** Only readings within this many hours count. */
  withinHours: z.number().positive(),
  severity,
});

/** Change of a value over a window: the latest reading against a reference reading of the window. */
export const trendRule = z.object({
  ...base,
  type: z.literal('change'),
  kind,
  component,
  /**
   * `extreme` (default): compare with the lowest earlier reading of the window for a rise (the
   * highest for a fall), so a gain is caught whenever in the window it started. The window is
   * the `windowHours` (+ `graceHours`) before the reading, so yesterday morning's weight still
   * counts when today's is taken a little later. `closest`: the reading measured closest to
   * `windowHours` before, among those [windowHours·(1−slack), windowHours·(1+slack)] before.
   */
  reference: z.enum(['extreme', 'closest']).default('extreme'),
  windowHours: z.number().positive(),
  graceHours: z.number().min(0).default(0),
  slack: z.number().min(0).max(1).default(0.5),
  comparator,
  /** Change (latest − earlier) compared with this; e.g. > 0.9 kg per day. */
  delta: z.number(),
  severity,
});

/**
 * Mean over a rolling window (e.g. 7-day home BP mean ≥ 130/80). Each day's readings (the
 * patient's local day) are averaged first and the days then weigh equally, so a burst of
 * readings on one day (a hub backfill) counts as one day; a mean needs readings on at least
 * `minDays` different days and `minReadings` in all.
 */
export const rollingMeanRule = z.object({
  ...base,
  type: z.literal('rolling-mean'),
  kind,
  windowDays: z.number().positive(),
  minReadings: z.number().int().positive(),
  minDays: z.number().int().positive().default(3),
  /** Any limit met by its component's mean breaches. */
  limits: z.array(z.object({ component, comparator, value: z.number() })).min(1),
  severity,
});

/** Deviation from the patient's own baseline (median of an earlier window). */
export const baselineRule = z.object({
  ...base,
  type: z.literal('baseline'),
  kind,
  component,
  /** Baseline = median of readings measured between these many days before the reading. */
  baselineFromDays: z.number().positive(),
  baselineToDays: z.number().min(0),
  minBaselineReadings: z.number().int().positive(),
  /** Deviation (reading − baseline) compared with this; e.g. <= -3 for a 3-point SpO2 drop. */
  comparator,
  delta: z.number(),
  severity,
});

/** No reading of a kind for too long (e.g. no weight in 48 h). Evaluated on a clock, not on readings. */
export const missingDataRule = z.object({
  ...base,
  type: z.literal('missing'),
  kind,
  hours: z.number().positive(),
  severity,
});

/** NEWS2 from the latest values within a window; incomplete (never scored) when a parameter is missing. */
export const news2Rule = z.object({
  ...base,
  type: z.literal('news2'),
  windowMinutes: z.number().positive(),
  /** SpO2 scale 2 only for clinician-confirmed hypercapnic respiratory failure (RCP 2017). */
  spo2Scale: z.union([z.literal(1), z.literal(2)]),
  /** Total at or above which an alert opens, by severity. */
  tiers: z.array(z.object({ severity, total: z.number().int().min(0) })).min(1),
  /** A 3 in any single parameter raises at least this severity. */
  singleParameterThreeSeverity: severity.optional(),
});

export const ruleDefinition = z.discriminatedUnion('type', [thresholdRule, durationRule, trendRule, rollingMeanRule, baselineRule, missingDataRule, news2Rule]);
export type RuleDefinition = z.infer<typeof ruleDefinition>;
export type RuleInput = z.input<typeof ruleDefinition>;
export type ThresholdRule = z.infer<typeof thresholdRule>;
export type DurationRule = z.infer<typeof durationRule>;
export type TrendRule = z.infer<typeof trendRule>;
export type RollingMeanRule = z.infer<typeof rollingMeanRule>;
export type BaselineRule = z.infer<typeof baselineRule>;
export type MissingDataRule = z.infer<typeof missingDataRule>;
export type News2Rule = z.infer<typeof news2Rule>;

export const PROGRAMS = ['general', 'hypertension', 'heart-failure', 'diabetes', 'copd'] as const;
export type Program = (typeof PROGRAMS)[number];

/**
 * A patient's care plan: the programs they are enrolled in (whose default rules apply), rule
 * overrides by id (partial: only the fields that differ), extra rules, disabled rule ids,
 * the risk tier used in priority, and the SLA targets. Versioned on every change.
 */
/**
 * A clinician's recorded decision that the patient is at risk of hypercapnic respiratory failure:
 * the only thing that sets the SpO2 target to 88–92 % and NEWS2 to SpO2 scale 2 (RCP 2017, BTS).
 * Enrolling in the COPD program alone never does. `decidedBy`/`decidedAt` are stamped by the
 * server from the session that records it.
 */
export const hypercapnicRiskDecision = z.object({
  reason: z.string().trim().min(1).max(500),
  decidedBy: z.string().max(200).optional(),
  decidedAt: z.string().max(64).optional(),
});

export const carePlanInput = z.object({
  /** `general` (the universal safety net) always applies, whether listed or not. */
  programs: z.array(z.enum(PROGRAMS)).default(['general']),
  overrides: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  extraRules: z.array(ruleDefinition).default([]),
  disabledRules: z.array(z.string()).default([]),
  /** Why a universal rule is changed or disabled for this patient, by rule id (required for those). */
  overrideReasons: z.record(z.string(), z.string().trim().min(1).max(500)).default({}),
  riskTier: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(1),
  /** Clinician-entered dry weight (kg), shown with weight alerts. */
  dryWeightKg: z.number().positive().optional(),
  hypercapnicRisk: hypercapnicRiskDecision.optional(),
});
export type CarePlanInput = z.input<typeof carePlanInput>;
export type CarePlan = z.infer<typeof carePlanInput>;
