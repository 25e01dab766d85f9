import type { Modality } from '../../core/model/scheduling.js';
import type { ReminderKind } from '../../rules/calendar.js';

/**
 * SMS texts to patients about visits. No PHI beyond what an appointment reminder needs (HHS
 * allows reminders to the number the patient gave): never a name, a diagnosis, a program, a
 * reading, the clinic's specialty or the staff member's name; only that a visit with "your care
 * team" is due, when (in the patient's own time zone, with the zone named), and how to answer.
 * English, or Spanish when that is the patient's language.
 */

const MODALITY: Record<'en' | 'es', Record<Modality, string>> = {
  en: { video: 'video visit', phone: 'phone visit', 'in-person': 'visit' },
  es: { video: 'videoconsulta', phone: 'consulta telefónica', 'in-person': 'cita' },
};

const lang = (preferredLanguage: string): 'en' | 'es' => (preferredLanguage.toLowerCase().startsWith('es') ? 'es' : 'en');

function when(startMs: number, timeZone: string, l: 'en' | 'es'): string {
  return new Intl.DateTimeFormat(l === 'es' ? 'es-MX' : 'en-US', { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' }).format(new Date(startMs));
}

export function reminderText(r: { kind: ReminderKind; startMs: number; modality: Modality; timeZone: string; preferredLanguage: string }): string {
  const l = lang(r.preferredLanguage);
  const what = MODALITY[l][r.modality];
  const at = when(r.startMs, r.timeZone, l);
  if (l === 'es') {
    return r.kind === '24h'
      ? `Recordatorio: tiene una ${what} con su equipo de atención el ${at}. Responda C para confirmar o R para cambiar la fecha.`
      : `Su ${what} con su equipo de atención empieza en 15 minutos (${at}). Responda C para confirmar o R para cambiar la fecha.`;
  }
  return r.kind === '24h'
    ? `Reminder: you have a ${what} with your care team on ${at}. Reply C to confirm or R to reschedule.`
    : `Your ${what} with your care team starts in 15 minutes (${at}). Reply C to confirm or R to reschedule.`;
}

export type ReplyOutcome = 'confirmed' | 'reschedule-requested' | 'no-visit' | 'unknown';

/** The answer to a patient's SMS reply (TwiML body), in their language. */
export function replyText(outcome: ReplyOutcome, preferredLanguage: string): string {
  const es = lang(preferredLanguage) === 'es';
  switch (outcome) {
    case 'confirmed':
      return es ? 'Gracias, su cita está confirmada.' : 'Thank you, your visit is confirmed.';
    case 'reschedule-requested':
      return es ? 'Gracias, su equipo de atención le llamará para cambiar la fecha.' : 'Thank you, your care team will call you to find a new time.';
    case 'no-visit':
      return es ? 'No encontramos una cita próxima. Llame a su equipo de atención.' : 'We found no upcoming visit. Please call your care team.';
    default:
      return es ? 'Responda C para confirmar o R para cambiar la fecha.' : 'Reply C to confirm or R to reschedule.';
  }
}

/** C / R (any case, surrounding spaces and punctuation ignored, the words too). */
export function parseReply(body: string): 'confirm' | 'reschedule' | undefined {
  const word = body.trim().toLowerCase().replace(/[.!¡?¿\s]+$/u, '').replace(/^[.!¡?¿\s]+/u, '');
  if (['c', 'confirm', 'yes', 'y', 'si', 'sí', 'confirmar'].includes(word)) return 'confirm';
  if (['r', 'reschedule', 'cambiar'].includes(word)) return 'reschedule';
  return undefined;
}
