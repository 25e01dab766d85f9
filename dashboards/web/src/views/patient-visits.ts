import { ApiError, seg } from '../api.js';
import type { AppContext } from '../context.js';
import { h } from '../dom.js';
import { currentTimeZone, dateAndTime } from '../format.js';
import type { Appointment, AppointmentType, Colleague } from '../types.js';
import { dayKey, zonedIso } from '../zoned-time.js';
import { joinButton } from './visit-join.js';
import { MODALITY_LABEL, responseLabel, VISIT_STATUS_LABEL } from './visit-format.js';

/**
 * A patient's visits on the patient page: upcoming (with Join for video and Cancel) and past,
 * and booking: type, staff member, date → the free times → book. A time taken meanwhile by
 * someone else answers 409 and the list of free times is fetched again.
 */
export function patientVisits(ctx: AppContext, patientId: string, about: () => string): { element: HTMLElement; load(): Promise<void> } {
  const upcoming = h('ul', { class: 'visit-list', 'aria-label': 'Upcoming visits' });
  const past = h('ul', { class: 'visit-list', 'aria-label': 'Past visits' });
  const typeSelect = h('select', { id: 'visit-type', required: true });
  const staffSelect = h('select', { id: 'visit-staff', required: true });
  const dateInput = h('input', { id: 'visit-date', type: 'date', required: true, value: dayKey(Date.now() + 86_400_000, currentTimeZone()) });
  const slotsBox = h('div', { class: 'slots', 'aria-live': 'polite' });
  const bookButton = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Book visit');
  let types: AppointmentType[] = [];

  const findTimes = async (): Promise<void> => {
    bookButton.disabled = true;
    const date = dateInput.value;
    const from = zonedIso(`${date}T00:00`, currentTimeZone());
    const to = zonedIso(`${new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)}T00:00`, currentTimeZone());
    if (from === null || to === null) return void ctx.showError('Choose a date first.');
    try {
      const { slots } = await ctx.api.get<{ slots: { start: string; end: string }[] }>(`/v1/staff/${seg(staffSelect.value)}/free-slots`, { typeId: typeSelect.value, from, to });
      if (slots.length === 0) {
        slotsBox.replaceChildren(h('p', null, 'No free times that day. Try another date or staff member.'));
        return;
      }
      slotsBox.replaceChildren(
        h(
          'fieldset',
          { class: 'slot-choices' },
          h('legend', null, `Free times on ${date}`),
          slots.slice(0, 24).map((s, i) =>
            h('label', { class: 'slot' }, h('input', { type: 'radio', name: 'slot', value: s.start, required: true, checked: i === 0 }), ` ${dateAndTime(s.start)}`),
          ),
        ),
      );
      bookButton.disabled = false;
    } catch (err) {
      report(err, 'Could not load free times');
    }
  };

  const book = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    const chosen = form.querySelector<HTMLInputElement>('input[name="slot"]:checked');
    if (chosen === null) return void (await findTimes());
    bookButton.disabled = true;
    try {
      const visit = await ctx.api.post<Appointment>('/v1/appointments', { patientId, staffId: staffSelect.value, typeId: typeSelect.value, start: chosen.value });
      ctx.clearError();
      ctx.announce(`Visit booked for ${dateAndTime(visit.start)}.`);
      slotsBox.replaceChildren(h('p', { class: 'booked-note' }, `Booked: ${dateAndTime(visit.start)}.`));
      await loadVisits();
    } catch (err) {
      if (err instanceof ApiError && err.conflict) {
        ctx.showError('That time was just taken. Here are the free times now.');
        await findTimes();
      } else report(err, 'Could not book the visit');
    }
  };

  const form = h(
    'form',
    { class: 'book-visit', onsubmit: (ev: Event) => void book(ev) },
    h('h3', null, 'Book a visit'),
    h('div', { class: 'field' }, h('label', { for: 'visit-type' }, 'Visit type'), typeSelect),
    h('div', { class: 'field' }, h('label', { for: 'visit-staff' }, 'With'), staffSelect),
    h('div', { class: 'field' }, h('label', { for: 'visit-date' }, 'Date'), dateInput),
    h('button', { type: 'button', onclick: () => void findTimes() }, 'Find free times'),
    slotsBox,
    bookButton,
  );

  const report = (err: unknown, what: string): void => {
    if (!(err instanceof ApiError && err.sessionEnded)) ctx.showError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  };

  const item = (a: Appointment, future: boolean): HTMLLIElement => {
    const response = responseLabel(a);
    const cancel = future
      ? h(
          'button',
          {
            type: 'button',
            class: 'small',
            'aria-label': `Cancel the visit on ${dateAndTime(a.start)}`,
            onclick: () =>
              void ctx.api
                .post<Appointment>(`/v1/appointments/${seg(a.id)}/cancel`, { expectedVersion: a.version })
                .then(() => (ctx.announce('Visit cancelled.'), loadVisits()))
                .catch((err: unknown) => report(err, 'Could not cancel')),
          },
          'Cancel',
        )
      : null;
    return h(
      'li',
      { 'data-visit': a.id },
      h('span', { class: 'when' }, `${dateAndTime(a.start)} (${a.durationMinutes} min)`),
      ` ${types.find((t) => t.id === a.typeId)?.name ?? a.typeId} · ${MODALITY_LABEL[a.modality]} · ${VISIT_STATUS_LABEL[a.status]} · with ${ctx.staffName(a.staffId)}`,
      response === null ? null : h('div', { class: 'response' }, response),
      future ? h('span', { class: 'visit-actions' }, joinButton(ctx, a, about()), cancel) : null,
    );
  };

  const loadVisits = async (): Promise<void> => {
    const visits = await ctx.api.get<{ upcoming: Appointment[]; past: Appointment[] }>(`/v1/patients/${seg(patientId)}/appointments`);
    upcoming.replaceChildren(...(visits.upcoming.length === 0 ? [h('li', null, 'None booked.')] : visits.upcoming.map((a) => item(a, true))));
    past.replaceChildren(...(visits.past.length === 0 ? [h('li', null, 'None.')] : visits.past.map((a) => item(a, false))));
  };

  const element = h(
    'section',
    { class: 'panel visits', 'aria-labelledby': 'visits-heading' },
    h('h2', { id: 'visits-heading' }, 'Visits'),
    h('h3', null, 'Upcoming'),
    upcoming,
    h('h3', null, 'Past'),
    past,
    form,
  );

  const load = async (): Promise<void> => {
    const [t, colleagues] = await Promise.all([
      ctx.api.get<{ types: AppointmentType[] }>('/v1/scheduling/appointment-types'),
      ctx.api.get<{ staff: Colleague[] }>('/v1/colleagues').catch(() => ({ staff: [] as Colleague[] })),
    ]);
    types = t.types;
    typeSelect.replaceChildren(...types.map((x) => h('option', { value: x.id }, `${x.name} (${x.durationMinutes} min, ${MODALITY_LABEL[x.modality].toLowerCase()})`)));
    const others = colleagues.staff.filter((c) => c.id !== ctx.me.id);
    staffSelect.replaceChildren(h('option', { value: ctx.me.id }, 'Me'), ...others.map((c) => h('option', { value: c.id }, c.displayName ?? 'A colleague')));
    await loadVisits();
  };
  return { element, load };
}
