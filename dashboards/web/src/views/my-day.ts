import { ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import { focusHeading, h } from '../dom.js';
import { when } from '../format.js';
import type { DayVisit } from '../types.js';
import type { View } from './view.js';
import { joinButton } from './visit-join.js';
import { MODALITY_LABEL, responseLabel, VISIT_STATUS_LABEL } from './visit-format.js';

const shift = (date: string, days: number): string => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/**
 * My day: today's visits (or another date's), soonest first, each with the patient's two
 * identifiers (name and date of birth, with the MRN), the visit type, the patient's SMS answer
 * and, for video visits, a Join button.
 */
export class MyDayView implements View {
  readonly title = 'My day';
  private readonly list = h('div', { class: 'day-list', 'aria-busy': 'true' });
  private readonly heading = h('h1', null, 'My day');
  private destroyed = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly date: string | undefined,
  ) {}

  mount(main: HTMLElement): void {
    main.append(h('div', { class: 'view-head' }, this.heading), h('section', { class: 'panel', 'aria-labelledby': 'day-visits' }, h('h2', { id: 'day-visits' }, 'Visits'), this.list));
    focusHeading(main);
    void this.load();
  }

  destroy(): void {
    this.destroyed = true;
  }

  private async load(): Promise<void> {
    try {
      const day = await this.ctx.api.get<{ date: string; timeZone: string; visits: DayVisit[] }>('/v1/me/day', { date: this.date });
      if (this.destroyed) return;
      this.heading.textContent = `My day: ${day.date}`;
      const nav = h(
        'p',
        { class: 'day-nav' },
        h('a', { href: `#/day/${shift(day.date, -1)}` }, '← Previous day'),
        ' ',
        h('a', { href: `#/day/${shift(day.date, 1)}` }, 'Next day →'),
      );
      if (day.visits.length === 0) {
        this.list.replaceChildren(nav, h('p', null, 'No visits booked.'));
      } else {
        this.list.replaceChildren(
          nav,
          h(
            'table',
            { class: 'visits' },
            h('caption', { class: 'sr-only' }, `Visits on ${day.date}`),
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Patient'), h('th', { scope: 'col' }, 'Visit'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Actions'))),
            h('tbody', null, day.visits.map((v) => this.row(v))),
          ),
        );
      }
    } catch (err) {
      if (!(err instanceof ApiError && err.sessionEnded)) this.ctx.showError(`Could not load your day: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.list.setAttribute('aria-busy', 'false');
  }

  private row(v: DayVisit): HTMLTableRowElement {
    const who = v.patient.name ?? `Patient ${v.patientId}`;
    const ids = v.patient.birthDate === null ? `Identity not recorded (id ${v.patientId})` : `DOB ${v.patient.birthDate} (age ${v.patient.age?.value ?? '?'} y) · MRN ${v.patient.mrn ?? '—'}`;
    const response = responseLabel(v);
    return h(
      'tr',
      { 'data-visit': v.id },
      h('td', null, `${when(v.start)} (${v.durationMinutes} min)`),
      h('th', { scope: 'row' }, h('a', { href: `#/patients/${encodeURIComponent(v.patientId)}` }, who), h('div', { class: 'ids' }, ids)),
      h('td', null, `${v.typeName} · ${MODALITY_LABEL[v.modality]}`),
      h('td', null, VISIT_STATUS_LABEL[v.status], response === null ? null : h('div', { class: 'response' }, response)),
      h('td', null, joinButton(this.ctx, v, who)),
    );
  }
}
