/**
 * The id FHIR in gives an Observation it accepted (`Location: Observation/{id}`) and that
 * `GET /fhir/Observation/{id}` reads: the reading's position in the log (base 36, found without
 * any extra index) and its reading id (so a position alone names nothing, and a position that
 * holds another reading after a restore answers 404). FHIR ids allow [A-Za-z0-9-.], at most 64;
 * reading ids are base64url, whose `_` becomes `.` (which base64url never uses).
 */
export function observationId(seq: number, readingId: string): string {
  return `${seq.toString(36)}-${readingId.replaceAll('_', '.')}`;
}

export function parseObservationId(id: string): { seq: number; readingId: string } | undefined {
  const m = /^([0-9a-z]{1,11})-([A-Za-z0-9\-.]{1,52})$/.exec(id);
  if (m === null) return undefined;
  const seq = Number.parseInt(m[1] as string, 36);
  if (!Number.isSafeInteger(seq) || seq <= 0) return undefined;
  return { seq, readingId: (m[2] as string).replaceAll('.', '_') };
}
