import type { AppContext } from '../context.js';
import { focusHeading, h } from '../dom.js';
import { ago } from '../format.js';
import type { RosterResponse, RosterRow } from '../types.js';
import { hashRoute, replaceHashParams } from '../url-state.js';
import type { View } from './view.js';

const PROGRAMS = ['general', 'hypertension', 'heart-failure', 'diabetes', 'copd'] as const;
const SORTS: readonly [string, string][] = [
  ['priority', 'Priority (open alerts)'],
  ['patient', 'Patient id'],
  ['name', 'Name'],
  ['days', 'Device days this period'],
  ['minutes', 'Minutes this month'],
  ['last-reading', 'Last reading'],
];
/** The URL keeps these (codes and numbers only); the search text stays in the page. */
const URL_KEYS = ['program', 'careTeam', 'risk', 'mine', 'notTransmitting', 'atRiskDaysLeft', 'sort', 'order'] as const;

const TRANSMISSION_TEXT = { transmitting: 'Transmitting', 'not-transmitting': 'Not transmitting', 'never-seen': 'Never seen', revoked: 'Revoked' } as const;

/**
 * The whole panel: every patient in scope, with readings, device days toward 16 this period,
 * minutes toward 10 and 20 this month, open alerts and device problems. Filters and sort live in
 * the URL; a table on a laptop, one card per patient at tablet width (no sideways scrolling).
 */
export class RosterView implements View {
  readonly title = 'Roster';
  private readonly list = h('div', { class: 'roster-list' });
  private readonly count = h('p', { class: 'count', role: 'status' });
  private readonly search = h('input', { id: 'roster-search', type: 'search', autocomplete: 'off', 'aria-describedby': 'roster-search-hint' }) as HTMLInputElement;
  private rows: readonly RosterRow[] = [];
  private total = 0;
  private params: URLSearchParams;
  private seq = 0;
  private teams = new Map<string, string>();
  private readonly teamSelect = h('select', { id: 'f-team', name: 'careTeam' });

  constructor(private readonly ctx: AppContext) {
    this.params = hashRoute().params;
  }

  mount(main: HTMLElement): void {
    main.append(
      h('div', { class: 'view-head' }, h('h1', null, 'Roster'), this.count),
      this.filters(),
      this.list,
    );
    focusHeading(main);
    void this.load();
  }

  destroy(): void {
    this.seq++;
  }

  private filters(): HTMLElement {
    const p = this.params;
    const select = (id: string, name: string, label: string, options: readonly [string, string][]): HTMLElement => {
      const el = h('select', { id, name }, options.map(([v, t]) => h('option', { value: v, selected: (p.get(name) ?? '') === v }, t)));
      el.addEventListener('change', () => this.set(name, el.value));
      return h('div', { class: 'field' }, h('label', { for: id }, label), el);
    };
    const check = (id: string, name: string, label: string): HTMLElement => {
      const el = h('input', { id, type: 'checkbox', name, checked: p.get(name) === 'true' }) as HTMLInputElement;
      el.addEventListener('change', () => this.set(name, el.checked ? 'true' : ''));
      return h('div', { class: 'field check-field' }, h('span', { class: 'check' }, el, h('label', { for: id }, label)));
    };
    this.search.addEventListener('input', () => this.render());
    this.teamSelect.addEventListener('change', () => this.set('careTeam', this.teamSelect.value));
    const daysLeft = h('input', { id: 'f-days-left', type: 'number', min: 0, max: 30, inputmode: 'numeric', value: p.get('atRiskDaysLeft') ?? '', 'aria-describedby': 'f-days-left-hint' }) as HTMLInputElement;
    daysLeft.addEventListener('change', () => this.set('atRiskDaysLeft', daysLeft.value));
    const order = h('button', { type: 'button', class: 'small', 'aria-pressed': p.get('order') === 'asc' ? 'true' : 'false' }, p.get('order') === 'asc' ? 'Ascending' : 'Natural order') as HTMLButtonElement;
    order.addEventListener('click', () => {
      const asc = this.params.get('order') !== 'asc';
      order.textContent = asc ? 'Ascending' : 'Natural order';
      order.setAttribute('aria-pressed', asc ? 'true' : 'false');
      this.set('order', asc ? 'asc' : '');
    });
    return h(
      'form',
      { class: 'filters panel', role: 'search', 'aria-label': 'Filter the roster', onsubmit: (ev: SubmitEvent) => ev.preventDefault() },
      h('div', { class: 'field' }, h('label', { for: 'roster-search' }, 'Search'), this.search, h('span', { id: 'roster-search-hint', class: 'hint' }, 'Name, MRN or patient id (not kept in the address)')),
      select('f-program', 'program', 'Program', [['', 'Any program'], ...PROGRAMS.map((x): [string, string] => [x, x])]),
      h('div', { class: 'field' }, h('label', { for: 'f-team' }, 'Care team'), this.teamSelect),
      select('f-risk', 'risk', 'Risk tier', [['', 'Any tier'], ...[1, 2, 3].map((n): [string, string] => [String(n), `Tier ${n}`])]),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'f-days-left' }, 'Below 16 days, days left ≤'),
        daysLeft,
        h('span', { id: 'f-days-left-hint', class: 'hint' }, 'Patients short of 16 device days with at most this many days left in the period'),
      ),
      check('f-mine', 'mine', 'My care teams'),
      check('f-silent', 'notTransmitting', 'Device problems'),
      select('f-sort', 'sort', 'Sort by', SORTS),
      h('div', { class: 'field' }, h('span', { class: 'field-label', id: 'order-label' }, 'Order'), order),
    );
  }

  private set(name: string, value: string): void {
    if (value === '') this.params.delete(name);
    else this.params.set(name, value);
    const kept = new URLSearchParams();
    for (const k of URL_KEYS) {
      const v = this.params.get(k);
      if (v !== null) kept.set(k, v);
    }
    this.params = kept;
    replaceHashParams('/roster', kept);
    void this.load();
  }

  private async load(): Promise<void> {
    const seq = ++this.seq;
    const query: Record<string, string> = {};
    for (const k of URL_KEYS) {
      const v = this.params.get(k);
      if (v !== null) query[k] = v;
    }
    this.count.textContent = 'Loading…';
    try {
      const res = await this.ctx.api.get<RosterResponse>('/v1/roster', query);
      if (seq !== this.seq) return;
      this.rows = res.rows;
      this.total = res.total;
      for (const r of res.rows) for (const t of r.careTeams) this.teams.set(t.id, t.name);
      this.fillTeams();
      this.render();
    } catch (err) {
      if (seq !== this.seq) return;
      this.count.textContent = '';
      this.ctx.showError(`The roster could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private fillTeams(): void {
    const chosen = this.params.get('careTeam') ?? '';
    if (chosen !== '' && !this.teams.has(chosen)) this.teams.set(chosen, chosen);
    this.teamSelect.replaceChildren(
      h('option', { value: '', selected: chosen === '' }, 'Any team'),
      ...[...this.teams].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => h('option', { value: id, selected: id === chosen }, name)),
    );
  }

  private render(): void {
    const needle = this.search.value.trim().toLowerCase();
    const shown = needle === '' ? this.rows : this.rows.filter((r) => [r.patientId, r.identity?.name ?? '', r.identity?.mrn ?? ''].some((s) => s.toLowerCase().includes(needle)));
    this.count.textContent = `${shown.length} of ${this.total} patient${this.total === 1 ? '' : 's'}`;
    if (shown.length === 0) {
      this.list.replaceChildren(h('p', { class: 'empty' }, this.total === 0 ? 'No patients in your panel yet.' : 'No patient matches these filters.'));
      return;
    }
    const now = Date.now();
    this.list.replaceChildren(
      h(
        'table',
        { class: 'roster' },
        h('caption', { class: 'sr-only' }, 'Your patients with readings, device days, minutes, alerts and devices'),
        h('thead', null, h('tr', null, ['Patient', 'Last readings', 'Device days (this period)', 'Minutes (this month)', 'Alerts', 'Devices'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, shown.map((r) => this.row(r, now))),
      ),
    );
  }

  private row(r: RosterRow, now: number): HTMLTableRowElement {
    const id = r.identity;
    return h(
      'tr',
      { 'data-row': r.patientId, class: r.topSeverity === null ? undefined : `sev-${r.topSeverity}` },
      h(
        'th',
        { scope: 'row', 'data-label': 'Patient' },
        h('a', { href: `#/patients/${encodeURIComponent(r.patientId)}`, class: 'patient-link' }, id === null ? `Patient ${r.patientId}` : id.name),
        id === null ? null : h('div', { class: 'ids' }, `Born ${id.birthDate} (${id.ageYears} y) · MRN ${id.mrn}`),
        h('div', { class: 'meta' }, [r.careTeams.map((t) => t.name).join(', ') || 'No care team', `Risk tier ${r.riskTier}`, r.programs.filter((x) => x !== 'general').join(', ')].filter((x) => x !== '').join(' · ')),
      ),
      h(
        'td',
        { 'data-label': 'Last readings' },
        r.lastReadings.length === 0
          ? h('span', { class: 'muted' }, 'No readings yet')
          : h('ul', { class: 'plain' }, r.lastReadings.map((x) => h('li', null, h('span', { class: 'value' }, x.text), ' ', h('span', { class: 'muted', title: x.measuredAtText }, ago(x.measuredAt, now)), x.manual ? h('span', { class: 'muted' }, ' (entered by staff)') : null))),
      ),
      h('td', { 'data-label': 'Device days (this period)' }, daysCell(r)),
      h('td', { 'data-label': 'Minutes (this month)' }, minutesCell(r)),
      h(
        'td',
        { 'data-label': 'Alerts' },
        r.openAlerts === 0 ? h('span', { class: 'muted' }, 'None open') : h('span', null, h('span', { class: `badge sev-${r.topSeverity ?? 'low'}` }, `${r.openAlerts} open`), r.topSeverity === null ? null : ` highest ${r.topSeverity}`),
      ),
      h(
        'td',
        { 'data-label': 'Devices' },
        r.devices.length === 0
          ? h('span', { class: 'muted' }, 'No device assigned')
          : h(
              'ul',
              { class: 'plain' },
              r.devices.map((d) =>
                h(
                  'li',
                  { class: d.transmission === 'transmitting' && !d.lowBattery ? undefined : 'device-problem' },
                  `${d.id}: `,
                  h('strong', null, TRANSMISSION_TEXT[d.transmission]),
                  d.lastContactAt === null ? null : h('span', { class: 'muted' }, ` · last ${ago(d.lastContactAt, now)}`),
                  d.batteryPercent === null ? null : h('span', { class: d.lowBattery ? 'warn' : 'muted' }, ` · battery ${d.batteryPercent} %${d.lowBattery ? ' (low)' : ''}`),
                  d.viaHub === null ? null : h('span', { class: 'muted' }, ` · via hub ${d.viaHub}`),
                ),
              ),
            ),
      ),
    );
  }
}

/** A bar with words: the words carry the meaning, the bar is decoration. */
function bar(value: number, max: number, marks: readonly number[]): HTMLElement {
  const pct = (v: number): string => `${Math.min(100, (v / max) * 100).toFixed(1)}%`;
  // CSSOM, not style attributes: the Content-Security-Policy allows no inline styles.
  const fill = h('div', { class: 'bar-fill' });
  fill.style.width = pct(value);
  const markEls = marks.map((m) => {
    const el = h('div', { class: 'bar-mark' });
    el.style.left = pct(m);
    return el;
  });
  return h('div', { class: 'bar', 'aria-hidden': 'true' }, fill, markEls);
}

function daysCell(r: RosterRow): HTMLElement {
  const p = r.devicePeriod;
  if (p === null) return h('span', { class: 'muted' }, 'No device period');
  const words =
    p.daysToGo === 0
      ? `${p.days} of ${p.target} days: reached`
      : `${p.days} of ${p.target} days · ${p.daysToGo} to go, ${p.daysLeft} day${p.daysLeft === 1 ? '' : 's'} left${p.daysToGo > p.daysLeft ? ' (cannot reach 16)' : ''}`;
  return h('div', null, h('span', { class: p.daysToGo > p.daysLeft ? 'warn' : undefined }, words), bar(p.days, 30, [p.target]), h('div', { class: 'muted small' }, `Period ${p.start} – ${p.end}${p.codeSoFar === null ? '' : ` · so far ${p.codeSoFar}`}`));
}

function minutesCell(r: RosterRow): HTMLElement {
  const m = r.management;
  if (m === null) return h('span', { class: 'muted' }, 'No time logged');
  const [ten = 10, twenty = 20] = m.marks;
  const next = m.minutes < ten ? `${ten - m.minutes} min to ${ten}` : m.minutes < twenty ? `${twenty - m.minutes} min to ${twenty}` : `past ${twenty}`;
  return h(
    'div',
    null,
    h('span', null, `${m.minutes} min · ${next}`),
    bar(m.minutes, Math.max(40, m.minutes), [ten, twenty]),
    h('div', { class: 'muted small' }, m.interactiveContacts === 0 ? h('span', { class: 'warn' }, 'No live call yet this month') : `${m.interactiveContacts} live call${m.interactiveContacts === 1 ? '' : 's'}`, m.codeSoFar === null ? '' : ` · so far ${m.codeSoFar}`),
  );
}
