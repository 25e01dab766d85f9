import { ApiError, seg } from '../api.js';
import type { AppContext } from '../context.js';
import { h } from '../dom.js';
import type { PatientHeader } from '../types.js';

/** Language names in English for the BCP 47 tags we store ("es-MX" → "Spanish (Mexico)"). */
function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** "+1 555 765 4321"-style grouping is locale work; the E.164 form is what nurses dial from. */
const phoneLink = (phone: string): HTMLAnchorElement => h('a', { href: `tel:${phone}` }, phone);

/**
 * The patient header, wherever a patient is shown: two identifiers (name and date of birth, with
 * the MRN) so the nurse verifies identity before acting, then contact (phone, language, the
 * patient's time zone), programs, care team and telehealth consent. The read is audited by the
 * gateway. Without a recorded identity it says so, and shows the patient id.
 */
export function patientHeader(ctx: AppContext, patientId: string, headingLevel: 'h1' | 'h2' = 'h1'): { element: HTMLElement; load(): Promise<PatientHeader | null> } {
  const heading = h(headingLevel, { class: 'patient-name' }, `Patient ${patientId}`);
  const facts = h('dl', { class: 'patient-facts' });
  const element = h('section', { class: 'patient-header', 'aria-label': 'Patient identification' }, heading, facts);
  const fact = (term: string, ...value: (Node | string)[]): HTMLElement[] => [h('dt', null, term), h('dd', null, ...value)];

  const load = async (): Promise<PatientHeader | null> => {
    try {
      const header = await ctx.api.get<PatientHeader>(`/v1/patients/${seg(patientId)}/header`);
      const i = header.identity;
      const members = header.careTeams.flatMap((t) => t.members.map((m) => `${m.displayName ?? ctx.staffName(m.id)} (${m.role})`));
      const teamText = header.careTeams.length === 0 ? 'None' : `${header.careTeams.map((t) => t.name).join(', ')}${members.length === 0 ? '' : `: ${members.join(', ')}`}`;
      const consent = header.telehealthConsent;
      const consentText = consent === null ? 'Not recorded' : `Given (${consent.method}, ${consent.obtainedAt.slice(0, 10)})`;
      if (i === null) {
        heading.textContent = `Patient ${patientId}`;
        facts.replaceChildren(...fact('Identity', 'Not recorded'), ...fact('Patient id', patientId), ...fact('Programs', header.programs.join(', ')), ...fact('Care team', teamText), ...fact('Telehealth consent', consentText));
      } else {
        heading.textContent = `${i.familyName}, ${i.givenName}`;
        facts.replaceChildren(
          ...fact('Date of birth', h('span', { 'data-field': 'dob' }, `${i.birthDate} (age ${i.age.value} y)`)),
          ...fact('MRN', h('span', { 'data-field': 'mrn' }, i.mrn)),
          ...fact('Phone', i.phone === null ? 'None' : phoneLink(i.phone)),
          ...fact('Language', languageName(i.preferredLanguage)),
          ...fact('Time zone', i.timeZone),
          ...fact('Programs', header.programs.join(', ')),
          ...fact('Care team', teamText),
          ...fact('Telehealth consent', consentText),
        );
      }
      return header;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        facts.replaceChildren(...fact('Identity', 'Not available'));
        return null;
      }
      throw err;
    }
  };
  return { element, load };
}
