import { createHash } from 'node:crypto';

/**
 * The personal-health-device tuple of one Observation (HL7 PHD IG, NumericObservationProfile):
 * device, patient identifier value and system, observation type code, the value(s) with their
 * UCUM unit, and the timestamp exactly as the device reported it (not our normalized instant, so
 * two gateways correcting clocks differently still agree).
 */
export interface PhdTuple {
  readonly deviceId: string;
  readonly patientId: string;
  readonly patientSystem: string;
  /** MDC code of the observation type (LOINC when there is none). */
  readonly typeCode: string;
  readonly values: readonly number[];
  readonly unit: string;
  readonly reportedTime: string;
}

/**
 * Observation.identifier value: SHA-256 hex of the canonical (JSON array) tuple. The raw tuple
 * holds patient identifiers, and identifiers travel in `If-None-Exist` headers and search URLs
 * that servers log; the hash carries no PHI and only [0-9a-f], so it needs no escaping. 64
 * characters, which is also the longest FHIR id: it doubles as the deterministic id for PUT.
 */
export function phdIdentifier(t: PhdTuple): string {
  const canonical = JSON.stringify([t.deviceId, t.patientId, t.patientSystem, t.typeCode, ...t.values.map((v) => String(v)), t.unit, t.reportedTime]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** A stable hash of string parts (device keys). */
export function sha256Parts(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
