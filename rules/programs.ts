import type { Program, RuleInput } from './model.js';

/**
 * Default rules per condition program, as data, each with its source
 * (shared/reference/alert-thresholds.md) and a one-line action for the nurse. Values are in
 * canonical units. Severity mapping of the reference's words: emergency → critical,
 * urgent → high, warning → medium, routine → low.
 *
 * `general` is the universal safety net and applies to every patient whatever the programs:
 * its `universal` rules (hypertensive crisis, hypotension, level 2 hypoglycemia, hypothermia,
 * SpO2, heart rate, respiratory rate, fever) may be tightened by a program (a later program in
 * PROGRAMS order replaces a rule id, e.g. diabetes adds level 1 hypoglycemia) but a care plan
 * changes or disables them only with a recorded reason. Titles carry no numbers: the limits are
 * added from the rule itself, in the reader's units (rules/describe.ts), so title, rule and chart
 * bands always agree.
 */
const AHA_2025 = '2025 AHA/ACC hypertension guideline (Hypertension 2025;82:e212–e316), categories of the 2017 guideline';
const AHA_CONSUMER = 'AHA consumer BP chart: higher than 180 and/or higher than 120, wait 5 minutes and test again; with symptoms call 911';
const ADA = 'ADA Standards of Care §6; Diabetes Care 2017;40:1622 (hyperglycemia levels)';
const BTS = 'BTS guideline for oxygen use (Thorax 2017;72 Suppl 1); NEWS2 bands';
const NEWS2 = 'Royal College of Physicians, National Early Warning Score 2 (2017)';
const HF = 'Patient-education standard (AHA/Healthwise): call for > 2–3 lb in a day or 5 lb in a week; ESC > 2 kg in 3 days';

/**
 * SpO2 target 88–92 % and NEWS2 scale 2: only with a recorded clinician decision that the patient
 * is at risk of hypercapnic respiratory failure (care plan `hypercapnicRisk`), never by program.
 * These replace the general rules of the same ids.
 */
export const HYPERCAPNIC_RULES: readonly RuleInput[] = [
  {
    id: 'spo2-low',
    title: 'Low oxygen saturation (target 88–92 %, hypercapnic risk)',
    type: 'threshold',
    kind: 'spo2',
    limits: [{ component: 'value', comparator: '<', tiers: [{ severity: 'high', value: 88 }], clearAt: 89, worsenBy: 2 }],
    autoResolve: true,
    universal: true,
    action: 'Call the patient: check the probe and re-measure at rest; below the 88–92 % target needs same-day clinical review; with breathlessness or confusion, emergency care.',
    source: `${BTS}: 88–92 % target for those at risk of hypercapnic respiratory failure (a clinician's decision); < 88 % urgent`,
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
    action: 'NEWS2 5–6: urgent review by a clinician; 7 or more: emergency assessment; a 3 in one parameter: urgent review.',
    source: `${NEWS2}: scale 2 only for clinician-confirmed hypercapnic respiratory failure`,
  },
];

export const PROGRAM_RULES: Readonly<Record<Program, readonly RuleInput[]>> = {
  general: [
    {
      id: 'bp-severe',
      title: 'Severe hypertension',
      type: 'threshold',
      kind: 'blood-pressure',
      limits: [
        { component: 'systolic', comparator: '>=', tiers: [{ severity: 'critical', value: 180 }], clearAt: 170, worsenBy: 10 },
        { component: 'diastolic', comparator: '>=', tiers: [{ severity: 'critical', value: 120 }], clearAt: 110, worsenBy: 10 },
      ],
      confirmation: { withinMinutes: 15, minMinutes: 3, initialSeverity: 'high', notConfirmedSeverity: 'medium' },
      universal: true,
      action:
        'Ask for a repeat reading in 5 minutes. If still at or above the limit, or with chest pain, shortness of breath, back pain, numbness or weakness, vision change or difficulty speaking, call 911.',
      source: `${AHA_2025}: > 180 and/or > 120 is severe hypertension (≥ is the conservative comparator); ${AHA_CONSUMER}`,
    },
    {
      id: 'bp-low',
      title: 'Hypotension',
      type: 'threshold',
      kind: 'blood-pressure',
      limits: [{ component: 'systolic', comparator: '<', tiers: [{ severity: 'high', value: 90 }], clearAt: 95, worsenBy: 10 }],
      autoResolve: true,
      universal: true,
      action: 'Call the patient: ask about dizziness or fainting and re-measure seated; with symptoms, urgent clinical review.',
      source: 'Common definition SBP < 90 (NEWS2 gives SBP ≤ 90 three points)',
    },
    {
      id: 'glucose-low',
      title: 'Hypoglycemia',
      type: 'threshold',
      kind: 'blood-glucose',
      limits: [{ component: 'value', comparator: '<', tiers: [{ severity: 'critical', value: 54, label: 'Level 2 hypoglycemia' }], clearAt: 70, worsenBy: 10 }],
      autoResolve: true,
      universal: true,
      action: 'Call the patient now: 15 g of fast-acting carbohydrate and a recheck in 15 minutes; unable to swallow or confused: call 911.',
      source: `${ADA}: level 2 < 54 mg/dL (3.0 mmol/L) is clinically significant in anyone`,
    },
    {
      id: 'spo2-low',
      title: 'Low oxygen saturation',
      type: 'threshold',
      kind: 'spo2',
      limits: [{ component: 'value', comparator: '<', tiers: [{ severity: 'medium', value: 94 }, { severity: 'high', value: 92 }], clearAt: 95, worsenBy: 2 }],
      autoResolve: true,
      universal: true,
      action: 'Call the patient: check the probe and re-measure at rest; below 92 % needs same-day clinical review; with breathlessness or confusion, emergency care.',
      source: `${BTS}: target 94–98 %; < 92 % urgent, 92–93 % warning`,
    },
    {
      id: 'spo2-drop',
      title: 'SpO2 below the patient’s baseline',
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
      action: 'Call the patient: ask about breathlessness and infection symptoms; re-measure at rest.',
      source: `${BTS}: clinical review if saturation falls by ≥ 3 % from baseline`,
    },
    {
      // Fed by heart-rate readings and by the pulse a BP cuff or an oximeter counts.
      id: 'heart-rate-abnormal',
      title: 'Heart rate out of range',
      type: 'threshold',
      kind: 'heart-rate',
      limits: [
        { component: 'value', comparator: '<', tiers: [{ severity: 'medium', value: 50 }, { severity: 'high', value: 41 }], clearAt: 55, worsenBy: 10 },
        { component: 'value', comparator: '>', tiers: [{ severity: 'medium', value: 110 }, { severity: 'high', value: 130 }], clearAt: 100, worsenBy: 10 },
      ],
      autoResolve: true,
      universal: true,
      action: 'Re-measure at rest and ask about dizziness, fainting, chest pain or palpitations; at the high tier, urgent clinical review.',
      source: `${NEWS2}: ≤ 40 and ≥ 131 are three-point bands; warning < 50 or > 110`,
    },
    {
      id: 'respiratory-rate-abnormal',
      title: 'Respiratory rate out of range',
      type: 'threshold',
      kind: 'respiratory-rate',
      limits: [
        { component: 'value', comparator: '<=', tiers: [{ severity: 'high', value: 8 }], clearAt: 11, worsenBy: 2 },
        { component: 'value', comparator: '>=', tiers: [{ severity: 'medium', value: 21 }, { severity: 'high', value: 25 }], clearAt: 20, worsenBy: 4 },
      ],
      autoResolve: true,
      universal: true,
      action: 'Count the rate again on a call (a full minute) and ask about breathlessness; at the high tier, urgent clinical review.',
      source: `${NEWS2}: 12–20 normal; 21–24 scores 2; ≤ 8 and ≥ 25 score 3 (urgent)`,
    },
    {
      id: 'fever',
      title: 'Fever',
      type: 'threshold',
      kind: 'body-temperature',
      limits: [{ component: 'value', comparator: '>=', tiers: [{ severity: 'medium', value: 38 }, { severity: 'high', value: 39.1 }], clearAt: 37.8, worsenBy: 0.5 }],
      autoResolve: true,
      universal: true,
      action: 'Call the patient: ask about infection symptoms and fluids; at the high tier, or with confusion or breathlessness, urgent review.',
      source: 'CDC fever definition ≥ 38.0 °C; NEWS2 ≥ 39.1 °C scores 2',
    },
    {
      id: 'hypothermia',
      title: 'Hypothermia',
      type: 'threshold',
      kind: 'body-temperature',
      limits: [{ component: 'value', comparator: '<=', tiers: [{ severity: 'high', value: 35 }], clearAt: 35.5, worsenBy: 0.5 }],
      autoResolve: true,
      universal: true,
      action: 'Call the patient: re-measure (thermometer placement); if confirmed, urgent clinical review.',
      source: `${NEWS2}: ≤ 35.0 °C scores 3 (urgent); reference §4.5`,
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
      action: 'NEWS2 5–6: urgent review by a clinician; 7 or more: emergency assessment; a 3 in one parameter: urgent review.',
      source: `${NEWS2}: 5–6 urgent review, ≥ 7 emergency, a 3 in one parameter urgent ward review. Scored only when every parameter is present (staff record consciousness and oxygen).`,
    },
  ],
  hypertension: [
    {
      id: 'bp-mean-7d',
      title: 'Home BP 7-day mean above target',
      type: 'rolling-mean',
      kind: 'blood-pressure',
      windowDays: 7,
      minReadings: 6,
      minDays: 3,
      limits: [
        { component: 'systolic', comparator: '>=', value: 130 },
        { component: 'diastolic', comparator: '>=', value: 80 },
      ],
      severity: 'low',
      autoResolve: true,
      action: 'Review measuring technique and medication adherence with the patient; flag for the provider at the next review.',
      source: `${AHA_2025}: home BP average ≥ 130/80 is uncontrolled; apply to averages, never single readings (home protocol: morning and evening readings over several days)`,
    },
  ],
  'heart-failure': [
    {
      id: 'weight-gain-day',
      title: 'Weight gain over a day',
      type: 'change',
      kind: 'body-weight',
      component: 'value',
      reference: 'extreme',
      windowHours: 24,
      // Yesterday morning's weight still counts when today's is taken up to 4 hours later.
      graceHours: 4,
      comparator: '>',
      delta: 0.907,
      severity: 'high',
      autoResolve: true,
      action: 'Call the patient: ask about breathlessness, swelling and diuretic doses; follow the heart-failure action plan (tell the provider today).',
      source: `${HF}. Compared with the lowest weight of the previous 24 h; 2 lb = 0.907 kg`,
    },
    {
      id: 'weight-gain-week',
      title: 'Weight gain over a week',
      type: 'change',
      kind: 'body-weight',
      component: 'value',
      reference: 'extreme',
      windowHours: 168,
      graceHours: 4,
      comparator: '>=',
      // 5 lb = 2.26796 kg. Readings from lb scales are stored in kg rounded to 4 decimals, so a
      // gain of exactly 5 lb can arrive as 2.2679 kg: 2.2675 still catches it (4.9 lb = 2.2226 kg).
      delta: 2.2675,
      severity: 'high',
      autoResolve: true,
      action: 'Call the patient: ask about breathlessness, swelling and diuretic doses; follow the heart-failure action plan (tell the provider today).',
      source: `${HF}. Compared with the lowest weight of the previous 7 days; 5 lb = 2.268 kg`,
    },
    {
      id: 'weight-missing',
      title: 'No weight',
      type: 'missing',
      kind: 'body-weight',
      hours: 48,
      severity: 'medium',
      autoResolve: true,
      action: 'Call the patient: check the scale works and remind them to weigh every morning.',
      source: 'Heart-failure programs weigh daily; two missed days need outreach',
    },
  ],
  diabetes: [
    {
      // Tightens the universal rule: level 1 (< 70) as well as level 2 (< 54).
      id: 'glucose-low',
      title: 'Hypoglycemia',
      type: 'threshold',
      kind: 'blood-glucose',
      limits: [
        {
          component: 'value',
          comparator: '<',
          tiers: [
            { severity: 'high', value: 70, label: 'Level 1 hypoglycemia' },
            { severity: 'critical', value: 54, label: 'Level 2 hypoglycemia' },
          ],
          clearAt: 80,
          worsenBy: 10,
        },
      ],
      autoResolve: true,
      universal: true,
      action: 'Call the patient now: 15 g of fast-acting carbohydrate and a recheck in 15 minutes; unable to swallow or confused: call 911.',
      source: `${ADA}: level 1 < 70 mg/dL (3.9 mmol/L), level 2 < 54 mg/dL (3.0 mmol/L)`,
    },
    {
      id: 'glucose-high',
      title: 'Hyperglycemia',
      type: 'threshold',
      kind: 'blood-glucose',
      limits: [
        { component: 'value', comparator: '>', tiers: [{ severity: 'medium', value: 250, label: 'Level 2 hyperglycemia' }], clearAt: 200, worsenBy: 50 },
        {
          component: 'value',
          comparator: '>=',
          tiers: [
            { severity: 'high', value: 400, label: 'Severe hyperglycemia' },
            { severity: 'critical', value: 600, label: 'Hyperglycemia in the emergency range' },
          ],
          clearAt: 200,
          worsenBy: 50,
        },
      ],
      autoResolve: true,
      action: 'Call the patient: ask about thirst, vomiting and missed insulin; check ketones above {{glucose:240}}; in the emergency range, send to emergency care.',
      source: `${ADA}: level 2 > 250 mg/dL; ≥ 400 urgent and ≥ 600 emergency are local-policy choices`,
    },
    {
      id: 'glucose-missing',
      title: 'No glucose reading',
      type: 'missing',
      kind: 'blood-glucose',
      hours: 72,
      severity: 'low',
      autoResolve: true,
      action: 'Call the patient: check the meter and supplies, and remind them of their testing schedule.',
      source: 'Daily meter programs; three missed days need outreach',
    },
  ],
  copd: [
    {
      id: 'spo2-sustained-low',
      title: 'Sustained desaturation',
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
      action: 'Call the patient: ask about breathlessness, sputum and rescue-inhaler use; follow the COPD action plan.',
      source: `${BTS}; sustained rather than single readings (oximeters read less accurately with poor perfusion)`,
    },
  ],
};
