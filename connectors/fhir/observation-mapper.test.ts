import type { Device as FhirDevice, Observation as FhirObservation } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/model/reading.js';
import type { Device } from '../../core/model/registry.js';
import { normalizeReading } from '../../pipeline/normalize.js';
import { idempotencyKey, readingId } from '../../pipeline/reading-id.js';
import { conformanceErrors, US_CORE_BP, ucumErrors, validationErrors } from '../../test/fhir/conformance.js';
import { fhirDefinitions } from '../../test/fhir/definitions.js';
import { deviceIdentifier, logicalDeviceReference, mapDevice } from './device-mapper.js';
import { fhirSystems, GATEWAY_DEVICE_EXTENSION, MEASUREMENT_SETTING_EXTENSION } from './fhir-codes.js';
import type { Observation } from './fhir-types.js';
import { keepPrecision, type MappingContext, mapReading } from './observation-mapper.js';

const systems = fhirSystems('https://rpm.test/fhir');
const NOW = Date.parse('2026-03-02T12:41:09Z');

/** A committed reading exactly as ingest would build it (real normalization). */
function reading(input: Record<string, unknown>, overrides: Partial<Reading> = {}): Reading {
  const result = normalizeReading(
    { measuredAt: '2026-03-02T07:41:05-05:00', ...input },
    { transport: 'http', receivedAtMs: NOW, limits: { futureToleranceMs: 300_000, maxReadingAgeMs: 365 * 86_400_000 }, defaultGlucoseMethod: 'meter' },
  );
  if (!result.ok) throw new Error(`test reading refused: ${result.problem.message}`);
  const d = result.draft;
  const key = idempotencyKey(d.kind, d.measuredAtMs);
  return {
    id: readingId('cuff-1', key),
    clientId: d.clientId,
    idempotencyKey: key,
    deviceId: 'cuff-1',
    hubId: null,
    patientId: 'p-123',
    kind: d.kind,
    code: d.code,
    components: d.components,
    reported: d.reported,
    measuredAt: d.measuredAt,
    measuredAtMs: d.measuredAtMs,
    utcOffsetMinutes: d.utcOffsetMinutes,
    receivedAtMs: d.receivedAtMs,
    entryMethod: d.entryMethod,
    setting: d.setting,
    mealContext: d.mealContext,
    glucoseMethod: d.glucoseMethod,
    sequence: d.sequence,
    transport: d.transport,
    flags: [],
    recordedBy: null,
    ...overrides,
  };
}

const ctx = (overrides: Partial<MappingContext> = {}): MappingContext => ({
  systems,
  patient: { reference: 'Patient/p-123' },
  device: { reference: 'Device/dev-1' },
  hub: undefined,
  simulated: false,
  ...overrides,
});

/** Our hand-written types against @medplum/fhirtypes: the compiler checks the shapes match. */
const asFhir = (o: Observation): FhirObservation => o as FhirObservation;

const LOINC = (o: Observation): string[] => (o.code.coding ?? []).filter((c) => c.system === 'http://loinc.org').map((c) => c.code);

const cases: Array<[string, Record<string, unknown>, Partial<Reading>?]> = [
  ['blood pressure with mean and pulse (mmHg)', { kind: 'blood-pressure', systolic: 142, diastolic: 91, mean: 108, pulse: 72, unit: 'mmHg' }],
  ['blood pressure in kPa', { kind: 'blood-pressure', systolic: 18.9, diastolic: 12.1, unit: 'kPa' }],
  ['heart rate', { kind: 'heart-rate', value: 64, unit: 'bpm' }],
  ['SpO2 with pulse', { kind: 'spo2', value: 96, pulse: 81, unit: '%' }],
  ['body weight in kg', { kind: 'body-weight', value: 82.4, unit: 'kg' }],
  ['body weight in lb', { kind: 'body-weight', value: 181.6, unit: 'lb' }],
  ['body weight in g', { kind: 'body-weight', value: 4200, unit: 'g' }],
  ['body temperature in °C', { kind: 'body-temperature', value: 37.2, unit: '°C' }],
  ['body temperature in °F', { kind: 'body-temperature', value: 99.1, unit: '°F' }],
  ['respiratory rate', { kind: 'respiratory-rate', value: 16, unit: 'breaths/min' }],
  ['glucose meter, mg/dL', { kind: 'blood-glucose', value: 112, unit: 'mg/dL', mealContext: 'fasting' }],
  ['glucose meter, mmol/L', { kind: 'blood-glucose', value: 6.2, unit: 'mmol/L' }],
  ['glucose before a meal', { kind: 'blood-glucose', value: 98, unit: 'mg/dL', mealContext: 'before-meal' }],
  ['glucose after a meal', { kind: 'blood-glucose', value: 8.9, unit: 'mmol/L', mealContext: 'after-meal' }],
  ['glucose at bedtime', { kind: 'blood-glucose', value: 131, unit: 'mg/dL', mealContext: 'bedtime' }],
  ['CGM glucose, mg/dL', { kind: 'blood-glucose', value: 140, unit: 'mg/dL', method: 'cgm' }],
  ['CGM glucose, mmol/L', { kind: 'blood-glucose', value: 7.8, unit: 'mmol/L', method: 'cgm' }],
  ['a time without seconds and a compact offset', { kind: 'heart-rate', value: 70, unit: '/min', measuredAt: '2026-03-02T07:41+0530' }],
  ['a clinic reading', { kind: 'heart-rate', value: 70, unit: '/min', setting: 'clinic' }],
  ['an ambiguous-user reading', { kind: 'body-weight', value: 80, unit: 'kg', entryMethod: 'ambiguous-user' }],
];

describe('FHIR mapping: every Observation the mapper can emit conforms', () => {
  beforeAll(() => {
    fhirDefinitions();
  });

  for (const [name, input, overrides] of cases) {
    it(`${name}: R4 vital-signs profile (US Core where stricter) and UCUM`, () => {
      const r = reading(input, overrides);
      for (const context of [
        ctx(),
        ctx({ hub: { reference: 'Device/hub-7' }, simulated: true }),
        ctx({ patient: { identifier: { system: 'https://ehr.test/mrn', value: 'p-123' } }, device: logicalDeviceReference(device(), systems) }),
        ctx({ device: undefined }),
      ]) {
        const observations = mapReading(r, context);
        for (const o of observations) expect(conformanceErrors(asFhir(o)), `${name}: ${JSON.stringify(o)}`).toEqual([]);
      }
    });
  }

  it('puts BP in components 8480-6/8462-4 (mm[Hg]) under 85354-9 with MDC codes, and the cuff pulse in its own heart-rate Observation', () => {
    const [bp, hr, more] = mapReading(reading({ kind: 'blood-pressure', systolic: 142, diastolic: 91, mean: 108, pulse: 72, unit: 'mmHg' }), ctx());
    expect(more).toBeUndefined();
    expect(bp?.code.coding).toEqual([
      { system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel with all children optional' },
      { system: 'urn:iso:std:iso:11073:10101', code: '150020' },
    ]);
    expect(bp?.valueQuantity).toBeUndefined();
    expect(bp?.component?.map((c) => [c.code.coding?.map((x) => x.code), c.valueQuantity])).toEqual([
      [['8480-6', '150021'], { value: 142, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }],
      [['8462-4', '150022'], { value: 91, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }],
      [['8478-0', '150023'], { value: 108, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }],
    ]);
    expect(hr?.code.coding?.map((c) => c.code)).toEqual(['8867-4', '149546']);
    expect(hr?.valueQuantity).toEqual({ value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' });
    expect(hr?.identifier[0]?.value).not.toBe(bp?.identifier[0]?.value);
    // kPa is not allowed by the profile: the value goes in mm[Hg], with the precision the device
    // had (0.1 kPa is about 0.75 mm[Hg]: whole mm[Hg]), not the converter's 141.762.
    const [kpa] = mapReading(reading({ kind: 'blood-pressure', systolic: 18.9, diastolic: 12.1, unit: 'kPa' }), ctx());
    expect(kpa?.component?.map((c) => c.valueQuantity)).toEqual([
      { value: 142, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
      { value: 91, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    ]);
  });

  it('keeps the precision the device had when the value must be converted', () => {
    const sys = (input: Record<string, unknown>) => mapReading(reading({ kind: 'blood-pressure', diastolic: 10, unit: 'kPa', ...input }), ctx())[0]?.component?.[0]?.valueQuantity?.value;
    expect(sys({ systolic: 17.3 })).toBe(130);
    expect(sys({ systolic: 16 })).toBe(120);
    // Two decimals of kPa (steps of 0.075 mm[Hg]): one decimal of mm[Hg].
    expect(sys({ systolic: 17.33 })).toBe(130);
    expect(sys({ systolic: 17.37 })).toBe(130.3);
    expect(keepPrecision(129.7607, 17.3)).toBe(130);
    expect(keepPrecision(0, 0)).toBe(0);
  });

  it('codes SpO2 with both 59408-5 and 2708-6 and the oximeter pulse with MDC 149530', () => {
    const [spo2, pulse] = mapReading(reading({ kind: 'spo2', value: 96, pulse: 81, unit: '%' }), ctx());
    expect(LOINC(spo2 as Observation)).toEqual(['59408-5', '2708-6']);
    expect(spo2?.code.coding?.find((c) => c.system === 'urn:iso:std:iso:11073:10101')?.code).toBe('150456');
    expect(pulse?.code.coding?.map((c) => c.code)).toEqual(['8867-4', '149530']);
  });

  it('keeps the value and unit the device reported where the profile allows them', () => {
    expect(mapReading(reading({ kind: 'body-weight', value: 181.6, unit: 'lb' }), ctx())[0]?.valueQuantity).toEqual({
      value: 181.6,
      unit: 'lb',
      system: 'http://unitsofmeasure.org',
      code: '[lb_av]',
    });
    expect(mapReading(reading({ kind: 'body-temperature', value: 99.1, unit: 'F' }), ctx())[0]?.valueQuantity).toMatchObject({ value: 99.1, code: '[degF]' });
  });

  it('codes glucose as laboratory, capillary or interstitial, by unit', () => {
    const code = (input: Record<string, unknown>) => {
      const [o] = mapReading(reading(input), ctx());
      return [o?.category[0]?.coding?.[0]?.code, ...(o?.code.coding?.map((c) => c.code) ?? []), o?.valueQuantity?.code];
    };
    expect(code({ kind: 'blood-glucose', value: 112, unit: 'mg/dL' })).toEqual(['laboratory', '41653-7', '160184', 'mg/dL']);
    expect(code({ kind: 'blood-glucose', value: 6.2, unit: 'mmol/L' })).toEqual(['laboratory', '14743-9', '160184', 'mmol/L']);
    expect(code({ kind: 'blood-glucose', value: 140, unit: 'mg/dL', method: 'cgm' })).toEqual(['laboratory', '99504-3', '160212', 'mg/dL']);
    expect(code({ kind: 'blood-glucose', value: 7.8, unit: 'mmol/L', method: 'cgm' })).toEqual(['laboratory', '105272-9', '160212', 'mmol/L']);
  });

  it('sends the glucose meal context as a coded component (not part of the identifier), none when unspecified', () => {
    const meal = (mealContext: string | undefined) => {
      const [o] = mapReading(reading({ kind: 'blood-glucose', value: 112, unit: 'mg/dL', ...(mealContext === undefined ? {} : { mealContext }) }), ctx());
      return o;
    };
    const context = (mealContext: string) => meal(mealContext)?.component?.map((c) => [c.code.coding?.map((x) => `${x.system}|${x.code}`), c.valueCodeableConcept]);
    expect(context('fasting')).toEqual([
      [
        ['urn:iso:std:iso:11073:10101|8417864'],
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0916', code: 'F', display: 'Patient was fasting prior to the procedure.' }], text: 'Fasting' },
      ],
    ]);
    expect(context('before-meal')?.[0]?.[1]).toMatchObject({ coding: [{ code: 'AC' }, { code: '8417868' }], text: 'Before meal' });
    expect(context('after-meal')?.[0]?.[1]).toMatchObject({ coding: [{ code: 'PC' }, { code: '8417872' }], text: 'After meal' });
    expect(context('bedtime')?.[0]?.[1]).toMatchObject({ coding: [{ code: 'HS' }], text: 'Bedtime' });
    expect(meal('unspecified')?.component).toBeUndefined();
    expect(meal(undefined)?.component).toBeUndefined();
    expect(meal('fasting')?.valueQuantity).toMatchObject({ value: 112, code: 'mg/dL' });
    // The same measurement with or without its context is the same Observation at the EHR.
    expect(meal('fasting')?.identifier).toEqual(meal(undefined)?.identifier);
  });

  it('records provenance: measuring device, hub in the gatewayDevice extension, patient as performer, home setting, meta.source, HTEST for simulated devices', () => {
    const r = reading({ kind: 'heart-rate', value: 64, unit: 'bpm' }, { hubId: 'hub-7' });
    const [o] = mapReading(r, ctx({ hub: { reference: 'Device/hub-7' }, simulated: true }));
    expect(o?.device).toEqual({ reference: 'Device/dev-1' });
    expect(o?.extension).toEqual([
      { url: GATEWAY_DEVICE_EXTENSION, valueReference: { reference: 'Device/hub-7' } },
      { url: MEASUREMENT_SETTING_EXTENSION, valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '264362003', display: 'Home' }] } },
    ]);
    expect(o?.subject).toEqual({ reference: 'Patient/p-123' });
    expect(o?.performer).toEqual([{ reference: 'Patient/p-123' }]);
    expect(o?.meta).toEqual({
      source: 'https://rpm.test/fhir/gateway',
      profile: ['http://hl7.org/fhir/StructureDefinition/heartrate'],
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST', display: 'test health data' }],
    });
    expect(o?.effectiveDateTime).toBe('2026-03-02T07:41:05-05:00');
    expect(o?.issued).toBe('2026-03-02T12:41:09.000Z');
    // Not simulated: no security label; an ambiguous user: no performer.
    const [plain] = mapReading(reading({ kind: 'heart-rate', value: 64, unit: 'bpm', entryMethod: 'ambiguous-user' }), ctx());
    expect(plain?.meta.security).toBeUndefined();
    expect(plain?.performer).toBeUndefined();
    // A compact offset becomes a FHIR dateTime with the same local time and offset.
    const [compact] = mapReading(reading({ kind: 'heart-rate', value: 64, unit: 'bpm', measuredAt: '2026-03-02T07:41+0530' }), ctx());
    expect(compact?.effectiveDateTime).toBe('2026-03-02T07:41:00.000+05:30');
  });

  it('identifies each Observation by a SHA-256 of the PHD tuple under our system: deterministic, no PHI', () => {
    const r = reading({ id: 'client-1', kind: 'heart-rate', value: 64, unit: 'bpm' });
    const [a] = mapReading(r, ctx());
    const [again] = mapReading({ ...r, id: 'other-id', clientId: 'client-2', receivedAtMs: NOW + 60_000 }, ctx({ hub: { reference: 'Device/x' } }));
    const [otherValue] = mapReading(reading({ kind: 'heart-rate', value: 65, unit: 'bpm' }), ctx());
    const [otherPatient] = mapReading({ ...r, patientId: 'p-999' }, ctx());
    const [otherTime] = mapReading(reading({ kind: 'heart-rate', value: 64, unit: 'bpm', measuredAt: '2026-03-02T12:41:05Z' }), ctx());
    const id = a?.identifier[0];
    expect(id?.system).toBe('https://rpm.test/fhir/sid/rpm-reading');
    expect(id?.value).toMatch(/^[0-9a-f]{64}$/);
    // The same measurement resent (another client id, later, via a hub) is the same Observation.
    expect(again?.identifier[0]).toEqual(id);
    // The tuple holds the value, the patient and the device-reported time (the same instant
    // written differently is a different report).
    for (const other of [otherValue, otherPatient, otherTime]) expect(other?.identifier[0]?.value).not.toBe(id?.value);
    expect(JSON.stringify(a?.identifier)).not.toContain('p-123');
  });

  it('refuses to map a reading that belongs to no patient', () => {
    expect(() => mapReading(reading({ kind: 'heart-rate', value: 64, unit: 'bpm' }, { patientId: null }), ctx())).toThrow(/unattributed/);
  });

  it('the checks have teeth: a wrong UCUM code, a missing SpO2 coding and a missing systolic are caught', () => {
    const [w] = mapReading(reading({ kind: 'body-weight', value: 180, unit: 'lb' }), ctx());
    const badUnit = { ...w, valueQuantity: { ...w?.valueQuantity, code: 'lb' } } as FhirObservation;
    expect(ucumErrors(badUnit).join()).toMatch(/'lb' is not a valid UCUM code/);
    const [s] = mapReading(reading({ kind: 'spo2', value: 96, unit: '%' }), ctx());
    const noArterial = { ...s, code: { coding: s?.code.coding?.filter((c) => c.code !== '2708-6') } } as FhirObservation;
    expect(conformanceErrors(noArterial).join()).toMatch(/2708-6|O2Sat|slice/);
    const [bp] = mapReading(reading({ kind: 'blood-pressure', systolic: 142, diastolic: 91, unit: 'mmHg' }), ctx());
    const noSystolic = { ...bp, component: bp?.component?.slice(1) } as FhirObservation;
    expect(validationErrors(noSystolic, US_CORE_BP).join()).toMatch(/systolic/);
  });

  it("core `bp` rejects even a correct BP Observation only with the known slicing false negative (why US Core BP is used)", () => {
    const [bp] = mapReading(reading({ kind: 'blood-pressure', systolic: 142, diastolic: 91, unit: 'mmHg' }), ctx());
    const errors = validationErrors(asFhir(bp as Observation), 'http://hl7.org/fhir/StructureDefinition/bp');
    for (const e of errors) expect(e).toMatch(/Incorrect number of values provided for slice '(SystolicBP|DiastolicBP)'/);
    expect(validationErrors(asFhir(bp as Observation), US_CORE_BP)).toEqual([]);
  });
});

function device(overrides: Partial<Device> = {}): Device {
  return {
    id: 'cuff-1',
    kind: 'bp-cuff',
    manufacturer: 'Omron',
    model: 'BP7450',
    serial: 'SN-0042',
    hubId: null,
    simulated: false,
    status: 'active',
    createdAtMs: NOW,
    revokedAtMs: null,
    lastSeenAtMs: null,
    online: false,
    battery: null,
    ...overrides,
  };
}

describe('FHIR mapping: Devices', () => {
  beforeAll(() => {
    fhirDefinitions();
  });

  it('maps registry devices to valid R4 Devices, keyed by a hash of the serial (no serial in identifiers)', () => {
    for (const d of [device(), device({ id: 'hub-7', kind: 'hub', serial: null, model: null, manufacturer: null, simulated: true }), device({ kind: 'glucometer' })]) {
      const fhir = mapDevice(d, systems);
      expect(validationErrors(fhir as FhirDevice), JSON.stringify(fhir)).toEqual([]);
      expect(JSON.stringify(fhir.identifier)).not.toContain('SN-0042');
    }
    const cuff = mapDevice(device(), systems);
    expect(cuff).toMatchObject({
      serialNumber: 'SN-0042',
      manufacturer: 'Omron',
      modelNumber: 'BP7450',
      type: { coding: [{ system: 'urn:iso:std:iso:11073:10101', code: '528391' }] },
    });
    expect(cuff.identifier[0]?.value).toMatch(/^[0-9a-f]{64}$/);
    // Same serial, same maker and model: the same Device, whatever our id for it.
    expect(deviceIdentifier(device({ id: 'renamed' }), systems)).toEqual(deviceIdentifier(device(), systems));
    expect(deviceIdentifier(device({ serial: 'SN-0043' }), systems)).not.toEqual(deviceIdentifier(device(), systems));
    expect(mapDevice(device({ simulated: true }), systems).meta.security?.[0]?.code).toBe('HTEST');
  });
});
