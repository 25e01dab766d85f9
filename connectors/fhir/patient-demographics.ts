import type { EhrPatient } from '../../core/ports/ehr-patients.js';

/** R5's core extension, used by R4 servers too: the patient's IANA time zone. */
export const TIMEZONE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/timezone';

interface FhirName {
  use?: string;
  family?: string;
  given?: string[];
  period?: { end?: string };
}

interface FhirPatient {
  name?: FhirName[];
  birthDate?: string;
  telecom?: { system?: string; value?: string; use?: string; rank?: number; period?: { end?: string } }[];
  communication?: { language?: { coding?: { system?: string; code?: string }[] }; preferred?: boolean }[];
  extension?: { url?: string; valueCode?: string }[];
}

const NAME_ORDER = ['official', 'usual', undefined, 'nickname'];

/**
 * Who a FHIR R4 Patient says the patient is: the official name (else usual, else any current),
 * birthDate, a phone (mobile first, then by rank; only numbers written in E.164), the preferred
 * language (BCP 47 code of `communication`), and the time zone extension when present.
 */
export function demographicsOf(reference: string, resource: unknown): EhrPatient {
  const p = (resource ?? {}) as FhirPatient;
  const current = (p.name ?? []).filter((n) => n.period?.end === undefined);
  const name = [...current].sort((a, b) => rank(NAME_ORDER, a.use) - rank(NAME_ORDER, b.use))[0];
  const phones = (p.telecom ?? [])
    .filter((t) => t.system === 'phone' || t.system === 'sms')
    .filter((t) => t.period?.end === undefined && typeof t.value === 'string')
    .sort((a, b) => (a.use === 'mobile' ? 0 : 1) - (b.use === 'mobile' ? 0 : 1) || (a.rank ?? 99) - (b.rank ?? 99));
  const phone = phones.map((t) => (t.value as string).replace(/[\s().-]/g, '')).find((v) => /^\+[1-9]\d{6,14}$/.test(v)) ?? null;
  const communication = [...(p.communication ?? [])].sort((a, b) => (a.preferred === true ? 0 : 1) - (b.preferred === true ? 0 : 1));
  const language = communication.flatMap((c) => c.language?.coding ?? []).find((c) => typeof c.code === 'string' && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(c.code))?.code ?? null;
  const timeZone = (p.extension ?? []).find((e) => e.url === TIMEZONE_EXTENSION && typeof e.valueCode === 'string')?.valueCode ?? null;
  return {
    reference,
    givenName: name?.given?.join(' ') || null,
    familyName: name?.family ?? null,
    birthDate: typeof p.birthDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(p.birthDate) ? p.birthDate : null,
    phone,
    preferredLanguage: language,
    timeZone,
  };
}

function rank(order: readonly (string | undefined)[], use: string | undefined): number {
  const i = order.indexOf(use);
  return i < 0 ? order.length : i;
}
