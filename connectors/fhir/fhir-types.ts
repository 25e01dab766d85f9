/**
 * The slice of FHIR R4 JSON this connector writes and reads. Hand-written on purpose:
 * production code must not depend on @medplum/fhirtypes (a dev dependency); tests check these
 * shapes against the real R4 StructureDefinitions with @medplum/core's validator.
 */

export interface Coding {
  readonly system: string;
  readonly code: string;
  readonly display?: string;
}

export interface CodeableConcept {
  readonly coding?: readonly Coding[];
  readonly text?: string;
}

export interface Identifier {
  readonly system: string;
  readonly value: string;
}

/** A literal reference (`Patient/123`) or a logical one (identifier only). */
export interface Reference {
  readonly reference?: string;
  readonly identifier?: Identifier;
  readonly display?: string;
}

export interface Quantity {
  readonly value: number;
  readonly unit: string;
  readonly system: string;
  readonly code: string;
}

export interface Extension {
  readonly url: string;
  readonly valueReference?: Reference;
  readonly valueCodeableConcept?: CodeableConcept;
}

export interface Meta {
  readonly source?: string;
  readonly profile?: readonly string[];
  readonly security?: readonly Coding[];
}

export interface ObservationComponent {
  readonly code: CodeableConcept;
  readonly valueQuantity?: Quantity;
  readonly valueCodeableConcept?: CodeableConcept;
}

export interface Observation {
  readonly resourceType: 'Observation';
  readonly id?: string;
  readonly meta: Meta;
  readonly identifier: readonly Identifier[];
  readonly extension?: readonly Extension[];
  readonly status: 'final';
  readonly category: readonly CodeableConcept[];
  readonly code: CodeableConcept;
  readonly subject: Reference;
  readonly effectiveDateTime: string;
  readonly issued: string;
  readonly performer?: readonly Reference[];
  readonly device?: Reference;
  readonly valueQuantity?: Quantity;
  readonly component?: readonly ObservationComponent[];
}

export interface DeviceResource {
  readonly resourceType: 'Device';
  readonly id?: string;
  readonly meta: Meta;
  readonly identifier: readonly Identifier[];
  readonly status: 'active';
  readonly manufacturer?: string;
  readonly serialNumber?: string;
  readonly modelNumber?: string;
  readonly deviceName?: readonly { readonly name: string; readonly type: 'model-name' | 'user-friendly-name' }[];
  readonly type?: CodeableConcept;
}

export type WritableResource = Observation | DeviceResource;

export interface BundleRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly url: string;
  readonly ifNoneExist?: string;
}

export interface BatchBundle {
  readonly resourceType: 'Bundle';
  readonly type: 'batch';
  readonly entry: readonly { readonly resource?: WritableResource; readonly request: BundleRequest }[];
}
