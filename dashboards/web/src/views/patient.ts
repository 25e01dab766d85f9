import { ApiError, seg } from '../api.js';
import type { AppContext } from '../context.js';
import { focusHeading, h, srOnly } from '../dom.js';
import { ago, dateAndTime, KIND_LABEL, OUTCOME_LABEL, readingValue, settingLabel, STATUS_LABEL, when } from '../format.js';
import type { Alert, AlertEvent, BreakGlassGrant, CarePlan, Me, PatientDevice, Reading, ReadingsPage } from '../types.js';
import { actionButtons } from './actions.js';
import { actionLine, confirmationLine, episodeLines, lateLine, priorityWhy, severityBadge, tags } from './alert-parts.js';
import { CHART_KINDS, type VitalChart, vitalChart } from './charts.js';
import { type ObservationPanels, observationPanels } from './observations.js';
import { patientHeader } from './patient-header.js';
import { patientVisits } from './patient-visits.js';
import { timerPanel } from './timer-panel.js';
import { startVisit, visitPanel } from './visit.js';
import { breakGlassBanner, breakGlassOffer } from './break-glass.js';
import type { View } from './view.js';
import { waitCell } from './worklist.js';

const RANGES: readonly [number, string][] = [
  [7, 'Last 7 days'],
  [30, 'Last 30 days'],
  [90, 'Last 90 days'],
];
/** Readings per request (the API's maximum) and pages per chart load: 50,000 readings at most. */
const PAGE = 10_000;
const MAX_PAGES = 5;
const LATEST_ROWS = 15;

/**
 * One patient: vitals charts with care-plan limits and alert marks, latest readings, devices,
 * open alerts (live, with actions), the alert history with notes, and the time log.
 */
export class PatientView implements View {
  readonly title: string;
  private charts: VitalChart[] = [];
  private cleanups: (() => void)[] = [];
  private days = 30;
  private carePlan: CarePlan | null = null;
  private history: Alert[] = [];
  private readonly openList = h('div', { class: 'open-alerts' });
  private readonly chartsEl = h('div', { class: 'charts', 'aria-busy': 'true' });
  private readonly latestEl = h('div', { class: 'latest' });
  private readonly devicesEl = h('div', { class: 'devices' });
  private readonly historyEl = h('div', { class: 'history' });
  private readonly planEl = h('div', { class: 'care-plan' });
  /** The break-glass banner while emergency access lasts. */
  private readonly accessEl = h('div', { class: 'access' });
  private accessTimer = 0;
  private observations: ObservationPanels | null = null;
  private header: ReturnType<typeof patientHeader> | null = null;
  private visits: ReturnType<typeof patientVisits> | null = null;
  private refreshTimer = 0;
  /** When the first stream event of the pending refresh arrived (performance.now), for the live-update measure. */
  private liveSince: number | null = null;
  private destroyed = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly patientId: string,
  ) {
    this.title = `Patient ${patientId}`;
  }

  mount(main: HTMLElement): void {
    performance.mark('patient:mount');
    const id = this.patientId;
    const range = h(
      'select',
      { id: 'range', onchange: (ev: Event) => ((this.days = Number((ev.target as HTMLSelectElement).value)), void this.loadReadings()) },
      RANGES.map(([d, label]) => h('option', { value: d, selected: d === this.days }, label)),
    );
    const timer = timerPanel(id, this.ctx);
    this.cleanups.push(timer.destroy);
    // A nurse's observations are readings: charts, latest readings and NEWS2 follow at once.
    const observations = observationPanels(id, this.ctx, () => void this.refresh());
    this.observations = observations;
    const header = patientHeader(this.ctx, id);
    this.header = header;
    const videoVisits = visitPanel(id, this.ctx);
    void videoVisits.load();
    const visits = patientVisits(this.ctx, id, () => header.element.querySelector('.patient-name')?.textContent ?? `patient ${id}`);
    this.visits = visits;
    main.append(
      h('div', { class: 'view-head' }, h('p', { class: 'back' }, h('a', { href: '#/worklist' }, '← Worklist')), header.element),
      this.accessEl,
      h(
        'div',
        { class: 'patient-grid' },
        h(
          'div',
          { class: 'col-main' },
          h('section', { class: 'panel', 'aria-labelledby': 'open-heading' }, h('h2', { id: 'open-heading' }, 'Open alerts'), this.openList),
          h(
            'section',
            { class: 'panel', 'aria-labelledby': 'vitals-heading' },
            h('div', { class: 'section-head' }, h('h2', { id: 'vitals-heading' }, 'Vitals'), h('label', { for: 'range' }, 'Period '), range),
            this.chartsEl,
          ),
          h('section', { class: 'panel', 'aria-labelledby': 'latest-heading' }, h('h2', { id: 'latest-heading' }, 'Latest readings'), this.latestEl),
        ),
        h(
          'div',
          { class: 'col-side' },
          videoVisits.element,
          visits.element,
          observations.news2,
          observations.form,
          timer.element,
          h('section', { class: 'panel', 'aria-labelledby': 'plan-heading' }, h('h2', { id: 'plan-heading' }, 'Care plan'), this.planEl),
          h('section', { class: 'panel', 'aria-labelledby': 'devices-heading' }, h('h2', { id: 'devices-heading' }, 'Devices'), this.devicesEl),
          h('section', { class: 'panel', 'aria-labelledby': 'history-heading' }, h('h2', { id: 'history-heading' }, 'Alert history'), this.historyEl),
        ),
      ),
    );
    focusHeading(main);
    this.renderOpen();
    this.cleanups.push(
      this.ctx.live.subscribe((changes, why) => {
        if (why === 'snapshot' || changes.some((c) => c.alert.patientId === id)) this.renderOpen();
        // A new or changed alert usually means a new reading: refresh history and charts, once per burst.
        if (changes.some((c) => c.alert.patientId === id && c.source === 'stream')) {
          this.liveSince ??= performance.now();
          this.scheduleRefresh();
        }
      }),
    );
    void this.load();
  }

  destroy(): void {
    this.destroyed = true;
    window.clearTimeout(this.refreshTimer);
    window.clearTimeout(this.accessTimer);
    for (const c of this.cleanups) c();
    for (const c of this.charts) c.destroy();
  }

  /** Emergency access to this patient, if the nurse holds it: the banner, and the view closes when it ends. */
  private async showAccess(): Promise<void> {
    const me = await this.ctx.api.get<Me>('/v1/auth/me').catch(() => undefined);
    const grant = me?.breakGlass?.find((g) => g.patientId === this.patientId);
    if (grant === undefined || this.destroyed) return;
    this.showGrant(grant);
  }

  private showGrant(grant: BreakGlassGrant): void {
    this.accessEl.replaceChildren(breakGlassBanner(this.ctx, grant, () => this.reopen()));
    window.clearTimeout(this.accessTimer);
    this.accessTimer = window.setTimeout(() => this.reopen(), Math.max(0, Date.parse(grant.expiresAt) - Date.now()) + 1000);
  }

  /** The view again from scratch (access granted, ended or expired). */
  private reopen(): void {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  }

  private async load(): Promise<void> {
    const id = seg(this.patientId);
    void this.showAccess();
    try {
      const [plan] = await Promise.all([
        this.ctx.api.get<CarePlan>(`/v1/patients/${id}/care-plan`),
        this.loadHistory(),
        this.loadDevices(),
        this.observations?.reloadNews2(),
        this.header?.load(),
        this.visits?.load(),
      ]);
      this.carePlan = plan;
      this.renderPlan(plan);
      await this.loadReadings();
      performance.measure('patient:charts-rendered', { start: 'patient:mount', end: performance.now() });
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (err instanceof ApiError && err.status === 404) {
      const offer = breakGlassOffer(this.ctx, this.patientId, () => this.reopen());
      this.chartsEl.replaceChildren(h('p', null, 'This patient does not exist or is not in your care.'), ...(offer === null ? [] : [offer]));
    } else if (!(err instanceof ApiError && err.sessionEnded)) {
      this.ctx.showError(`Could not load patient ${this.patientId}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.chartsEl.setAttribute('aria-busy', 'false');
  }

  private scheduleRefresh(): void {
    window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => void this.refresh(), 500);
  }

  /** Alert history and charts again after a live change; measured so dashboards/PERFORMANCE.md can report it. */
  private async refresh(): Promise<void> {
    const since = this.liveSince ?? performance.now();
    this.liveSince = null;
    const start = performance.now();
    try {
      // Both fetched at once, charts drawn after the history: the new alert's mark belongs on them.
      const [readings] = await Promise.all([this.fetchReadings(), this.loadHistory(), this.observations?.reloadNews2()]);
      // The nurse may have left the patient meanwhile: no charts for a view that is gone.
      if (this.destroyed) return;
      this.showReadings(readings);
      const end = performance.now();
      performance.measure('patient:live-refresh', { start, end });
      performance.measure('patient:live-update', { start: since, end });
    } catch (err) {
      this.fail(err);
    }
  }

  private async loadReadings(): Promise<void> {
    this.showReadings(await this.fetchReadings());
  }

  private async fetchReadings(): Promise<Reading[]> {
    const from = new Date(Date.now() - this.days * 86_400_000).toISOString();
    const readings: Reading[] = [];
    let cursor: string | undefined;
    this.chartsEl.setAttribute('aria-busy', 'true');
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.ctx.api.get<ReadingsPage>(`/v1/patients/${seg(this.patientId)}/readings`, { from, limit: PAGE, cursor });
      readings.push(...res.readings);
      if (res.nextCursor === null) break;
      cursor = res.nextCursor;
    }
    performance.mark('patient:data');
    return readings;
  }

  /** Programs, risk tier, and every rule changed for this patient with why, who saved the plan and when. */
  private renderPlan(plan: CarePlan): void {
    const changed = plan.display.rules.filter((r) => r.overrideReason !== null);
    const overridden = Object.keys(plan.plan.overrides ?? {}).filter((id) => !changed.some((r) => r.id === id));
    this.planEl.replaceChildren(
      h(
      'div',
      null,
      h('p', null, `Programs: ${plan.plan.programs.join(', ')} · risk tier ${plan.plan.riskTier ?? 1}`),
      changed.length + overridden.length === 0
        ? h('p', { class: 'muted' }, 'Program defaults: no rule changed for this patient.')
        : h(
            'ul',
            { class: 'plain' },
            changed.map((r) => h('li', null, h('strong', null, r.title), h('div', { class: 'small' }, `Why: ${r.overrideReason ?? ''}`))),
            overridden.map((id) => h('li', null, h('strong', null, id), h('div', { class: 'small muted' }, 'Changed for this patient (no reason recorded)'))),
          ),
      plan.savedAt === null || plan.savedAt === undefined ? null : h('p', { class: 'muted small' }, `Saved by ${this.ctx.staffName(plan.savedBy?.replace(/^staff:/, '') ?? null)}, ${new Date(plan.savedAt).toLocaleString()} (version ${plan.version})`),
      ),
    );
  }

  private showReadings(readings: readonly Reading[]): void {
    this.renderCharts(readings);
    this.renderLatest(readings);
    this.chartsEl.setAttribute('aria-busy', 'false');
  }

  private renderCharts(readings: readonly Reading[]): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
    const rules = this.carePlan?.rules ?? [];
    // Limits as the server renders them for this reader: per component, in her units, comparators as they fire.
    const bands = this.carePlan?.display.bands ?? [];
    this.charts = CHART_KINDS.map((k) => vitalChart(k, readings, bands, rules, this.history)).filter((c): c is VitalChart => c !== null);
    if (this.charts.length === 0) {
      this.chartsEl.replaceChildren(h('p', null, readings.length === 0 ? 'No readings in this period.' : 'No charted vitals in this period; see the latest readings.'));
      return;
    }
    this.chartsEl.replaceChildren(...this.charts.map((c) => c.element));
  }

  private renderLatest(readings: readonly Reading[]): void {
    const latest = readings.slice(-LATEST_ROWS).reverse();
    if (latest.length === 0) {
      this.latestEl.replaceChildren(h('p', null, 'No readings in this period.'));
      return;
    }
    this.latestEl.replaceChildren(
      h(
        'div',
        { class: 'table-scroll', role: 'region', 'aria-label': 'Latest readings table', tabindex: 0 },
        h(
          'table',
          { class: 'compact' },
          h('caption', { class: 'sr-only' }, `The ${latest.length} most recent readings, newest first`),
          h('thead', null, h('tr', null, ['Measured', 'Vital', 'Value', 'Setting', 'Source'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            null,
            latest.map((r) =>
              h(
                'tr',
                { class: r.setting === 'clinic' ? 'clinic' : undefined },
                h('td', null, h('time', { datetime: r.measuredAtUtc, title: r.display?.measuredAtText ?? r.measuredAt }, when(r.measuredAtUtc))),
                h('td', null, KIND_LABEL[r.kind] ?? r.kind),
                h('td', null, readingValue(r)),
                h('td', null, settingLabel(r.setting)),
                h('td', null, r.entryMethod === 'manual' ? `Entered by ${r.recordedBy === null ? 'staff' : this.ctx.staffName(r.recordedBy)}` : r.deviceId),
              ),
            ),
          ),
        ),
      ),
    );
  }

  private renderOpen(): void {
    const alerts = this.ctx.live.model.alertsOf(this.patientId);
    if (alerts.length === 0) {
      this.openList.replaceChildren(h('p', null, 'No open alerts.'));
      return;
    }
    const now = Date.now();
    this.openList.replaceChildren(
      h(
        'ul',
        { class: 'alert-list' },
        alerts.map((a) =>
          h(
            'li',
            { 'data-row': `open:${a.id}`, 'data-rule': a.rule, class: `sev-${a.severity}${a.late ? ' late' : ''}` },
            h('div', { class: 'alert-head' }, severityBadge(a), h('strong', null, a.title)),
            tags(a),
            episodeLines(a, now),
            confirmationLine(a),
            lateLine(a),
            priorityWhy(a),
            actionLine(a),
            h('div', { class: 'meta' }, waitCell(a, now), ` · ${a.claimedBy === null ? 'Unclaimed' : `Held by ${this.ctx.staffName(a.claimedBy)}`}`),
            actionButtons(a, this.ctx, a.name),
            h(
              'button',
              { type: 'button', class: 'small', 'data-key': `${a.id}:visit`, onclick: () => void startVisit(this.ctx, this.patientId, { alertId: a.id, modality: 'video' }) },
              'Video visit',
              srOnly(`: about ${a.name}`),
            ),
          ),
        ),
      ),
    );
  }

  private async loadDevices(): Promise<void> {
    const { devices } = await this.ctx.api.get<{ devices: PatientDevice[] }>(`/v1/patients/${seg(this.patientId)}/devices`);
    if (devices.length === 0) {
      this.devicesEl.replaceChildren(h('p', null, 'No devices assigned.'));
      return;
    }
    this.devicesEl.replaceChildren(
      h(
        'table',
        { class: 'compact' },
        h('caption', { class: 'sr-only' }, 'Devices assigned to this patient'),
        h('thead', null, h('tr', null, ['Device', 'Last seen', 'Connection', 'Battery'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          devices.map((d) =>
            h(
              'tr',
              null,
              h('td', null, h('span', null, deviceName(d)), h('div', { class: 'muted' }, d.id), d.status === 'revoked' ? h('div', { class: 'warn' }, 'Revoked') : null),
              h('td', null, d.lastSeenAt === null ? 'Never' : h('time', { datetime: d.lastSeenAt, title: dateAndTime(d.lastSeenAt) }, ago(d.lastSeenAt))),
              h('td', null, d.online ? 'Connected' : 'Not connected'),
              h('td', null, batteryCell(d)),
            ),
          ),
        ),
      ),
      h('p', { class: 'hint' }, 'Connected: the device holds an MQTT session now. Devices that upload over HTTP show their last upload under Last seen. Battery: as the device last reported it with a reading; Unknown if it never did.'),
    );
  }

  private async loadHistory(): Promise<void> {
    const { alerts } = await this.ctx.api.get<{ alerts: Alert[] }>(`/v1/patients/${seg(this.patientId)}/alerts`, { includeResolved: true });
    this.history = alerts;
    if (alerts.length === 0) {
      this.historyEl.replaceChildren(h('p', null, 'No alerts yet.'));
      return;
    }
    this.historyEl.replaceChildren(h('ol', { class: 'history-list', reversed: true }, alerts.map((a) => this.historyItem(a))));
  }

  private historyItem(a: Alert): HTMLElement {
    const events = h('div', { class: 'events' });
    const details = h('details', null, h('summary', null, 'Show changes', h('span', { class: 'sr-only' }, ` of ${a.title}`)), events);
    details.addEventListener('toggle', () => {
      if (details.open && events.childElementCount === 0) void this.loadEvents(a, events);
    });
    return h(
      'li',
      { class: `sev-${a.severity}${a.late ? ' late' : ''}` },
      h('div', { class: 'alert-head' }, severityBadge(a), h('strong', null, a.title), h('span', { class: 'status' }, ` · ${STATUS_LABEL[a.status]}`)),
      tags(a),
      episodeLines(a, Date.now()),
      a.status === 'resolved' ? null : priorityWhy(a),
      a.status === 'resolved'
        ? h('div', { class: 'resolution' }, `${OUTCOME_LABEL[a.outcome ?? ''] ?? a.outcome ?? 'Resolved'}${a.resolvedBy === null ? '' : ` — ${this.ctx.staffName(a.resolvedBy)}`}`)
        : null,
      a.note === null ? null : h('blockquote', { class: 'note' }, a.note),
      details,
    );
  }

  private async loadEvents(a: Alert, into: HTMLElement): Promise<void> {
    into.replaceChildren(h('p', null, 'Loading…'));
    try {
      const { history } = await this.ctx.api.get<Alert & { history: AlertEvent[] }>(`/v1/alerts/${seg(a.id)}`);
      into.replaceChildren(
        h(
          'ol',
          { class: 'events-list' },
          history.map((e) =>
            h(
              'li',
              null,
              h('time', { datetime: e.at, title: e.atText }, when(e.at)),
              ` ${EVENT_LABEL[e.action] ?? e.action} by ${actorName(e.actor, this.ctx)} → ${e.toStatus}`,
              e.note === null ? null : h('div', { class: 'note' }, e.note),
            ),
          ),
        ),
      );
    } catch (err) {
      into.replaceChildren(h('p', null, `Could not load the changes: ${err instanceof Error ? err.message : String(err)}`));
    }
  }
}

function deviceName(d: PatientDevice): string {
  const model = [d.manufacturer, d.model].filter((x) => x !== null).join(' ');
  return model === '' ? d.kind : `${model} (${d.kind})`;
}

/** Event actors are `staff:<id>`, or the engine and the escalator. */
function actorName(actor: string, ctx: AppContext): string {
  if (actor.startsWith('staff:')) return ctx.staffName(actor.slice('staff:'.length));
  if (actor === 'rules-engine') return 'the rules engine';
  if (actor === 'system:sla') return 'the response-time check';
  if (actor === 'system:snooze') return 'the end of the snooze';
  return actor;
}

/** Engine and nurse actions in the history, in words (the API's action names stay in the test hooks). */
const EVENT_LABEL: Record<string, string> = {
  raised: 'raised',
  updated: 'updated',
  'in-range': 'back in range',
  'auto-resolved': 'resolved by itself',
  'snooze-ended': 'snooze ended',
};

/** Battery as last reported, with when; a low battery is flagged in words, not only by colour. */
function batteryCell(d: PatientDevice): Node | string {
  if (d.batteryPercent === null || d.batteryAt === null) return 'Unknown';
  const pct = `${Math.round(d.batteryPercent)} %`;
  return h(
    'span',
    { class: d.batteryPercent <= LOW_BATTERY_PERCENT ? 'warn' : undefined },
    d.batteryPercent <= LOW_BATTERY_PERCENT ? `${pct} (low)` : pct,
    h('div', { class: 'muted' }, h('time', { datetime: d.batteryAt, title: dateAndTime(d.batteryAt) }, `reported ${ago(d.batteryAt)}`)),
  );
}

const LOW_BATTERY_PERCENT = 20;
