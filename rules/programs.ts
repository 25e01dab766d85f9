import type { Program, RuleInput } from './model.js';

/**
 * Default rules per condition program, as data, each with its source
 * (shared/reference/alert-thresholds.md). Values are in canonical units. Severity mapping of the
 * reference's words: emergency → critical, urgent → high, warning → medium, routine → low.
 * When two enrolled programs define the same rule id, the later program in PROGRAMS order wins
 * (COPD's SpO2 limits replace the general ones).
 */
const AHA_2025 = '2025 AHA/ACC hypertension guideline (Hypertension 2025;82:e212–e316), categories of the 2017 guideline';
const ADA = 'ADA Standards of Care §6; Diabetes Care 2017;40:1622 (hyperglycemia levels)';
const BTS = 'BTS guideline for oxygen use (Thorax 2017;72 Suppl 1); NEWS2 bands';
const NEWS2 = 'Royal College of Physicians, National Early Warning Score 2 (2017)';
const HF = 'Patient-education standard (AHA/Healthwise): call for > 2–3 lb in a day or 5 lb in a week; ESC > 2 kg in 3 days';

export const PROGRAM_RULES: Readonly<Record<Program, readonly RuleInput[]>> = {
  general: [
    {
      id: 'spo2-low',
      title: 'Low oxygen saturation',
      type: 'threshold',
      kind: 'spo2',
      limits: [{ component: 'value', comparator: '<', tiers: [{ severity: 'medium', value: 94 }, { severity: 'high', value: 92 }], clearAt: 95 }],
      autoResolve: true,
      source: `${BTS}: target 94–98 %; < 92 % urgent, 92–93 % warning`,
    },
    {
      id: 'spo2-drop',
      title: 'SpO2 3 points below the patient’s baseline',
      type: 'baseline',
      kind: 'spo2',
      component: 'value',
      baselineFromDays: 14,
      baselineToDays: 1,
      minBaselineReadings: 3,
      comparator: '<=',
      delta: -3,
      severity: 'medium',
      autoResolve: true,
      source: `${BTS}: clinical review if saturation falls by ≥ 3 % from baseline`,
    },
    {
      id: 'heart-rate-abnormal',
      title: 'Heart rate out of range',
      type: 'threshold',
      kind: 'heart-rate',
      limits: [
        { component: 'value', comparator: '<', tiers: [{ severity: 'medium', value: 50 }, { severity: 'high', value: 41 }], clearAt: 55 },
        { component: 'value', comparator: '>', tiers: [{ severity: 'medium', value: 110 }, { severity: 'high', value: 130 }], clearAt: 100 },
      ],
      autoResolve: true,
      source: `${NEWS2}: ≤ 40 and ≥ 131 are three-point bands; warning < 50 or > 110`,
    },
    {
      id: 'fever',
      title: 'Fever',
      type: 'threshold',
      kind: 'body-temperature',
      limits: [{ component: 'value', comparator: '>=', tiers: [{ severity: 'medium', value: 38 }, { severity: 'high', value: 39.1 }], clearAt: 37.8 }],
      autoResolve: true,
      source: 'CDC fever definition ≥ 38.0 °C; NEWS2 ≥ 39.1 °C scores 2',
    },
    {
      id: 'news2',
      title: 'NEWS2 aggregate score',
      type: 'news2',
      windowMinutes: 60,
      spo2Scale: 1,
      tiers: [{ severity: 'high', total: 5 }, { severity: 'critical', total: 7 }],
      singleParameterThreeSeverity: 'medium',
      autoResolve: true,
      source: `${NEWS2}: 5–6 urgent review, ≥ 7 emergency, a 3 in one parameter urgent ward review. Scored only when every parameter is present.`,
    },
  ],
  hypertension: [
    {
      id: 'bp-severe',
      title: 'Severe hypertension (> 180/120)',
      type: 'threshold',
      kind: 'blood-pressure',
      limits: [
        { component: 'systolic', comparator: '>=', tiers: [{ severity: 'critical', value: 180 }], clearAt: 170 },
        { component: 'diastolic', comparator: '>=', tiers: [{ severity: 'critical', value: 120 }], clearAt: 110 },
      ],
      confirmation: { withinMinutes: 15, initialSeverity: 'high' },
      source: `${AHA_2025}: > 180 and/or > 120 is severe hypertension; re-measure after ~5 min; ≥ is the conservative comparator`,
    },
    {
      id: 'bp-mean-7d',
      title: 'Home BP 7-day mean above target (≥ 130/80)',
      type: 'rolling-mean',
      kind: 'blood-pressure',
      windowDays: 7,
      minReadings: 6,
      limits: [
        { component: 'systolic', comparator: '>=', value: 130 },
        { component: 'diastolic', comparator: '>=', value: 80 },
      ],
      severity: 'low',
      autoResolve: true,
      source: `${AHA_2025}: home BP average ≥ 130/80 is uncontrolled; apply to averages, never single readings`,
    },
    {
      id: 'bp-low',
      title: 'Hypotension (systolic < 90)',
      type: 'threshold',
      kind: 'blood-pressure',
      limits: [{ component: 'systolic', comparator: '<', tiers: [{ severity: 'high', value: 90 }], clearAt: 95 }],
      autoResolve: true,
      source: 'Common definition SBP < 90 (NEWS2 gives SBP ≤ 90 three points)',
    },
  ],
  'heart-failure': [
    {
      id: 'weight-gain-day',
      title: 'Weight gain over a day (> 2 lb)',
      type: 'change',
      kind: 'body-weight',
      component: 'value',
      windowHours: 27,
      slack: 1 / 3,
      comparator: '>',
      delta: 0.907,
      severity: 'high',
      autoResolve: true,
      source: `${HF}. Compared with the reading 18–36 h earlier; 2 lb = 0.907 kg`,
    },
    {
      id: 'weight-gain-week',
      title: 'Weight gain over a week (≥ 5 lb)',
      type: 'change',
      kind: 'body-weight',
      component: 'value',
      windowHours: 168,
      slack: 0.15,
      comparator: '>=',
      // 5 lb = 2.26796 kg. Readings from lb scales are stored in kg rounded to 4 decimals, so a
      // gain of exactly 5 lb can arrive as 2.2679 kg: 2.2675 still catches it (4.9 lb = 2.2226 kg).
      delta: 2.2675,
      severity: 'high',
      autoResolve: true,
      source: `${HF}. 5 lb = 2.268 kg (2.2675 allows for kg rounding of lb-scale readings)`,
    },
    {
      id: 'weight-missing',
      title: 'No weight in 48 h',
      type: 'missing',
      kind: 'body-weight',
      hours: 48,
      severity: 'medium',
      autoResolve: true,
      source: 'Heart-failure programs weigh daily; two missed days need outreach',
    },
  ],
  diabetes: [
    {
      id: 'glucose-low',
      title: 'Hypoglycemia',
      type: 'threshold',
      kind: 'blood-glucose',
      limits: [{ component: 'value', comparator: '<', tiers: [{ severity: 'high', value: 70 }, { severity: 'critical', value: 54 }], clearAt: 80 }],
      autoResolve: true,
      source: `${ADA}: level 1 < 70 mg/dL, level 2 < 54 mg/dL`,
    },
    {
      id: 'glucose-high',
      title: 'Hyperglycemia',
      type: 'threshold',
      kind: 'blood-glucose',
      limits: [
        {
          component: 'value',
          comparator: '>',
          tiers: [{ severity: 'medium', value: 250 }, { severity: 'high', value: 399.99 }, { severity: 'critical', value: 599.99 }],
          clearAt: 200,
        },
      ],
      autoResolve: true,
      source: `${ADA}: level 2 > 250 mg/dL; ≥ 400 urgent and ≥ 600 emergency are local-policy choices`,
    },
    {
      id: 'glucose-missing',
      title: 'No glucose reading in 72 h',
      type: 'missing',
      kind: 'blood-glucose',
      hours: 72,
      severity: 'low',
      autoResolve: true,
      source: 'Daily meter programs; three missed days need outreach',
    },
  ],
  copd: [
    {
      id: 'spo2-low',
      title: 'Low oxygen saturation (COPD target 88–92 %)',
      type: 'threshold',
      kind: 'spo2',
      limits: [{ component: 'value', comparator: '<', tiers: [{ severity: 'high', value: 88 }], clearAt: 89 }],
      autoResolve: true,
      source: `${BTS}: 88–92 % target for those at risk of hypercapnic respiratory failure; < 88 % urgent`,
    },
    {
      id: 'spo2-sustained-low',
      title: 'Sustained desaturation (3 of the last 5 below 88 %)',
      type: 'n-of-m',
      kind: 'spo2',
      component: 'value',
      comparator: '<',
      value: 88,
      n: 3,
      m: 5,
      withinHours: 24,
      severity: 'high',
      autoResolve: true,
      source: `${BTS}; sustained rather than single readings (oximeters read less accurately with poor perfusion)`,
    },
    {
      id: 'news2',
      title: 'NEWS2 aggregate score (SpO2 scale 2)',
      type: 'news2',
      windowMinutes: 60,
      spo2Scale: 2,
      tiers: [{ severity: 'high', total: 5 }, { severity: 'critical', total: 7 }],
      singleParameterThreeSeverity: 'medium',
      autoResolve: true,
      source: `${NEWS2}: scale 2 only for clinician-confirmed hypercapnic respiratory failure`,
    },
  ],
};
