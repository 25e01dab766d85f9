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
  title: z.string().min(1).max(200),
  /** Clinical source of the default (guideline, paper). */
  source: z.string().max(500).optional(),
  enabled: z.boolean().default(true),
  /** Close the alert by itself when the patient is back in range; else a nurse resolves it. */
  autoResolve: z.boolean().default(false),
};

/** A limit on one component: tiers ordered from least to most severe; hysteresis via `clearAt`. */
const limit = z.object({
  component,
  comparator,
  tiers: z.array(z.object({ severity, value: z.number() })).min(1),
  /** Once open, the condition clears only when the value is past this (in the safe direction). */
  clearAt: z.number().optional(),
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
   * Ask for a repeat measurement before escalating: the first breach opens the alert at
   * `initialSeverity`; a second breach within `withinMinutes` confirms it at the tier's severity.
   */
  confirmation: z.object({ withinMinutes: z.number().positive(), initialSeverity: severity }).optional(),
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

/** Change of a value over a window: latest minus the reading about `windowHours` earlier. */
export const trendRule = z.object({
  ...base,
  type: z.literal('change'),
  kind,
  component,
  /**
   * Compare with the reading measured closest to `windowHours` before, among those measured
   * [windowHours·(1−slack), windowHours·(1+slack)] before (edges included); none → no verdict.
   */
  windowHours: z.number().positive(),
  slack: z.number().min(0).max(1).default(0.5),
  comparator,
  /** Change (latest − earlier) compared with this; e.g. > 0.9 kg per day. */
  delta: z.number(),
  severity,
});

/** Mean over a rolling window, with a minimum number of readings (e.g. 7-day home BP mean ≥ 130/80). */
export const rollingMeanRule = z.object({
  ...base,
  type: z.literal('rolling-mean'),
  kind,
  windowDays: z.number().positive(),
  minReadings: z.number().int().positive(),
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
export const carePlanInput = z.object({
  programs: z.array(z.enum(PROGRAMS)).default(['general']),
  overrides: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  extraRules: z.array(ruleDefinition).default([]),
  disabledRules: z.array(z.string()).default([]),
  riskTier: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(1),
  /** Clinician-entered dry weight (kg), shown with weight alerts. */
  dryWeightKg: z.number().positive().optional(),
});
export type CarePlanInput = z.input<typeof carePlanInput>;
export type CarePlan = z.infer<typeof carePlanInput>;
