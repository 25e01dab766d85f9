import ucum from '@lhncbc/ucum-lhc';
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { Observation, Resource } from '@medplum/fhirtypes';
import { fhirDefinitions, valueSetCodes } from './definitions.js';

const R4 = 'http://hl7.org/fhir/StructureDefinition/';
export const US_CORE_BP = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure';
const UCUM = 'http://unitsofmeasure.org';
const LOINC = 'http://loinc.org';

/** Errors (severity error or fatal) the @medplum/core validator finds, against a profile or the base resource. */
export function validationErrors(resource: Resource, profileUrl?: string): string[] {
  const { profiles } = fhirDefinitions();
  const profile = profileUrl === undefined ? undefined : profiles.get(profileUrl);
  if (profileUrl !== undefined && profile === undefined) throw new Error(`profile ${profileUrl} not loaded`);
  try {
    const issues = validateResource(resource, profile === undefined ? undefined : { profile });
    return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => `${i.details?.text ?? i.code} @ ${i.expression?.join(',') ?? ''}`);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return err.outcome.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => `${i.details?.text ?? i.code} @ ${i.expression?.join(',') ?? ''}`);
    }
    throw err;
  }
}

const ucumUtils = ucum.UcumLhcUtils.getInstance();

/**
 * Our own UCUM check (the validator does not enforce required bindings, fhir.md §2.2): every
 * Quantity is in UCUM, its code is valid UCUM, and it is in the value set the profile binds.
 */
export function ucumErrors(o: Observation): string[] {
  const errors: string[] = [];
  const profile = o.meta?.profile?.[0];
  const bound =
    profile === `${R4}bodyweight`
      ? valueSetCodes('http://hl7.org/fhir/ValueSet/ucum-bodyweight')
      : profile === `${R4}bodytemp`
        ? valueSetCodes('http://hl7.org/fhir/ValueSet/ucum-bodytemp')
        : profile === undefined
          ? ['mg/dL', 'mmol/L']
          : valueSetCodes('http://hl7.org/fhir/ValueSet/ucum-vitals-common');
  const quantities = [o.valueQuantity, ...(o.component ?? []).map((c) => c.valueQuantity)].filter((q) => q !== undefined);
  for (const q of quantities) {
    if (q.system !== UCUM) errors.push(`quantity system ${q.system ?? '(none)'} is not UCUM`);
    if (q.code === undefined || ucumUtils.validateUnitString(q.code).status !== 'valid') errors.push(`'${q.code ?? ''}' is not a valid UCUM code`);
    else if (!bound.includes(q.code)) errors.push(`'${q.code}' is not in the bound value set (${bound.join(' ')})`);
    if (typeof q.value !== 'number' || typeof q.unit !== 'string') errors.push('quantity needs value and unit');
  }
  return errors;
}

const codes = (o: Observation): string[] => (o.code.coding ?? []).filter((c) => c.system === LOINC).map((c) => c.code ?? '');

/**
 * Everything we promise about an emitted Observation: the R4 vital-signs profile of its kind
 * (US Core BP instead of core `bp`, whose slicing the validator gets wrong), US Core's
 * stricter pulse-oximetry codings, the laboratory category for glucose, and the UCUM check.
 */
export function conformanceErrors(o: Observation): string[] {
  const errors: string[] = [...validationErrors(o), ...ucumErrors(o)];
  const profile = o.meta?.profile?.[0];
  if (profile === undefined) {
    // Glucose: not a FHIR vital sign.
    if (!o.category?.some((c) => c.coding?.some((cd) => cd.code === 'laboratory'))) errors.push('glucose must carry the laboratory category');
    if (!codes(o).some((c) => ['41653-7', '14743-9', '99504-3', '105272-9'].includes(c))) errors.push(`glucose code ${codes(o).join(',')} is not a capillary or CGM code`);
    return errors;
  }
  errors.push(...validationErrors(o, `${R4}vitalsigns`));
  errors.push(...validationErrors(o, profile === `${R4}bp` ? US_CORE_BP : profile));
  if (profile === `${R4}oxygensat` && !(codes(o).includes('59408-5') && codes(o).includes('2708-6'))) errors.push('US Core pulse oximetry needs both 59408-5 and 2708-6');
  return errors;
}
