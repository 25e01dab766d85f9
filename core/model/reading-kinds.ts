import { type Coding, loinc } from './codes.js';

/**
 * The vital-sign kinds the gateway understands, with their LOINC codes, canonical
 * UCUM units, MDC codes and plausibility bounds. Codes and units follow
 * shared/reference/fhir.md §1.2 (FHIR R4 vital-signs profiles, US Core, CGM IG).
 */
export const READING_KINDS = [
  'blood-pressure',
  'heart-rate',
  'spo2',
  'body-weight',
  'body-temperature',
  'blood-glucose',
  'respiratory-rate',
  'consciousness',
  'supplemental-oxygen',
] as const;
export type ReadingKind = (typeof READING_KINDS)[number];

/**
 * Kinds that only staff record (no home device measures them), e.g. during a call, so that
 * NEWS2 can be completed: consciousness on the ACVPU scale and whether the patient breathes
 * supplemental oxygen. A device that posts one is refused.
 */
export const STAFF_ONLY_KINDS: ReadonlySet<ReadingKind> = new Set(['consciousness', 'supplemental-oxygen']);

/**
 * ACVPU (RCP NEWS2 2017), stored as an ordinal in the reading's single component: 0 alert,
 * 1 new confusion, 2 responds to voice, 3 to pain, 4 unresponsive.
 */
export const ACVPU_LEVELS = ['alert', 'new-confusion', 'voice', 'pain', 'unresponsive'] as const;
export type AcvpuLevel = (typeof ACVPU_LEVELS)[number];
export const ACVPU_LABEL: Readonly<Record<AcvpuLevel, string>> = {
  alert: 'Alert',
  'new-confusion': 'New confusion',
  voice: 'Responds to voice',
  pain: 'Responds to pain',
  unresponsive: 'Unresponsive',
};
/** Our own code system for values that have no verified standard code yet (never forwarded to EHRs). */
export const LOCAL_OBSERVATION_SYSTEM = 'urn:rpm-gateway:observation';

export const COMPONENT_NAMES = ['systolic', 'diastolic', 'mean', 'pulse', 'value'] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

/**
 * Quantities. Each names the canonical UCUM unit readings are normalized to and the
 * spellings devices use for the units we accept, mapped to their UCUM code.
 */
export type Quantity = 'pressure' | 'rate' | 'percent' | 'mass' | 'temperature' | 'glucose' | 'acvpu' | 'flow';

export const CANONICAL_UNIT: Record<Quantity, string> = {
  pressure: 'mm[Hg]',
  rate: '/min',
  percent: '%',
  mass: 'kg',
  temperature: 'Cel',
  glucose: 'mg/dL',
  acvpu: '{ACVPU}',
  flow: 'L/min',
};

/**
 * Device spellings → UCUM code. Matching is case-sensitive first, then case-insensitive.
 * Maps, not object literals: the unit is device input, and an object literal would answer
 * `constructor` or `__proto__` with a function from Object.prototype.
 */
export const UNIT_ALIASES: Readonly<Record<Quantity, ReadonlyMap<string, string>>> = {
  pressure: new Map([['mm[Hg]', 'mm[Hg]'], ['mmHg', 'mm[Hg]'], ['mm Hg', 'mm[Hg]'], ['kPa', 'kPa']]),
  rate: new Map([['/min', '/min'], ['1/min', '/min'], ['bpm', '/min'], ['beats/min', '/min'], ['{beats}/min', '/min'], ['breaths/min', '/min'], ['{breaths}/min', '/min'], ['rpm', '/min']]),
  percent: new Map([['%', '%']]),
  mass: new Map([['kg', 'kg'], ['g', 'g'], ['[lb_av]', '[lb_av]'], ['lb', '[lb_av]'], ['lbs', '[lb_av]']]),
  temperature: new Map([['Cel', 'Cel'], ['°C', 'Cel'], ['C', 'Cel'], ['degC', 'Cel'], ['[degF]', '[degF]'], ['°F', '[degF]'], ['F', '[degF]'], ['degF', '[degF]']]),
  glucose: new Map([['mg/dL', 'mg/dL'], ['mmol/L', 'mmol/L']]),
  acvpu: new Map([['{ACVPU}', '{ACVPU}']]),
  flow: new Map([['L/min', 'L/min'], ['l/min', 'L/min'], ['LPM', 'L/min']]),
};

/**
 * The UCUM code of a device's unit spelling for a quantity, or undefined when not accepted.
 * Exact spelling first, then case-insensitive ("MMHG", "Kg").
 */
export function ucumCodeOf(quantity: Quantity, unit: string): string | undefined {
  const aliases = UNIT_ALIASES[quantity];
  const exact = aliases.get(unit);
  if (exact !== undefined) return exact;
  const lower = unit.trim().toLowerCase();
  for (const [alias, code] of aliases) {
    if (alias.toLowerCase() === lower) return code;
  }
  return undefined;
}

/**
 * Molecular weight of glucose (g/mol), needed by UCUM to convert between mmol/L and mg/dL.
 * This is a property of the substance, not a unit factor.
 */
export const GLUCOSE_MOLECULAR_WEIGHT = 180.156;

export interface ComponentSpec {
  readonly name: ComponentName;
  readonly code: Coding;
  readonly mdc: string | undefined;
  readonly quantity: Quantity;
  /**
   * Physiologically possible range in the canonical unit, inclusive. Values outside are
   * rejected as impossible (device fault, wrong unit, typing error), never stored.
   * The bounds are deliberately wide: they catch the impossible, not the alarming.
   */
  readonly bounds: readonly [min: number, max: number];
}

export interface KindSpec {
  readonly kind: ReadingKind;
  readonly code: Coding;
  readonly mdc: string | undefined;
  readonly category: 'vital-signs' | 'laboratory' | 'survey';
  readonly components: readonly ComponentSpec[];
  /** Sent to EHRs as FHIR Observations (false where no verified standard code exists yet). */
  readonly forwarded: boolean;
}

const pulse: ComponentSpec = {
  name: 'pulse',
  code: loinc('8867-4', 'Heart rate'),
  mdc: '149546',
  quantity: 'rate',
  // Slowest and fastest rates a home device can plausibly count.
  bounds: [20, 300],
};

export const KIND_SPECS: Readonly<Record<ReadingKind, KindSpec>> = {
  'blood-pressure': {
    kind: 'blood-pressure',
    code: loinc('85354-9', 'Blood pressure panel with all children optional'),
    mdc: '150020',
    category: 'vital-signs',
    forwarded: true,
    components: [
      { name: 'systolic', code: loinc('8480-6', 'Systolic blood pressure'), mdc: '150021', quantity: 'pressure', bounds: [40, 300] },
      { name: 'diastolic', code: loinc('8462-4', 'Diastolic blood pressure'), mdc: '150022', quantity: 'pressure', bounds: [15, 200] },
      { name: 'mean', code: loinc('8478-0', 'Mean blood pressure'), mdc: '150023', quantity: 'pressure', bounds: [20, 250] },
      pulse,
    ],
  },
  'heart-rate': {
    kind: 'heart-rate',
    code: loinc('8867-4', 'Heart rate'),
    mdc: '149546',
    category: 'vital-signs',
    forwarded: true,
    components: [{ ...pulse, name: 'value' }],
  },
  spo2: {
    kind: 'spo2',
    code: loinc('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry'),
    mdc: '150456',
    category: 'vital-signs',
    forwarded: true,
    components: [
      // Below ~20 % no oximeter reports a value; above 100 % is impossible.
      { name: 'value', code: loinc('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry'), mdc: '150456', quantity: 'percent', bounds: [20, 100] },
      { ...pulse, mdc: '149530' },
    ],
  },
  'body-weight': {
    kind: 'body-weight',
    code: loinc('29463-7', 'Body weight'),
    mdc: '188736',
    category: 'vital-signs',
    forwarded: true,
    // 0.3 kg: a premature newborn; 650 kg: above the heaviest recorded human.
    components: [{ name: 'value', code: loinc('29463-7', 'Body weight'), mdc: '188736', quantity: 'mass', bounds: [0.3, 650] }],
  },
  'body-temperature': {
    kind: 'body-temperature',
    code: loinc('8310-5', 'Body temperature'),
    mdc: '150364',
    category: 'vital-signs',
    forwarded: true,
    // Outside 25–46 °C a home thermometer is measuring something other than a living body.
    components: [{ name: 'value', code: loinc('8310-5', 'Body temperature'), mdc: '150364', quantity: 'temperature', bounds: [25, 46] }],
  },
  'blood-glucose': {
    kind: 'blood-glucose',
    code: loinc('41653-7', 'Glucose [Mass/volume] in Capillary blood by Glucometer'),
    mdc: '160184',
    category: 'laboratory',
    forwarded: true,
    // Meters read about 10–600 mg/dL; the highest survived value reported is ~2,650 mg/dL.
    components: [{ name: 'value', code: loinc('41653-7', 'Glucose [Mass/volume] in Capillary blood by Glucometer'), mdc: '160184', quantity: 'glucose', bounds: [10, 2700] }],
  },
  'respiratory-rate': {
    kind: 'respiratory-rate',
    code: loinc('9279-1', 'Respiratory rate'),
    mdc: '151562',
    category: 'vital-signs',
    forwarded: true,
    components: [{ name: 'value', code: loinc('9279-1', 'Respiratory rate'), mdc: '151562', quantity: 'rate', bounds: [2, 80] }],
  },
  // Staff-recorded (STAFF_ONLY_KINDS). No standard code for ACVPU is verified yet, so it carries
  // our own code and stays out of FHIR forwarding.
  consciousness: {
    kind: 'consciousness',
    code: { system: LOCAL_OBSERVATION_SYSTEM, code: 'consciousness-acvpu', display: 'Level of consciousness (ACVPU)' },
    mdc: undefined,
    category: 'survey',
    forwarded: false,
    components: [
      {
        name: 'value',
        code: { system: LOCAL_OBSERVATION_SYSTEM, code: 'consciousness-acvpu', display: 'Level of consciousness (ACVPU)' },
        mdc: undefined,
        quantity: 'acvpu',
        bounds: [0, 4],
      },
    ],
  },
  // The flow of supplemental oxygen; 0 L/min = breathing room air (NEWS2 "air or oxygen?").
  // LOINC 3151-8 is the inhaled O2 flow rate of US Core's pulse-oximetry profile.
  'supplemental-oxygen': {
    kind: 'supplemental-oxygen',
    code: loinc('3151-8', 'Inhaled oxygen flow rate'),
    mdc: undefined,
    category: 'vital-signs',
    forwarded: false,
    components: [{ name: 'value', code: loinc('3151-8', 'Inhaled oxygen flow rate'), mdc: undefined, quantity: 'flow', bounds: [0, 60] }],
  },
};

/** The kinds sent to EHRs (those with a verified standard code); a destination takes these by default. */
export const FORWARDED_KINDS = READING_KINDS.filter((k) => KIND_SPECS[k].forwarded);

/** CGM readings come from interstitial fluid and carry their own LOINC code (HL7 CGM IG). */
export const CGM_GLUCOSE_CODE = loinc('99504-3', 'Glucose [Mass/volume] in Interstitial fluid');
export const CGM_GLUCOSE_MDC = '160212';

export function componentSpec(kind: ReadingKind, name: ComponentName): ComponentSpec | undefined {
  return KIND_SPECS[kind].components.find((c) => c.name === name);
}
