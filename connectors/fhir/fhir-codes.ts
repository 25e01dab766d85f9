import { LOINC_SYSTEM, MDC_SYSTEM } from '../../core/model/codes.js';
import type { ReadingKind } from '../../core/model/reading-kinds.js';
import type { DeviceKind } from '../../core/model/registry.js';
import type { MealContext } from '../../core/model/reading.js';
import type { CodeableConcept, Coding } from './fhir-types.js';

/** Code systems, profiles and extensions of the mapping (shared/reference/fhir.md §1). */
export const OBSERVATION_CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const ACT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const SNOMED_SYSTEM = 'http://snomed.info/sct';

/** Core R4 extension: the gateway (hub) that relayed a measurement. */
export const GATEWAY_DEVICE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice';
/**
 * Measurement setting, pinned to the HL7 Vital Signs IG's canonical (the CardX IG defines one
 * too, under another URL): receivers match extensions by exact URL, so it never changes.
 */
export const MEASUREMENT_SETTING_EXTENSION = 'http://hl7.org/fhir/us/vitals/StructureDefinition/MeasurementSettingExt';
export const HOME_SETTING: Coding = { system: SNOMED_SYSTEM, code: '264362003', display: 'Home' };

/** PHD IG convention for test and demo data (simulated devices). */
export const TEST_DATA_TAG: Coding = { system: ACT_REASON_SYSTEM, code: 'HTEST', display: 'test health data' };

export const VITAL_SIGNS_CATEGORY: Coding = { system: OBSERVATION_CATEGORY_SYSTEM, code: 'vital-signs', display: 'Vital Signs' };
export const LABORATORY_CATEGORY: Coding = { system: OBSERVATION_CATEGORY_SYSTEM, code: 'laboratory', display: 'Laboratory' };

const R4 = 'http://hl7.org/fhir/StructureDefinition/';

/** The R4 vital-signs profile each kind conforms to; glucose is not a FHIR vital sign. */
export const PROFILE_OF: Readonly<Record<ReadingKind, string | undefined>> = {
  'blood-pressure': `${R4}bp`,
  'heart-rate': `${R4}heartrate`,
  spo2: `${R4}oxygensat`,
  'body-weight': `${R4}bodyweight`,
  'body-temperature': `${R4}bodytemp`,
  'respiratory-rate': `${R4}resprate`,
  'blood-glucose': undefined,
  // Staff-recorded kinds are not forwarded (KIND_SPECS[kind].forwarded is false).
  consciousness: undefined,
  'supplemental-oxygen': undefined,
};

export const loincCoding = (code: string, display: string): Coding => ({ system: LOINC_SYSTEM, code, display });
export const mdcCoding = (code: string): Coding => ({ system: MDC_SYSTEM, code });
const mdcCodingWithDisplay = (code: string, display: string): Coding => ({ system: MDC_SYSTEM, code, display });

/** SpO2: the R4 `oxygensat` profile requires 2708-6; US Core Pulse Oximetry requires 59408-5 beside it. */
export const SPO2_ARTERIAL = loincCoding('2708-6', 'Oxygen saturation in Arterial blood');

/** Glucose codes by method and unit (LOINC: mass vs moles per volume; capillary vs interstitial). */
export const GLUCOSE_CODES = {
  meter: {
    'mg/dL': loincCoding('41653-7', 'Glucose [Mass/volume] in Capillary blood by Glucometer'),
    'mmol/L': loincCoding('14743-9', 'Glucose [Moles/volume] in Capillary blood by Glucometer'),
    mdc: '160184',
  },
  cgm: {
    'mg/dL': loincCoding('99504-3', 'Glucose [Mass/volume] in Interstitial fluid'),
    'mmol/L': loincCoding('105272-9', 'Glucose [Moles/volume] in Interstitial fluid'),
    mdc: '160212',
  },
} as const;

/**
 * Glucose meal context, as a component of the glucose Observation (glucose is a laboratory
 * Observation, not a vital sign, so no profile closes `component`). The component code is the
 * PHD IG's MDC_CTXT_GLU_MEAL (its PhdCodedEnumerationObservation examples); values carry the HL7
 * v3 TimingEvent code (AC / PC / HS, what `Timing.when` uses), the PHD IG's MDC code where an
 * example shows it, and HL7 v2 table 0916 "fasting" (what `Specimen.collection.fastingStatus`
 * uses), each with text. `unspecified` sends no component.
 */
export const MEAL_CONTEXT_CODE: CodeableConcept = { coding: [mdcCodingWithDisplay('8417864', 'MDC_CTXT_GLU_MEAL')], text: 'Meal context' };
const TIMING_EVENT = 'http://terminology.hl7.org/CodeSystem/v3-TimingEvent';
const V2_0916 = 'http://terminology.hl7.org/CodeSystem/v2-0916';
export const MEAL_CONTEXT_VALUE: Readonly<Record<Exclude<MealContext, 'unspecified'>, CodeableConcept>> = {
  'before-meal': {
    coding: [
      { system: TIMING_EVENT, code: 'AC', display: 'before meal' },
      mdcCodingWithDisplay('8417868', 'MDC_CTXT_GLU_MEAL_PREPRANDIAL'),
    ],
    text: 'Before meal',
  },
  'after-meal': {
    coding: [
      { system: TIMING_EVENT, code: 'PC', display: 'after meal' },
      mdcCodingWithDisplay('8417872', 'MDC_CTXT_GLU_MEAL_POSTPRANDIAL'),
    ],
    text: 'After meal',
  },
  bedtime: { coding: [{ system: TIMING_EVENT, code: 'HS', display: 'before sleep' }], text: 'Bedtime' },
  fasting: { coding: [{ system: V2_0916, code: 'F', display: 'Patient was fasting prior to the procedure.' }], text: 'Fasting' },
};

/**
 * UCUM codes a kind's value may be sent in as the device reported it (the PHD IG asks us to
 * keep the device's value and precision). The profiles bind weight to ucum-bodyweight and
 * temperature to ucum-bodytemp; the others fix one unit, so those are sent canonical.
 */
export const SENDABLE_UNITS: Readonly<Record<ReadingKind, readonly string[]>> = {
  'blood-pressure': ['mm[Hg]'],
  'heart-rate': ['/min'],
  spo2: ['%'],
  'body-weight': ['kg', '[lb_av]', 'g'],
  'body-temperature': ['Cel', '[degF]'],
  'respiratory-rate': ['/min'],
  'blood-glucose': ['mg/dL', 'mmol/L'],
  consciousness: [],
  'supplemental-oxygen': [],
};

/** Human-readable `Quantity.unit` for a UCUM code. */
export function unitText(ucum: string, kind: ReadingKind | 'pulse'): string {
  switch (ucum) {
    case 'mm[Hg]':
      return 'mmHg';
    case '/min':
      return kind === 'respiratory-rate' ? 'breaths/minute' : 'beats/minute';
    case '[lb_av]':
      return 'lb';
    case 'Cel':
      return '°C';
    case '[degF]':
      return '°F';
    default:
      return ucum;
  }
}

export const KIND_TEXT: Readonly<Record<ReadingKind, string>> = {
  'blood-pressure': 'Blood pressure',
  'heart-rate': 'Heart rate',
  spo2: 'Oxygen saturation',
  'body-weight': 'Body weight',
  'body-temperature': 'Body temperature',
  'respiratory-rate': 'Respiratory rate',
  'blood-glucose': 'Glucose',
  consciousness: 'Level of consciousness (ACVPU)',
  'supplemental-oxygen': 'Supplemental oxygen flow',
};

/**
 * MDC device specialization codes (IEEE 11073-10101, partition 8). Only codes seen in a source
 * are sent (fhir.md §1.4); other kinds carry a text type.
 */
export const DEVICE_TYPE: Readonly<Partial<Record<DeviceKind, Coding>>> = {
  'bp-cuff': { system: MDC_SYSTEM, code: '528391', display: 'MDC_DEV_SPEC_PROFILE_BP' },
  'pulse-oximeter': { system: MDC_SYSTEM, code: '528388', display: 'MDC_DEV_SPEC_PROFILE_PULS_OXIM' },
  scale: { system: MDC_SYSTEM, code: '528399', display: 'MDC_DEV_SPEC_PROFILE_SCALE' },
};

export const DEVICE_KIND_TEXT: Readonly<Record<DeviceKind, string>> = {
  'bp-cuff': 'Blood pressure monitor',
  'pulse-oximeter': 'Pulse oximeter',
  scale: 'Weighing scale',
  glucometer: 'Glucose meter',
  cgm: 'Continuous glucose monitor',
  thermometer: 'Thermometer',
  'heart-rate-monitor': 'Heart rate monitor',
  'multi-parameter': 'Multi-parameter monitor',
  hub: 'Personal health gateway',
};

/** Our identifier systems, all under RPM_FHIR_SYSTEM_BASE. */
export interface FhirSystems {
  /** Observation.identifier: the hash of the PHD tuple. */
  readonly reading: string;
  /** Device.identifier: the hash of (manufacturer, model, serial) or of our device id. */
  readonly device: string;
  /** Our patient ids, inside the hashed tuple only (never sent). */
  readonly patient: string;
  /** meta.source of everything we send. */
  readonly source: string;
}

export function fhirSystems(base: string): FhirSystems {
  const b = base.replace(/\/+$/, '');
  return { reading: `${b}/sid/rpm-reading`, device: `${b}/sid/rpm-device`, patient: `${b}/sid/rpm-patient`, source: `${b}/gateway` };
}
