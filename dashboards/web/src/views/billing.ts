import { seg } from '../api.js';
import type { AppContext } from '../context.js';
import { focusHeading, h } from '../dom.js';
import { hashRoute, replaceHashParams } from '../url-state.js';
import { field, openDialog } from './dialog.js';
import type { View } from './view.js';

interface Code {
  readonly code: string;
  readonly units: number;
}

/** GET /v1/billing/report (README "Panel and billing"). */
interface ReportLine {
  readonly patientId: string;
  readonly kind: 'device-period' | 'management-month';
  readonly periodKey: string;
  readonly start: string;
  readonly end: string;
  readonly month: string | null;
  readonly status: 'complete' | 'in-progress';
  readonly timeZone: string;
  readonly billingPractitionerId: string | null;
  readonly codes: readonly Code[];
  readonly evidence: {
    readonly days: readonly string[] | null;
    readonly dayCount: number | null;
    readonly devices: readonly string[] | null;
    readonly readingsExcluded: { readonly manual: number; readonly simulated: number; readonly flagged: number } | null;
    readonly minutes: number | null;
    readonly interactiveContacts: number | null;
    readonly timeEntries:
      | readonly {
          readonly entryId: string;
          readonly staffName: string | null;
          readonly staffId: string;
          readonly role: string;
          readonly startedAt: string;
          readonly endedAt: string | null;
          readonly interactive: boolean;
          readonly countedMinutes: number;
          readonly note: string | null;
        }[]
      | null;
  };
  readonly notes: readonly string[];
  readonly signOff: {
    readonly signedBy: string;
    readonly signedByName: string | null;
    readonly signedAt: string;
    readonly revision: number;
    readonly amendments: readonly { readonly revision: number; readonly amendedBy: string; readonly amendedAt: string; readonly reason: string }[];
  } | null;
  readonly changedSinceSignOff: boolean;
  readonly computedCodes: readonly Code[] | null;
}

interface Report {
  readonly organizationId: string;
  readonly month: string;
  readonly generatedAt: string;
  readonly schedules: readonly string[];
  readonly lines: readonly ReportLine[];
}

const codeText = (codes: readonly Code[]): string => (codes.length === 0 ? 'No code' : codes.map((c) => (c.units === 1 ? c.code : `${c.code} × ${c.units}`)).join(' + '));

function lastMonth(): string {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.toISOString().slice(0, 7);
}

/**
 * The organization's monthly RPM billing report: one line per patient-period with its codes and
 * evidence; a physician signs complete periods off (frozen) and amends a signed one when late data
 * changed it. CSV for the billing office.
 */
export class BillingView implements View {
  readonly title = 'Billing';
  private readonly body = h('div', { class: 'billing-lines' });
  private readonly status = h('p', { class: 'count', role: 'status' });
  private month: string;
  private seq = 0;

  constructor(private readonly ctx: AppContext) {
    const m = hashRoute().params.get('month');
    this.month = m !== null && /^\d{4}-(0[1-9]|1[0-2])$/.test(m) ? m : lastMonth();
  }

  mount(main: HTMLElement): void {
    const input = h('input', { id: 'billing-month', type: 'month', value: this.month, required: true }) as HTMLInputElement;
    input.addEventListener('change', () => {
      if (!/^\d{4}-\d{2}$/.test(input.value)) return;
      this.month = input.value;
      replaceHashParams('/billing', new URLSearchParams({ month: this.month }));
      void this.load();
    });
    const csv = h('button', { type: 'button' }, 'Download CSV');
    csv.addEventListener('click', () => void this.download());
    main.append(
      h('div', { class: 'view-head' }, h('h1', null, 'Billing'), this.status),
      h(
        'div',
        { class: 'filters panel' },
        h('div', { class: 'field' }, h('label', { for: 'billing-month' }, 'Month'), input, h('span', { class: 'hint' }, 'Device periods that end in this month, and its management time')),
        h('div', { class: 'field' }, csv),
      ),
      this.body,
    );
    focusHeading(main);
    void this.load();
  }

  destroy(): void {
    this.seq++;
  }

  private async load(): Promise<void> {
    const seq = ++this.seq;
    this.status.textContent = 'Loading…';
    try {
      const report = await this.ctx.api.get<Report>('/v1/billing/report', { month: this.month });
      if (seq !== this.seq) return;
      this.render(report);
    } catch (err) {
      if (seq !== this.seq) return;
      this.status.textContent = '';
      this.ctx.showError(`The billing report could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async download(): Promise<void> {
    try {
      const blob = await this.ctx.api.blob('/v1/billing/report.csv', { month: this.month });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `rpm-billing-${this.month}.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.ctx.announce('The CSV was downloaded.');
    } catch (err) {
      this.ctx.showError(`The CSV could not be downloaded: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private render(report: Report): void {
    const signed = report.lines.filter((l) => l.signOff !== null).length;
    this.status.textContent = `${report.lines.length} line${report.lines.length === 1 ? '' : 's'} · ${signed} signed off · ${report.schedules.join(', ') || 'no schedule'}`;
    if (report.lines.length === 0) {
      this.body.replaceChildren(h('p', { class: 'empty' }, 'Nothing to bill for this month.'));
      return;
    }
    this.body.replaceChildren(
      h(
        'table',
        { class: 'roster billing' },
        h('caption', { class: 'sr-only' }, `RPM billing lines for ${report.month}`),
        h('thead', null, h('tr', null, ['Patient', 'Period', 'Codes', 'Evidence', 'Sign-off'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, report.lines.map((l) => this.row(l))),
      ),
    );
  }

  private row(l: ReportLine): HTMLTableRowElement {
    const what = l.kind === 'device-period' ? 'Device supply' : 'Management time';
    return h(
      'tr',
      { 'data-row': l.periodKey },
      h('th', { scope: 'row', 'data-label': 'Patient' }, h('a', { href: `#/patients/${seg(l.patientId)}` }, `Patient ${l.patientId}`)),
      h(
        'td',
        { 'data-label': 'Period' },
        h('strong', null, what),
        h('div', null, l.kind === 'device-period' ? `${l.start} – ${l.end}` : `${l.month ?? ''} (calendar month)`),
        h('div', { class: 'muted small' }, `${l.status === 'complete' ? 'Complete' : 'In progress'} · days in ${l.timeZone}`),
      ),
      h(
        'td',
        { 'data-label': 'Codes' },
        h('strong', { class: 'codes' }, codeText(l.codes)),
        l.changedSinceSignOff && l.computedCodes !== null ? h('div', { class: 'warn' }, `Changed since sign-off: now ${codeText(l.computedCodes)}`) : null,
        l.notes.length === 0 ? null : h('ul', { class: 'plain muted small' }, l.notes.map((n) => h('li', null, n))),
      ),
      h('td', { 'data-label': 'Evidence' }, evidence(l)),
      h('td', { 'data-label': 'Sign-off' }, this.signOffCell(l)),
    );
  }

  private signOffCell(l: ReportLine): HTMLElement {
    const me = this.ctx.me;
    const s = l.signOff;
    const about = `${l.kind === 'device-period' ? 'device period' : 'management month'} ${l.kind === 'device-period' ? l.start : (l.month ?? '')}, patient ${l.patientId}`;
    if (s === null) {
      if (l.status !== 'complete') return h('span', { class: 'muted' }, 'Open until the period ends');
      if (me.role !== 'physician') return h('span', { class: 'muted' }, 'Awaiting a physician’s sign-off');
      const b = h('button', { type: 'button', class: 'small primary' }, 'Sign off', h('span', { class: 'sr-only' }, ` ${about}`));
      b.addEventListener('click', () => void this.signOff(l, about));
      return b;
    }
    const amended = s.amendments[s.amendments.length - 1];
    return h(
      'div',
      null,
      h('div', null, `Signed by ${s.signedByName ?? this.ctx.staffName(s.signedBy)}`),
      h('div', { class: 'muted small' }, new Date(s.signedAt).toLocaleString()),
      amended === undefined ? null : h('div', { class: 'small' }, `Amendment ${amended.revision}: ${amended.reason}`),
      me.role === 'physician' && me.id === s.signedBy
        ? (() => {
            const b = h('button', { type: 'button', class: l.changedSinceSignOff ? 'small primary' : 'small' }, 'Amend', h('span', { class: 'sr-only' }, ` ${about}`));
            b.addEventListener('click', () => this.amend(l, s.revision, about));
            return b;
          })()
        : null,
    );
  }

  private async signOff(l: ReportLine, about: string): Promise<void> {
    try {
      await this.ctx.api.post('/v1/billing/sign-offs', { periodKey: l.periodKey });
      this.ctx.announce(`Signed off ${about}.`);
      await this.load();
    } catch (err) {
      this.ctx.showError(`Could not sign off: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private amend(l: ReportLine, revision: number, about: string): void {
    const reason = h('textarea', { name: 'reason', rows: 3, required: true, maxlength: 1000 }) as HTMLTextAreaElement;
    const error = h('p', { class: 'error', role: 'alert' });
    openDialog({
      title: 'Amend a signed period',
      description: `The ${about} is frozen as signed. An amendment records the line as computed now, with your reason; the sign-off itself is kept.`,
      fields: [field('Reason', reason, 'Shown on the report and kept in the audit trail'), error],
      submitLabel: 'Amend',
      onSubmit: async () => {
        try {
          await this.ctx.api.post('/v1/billing/amendments', { periodKey: l.periodKey, reason: reason.value, revision });
          this.ctx.announce(`Amended ${about}.`);
          void this.load();
          return true;
        } catch (err) {
          error.textContent = err instanceof Error ? err.message : String(err);
          return false;
        }
      },
    });
  }
}

function evidence(l: ReportLine): HTMLElement {
  const e = l.evidence;
  if (l.kind === 'device-period') {
    const x = e.readingsExcluded;
    return h(
      'div',
      null,
      h('div', null, `${e.dayCount ?? 0} day${e.dayCount === 1 ? '' : 's'} with automated readings`),
      x !== null && x.manual + x.simulated + x.flagged > 0 ? h('div', { class: 'muted small' }, `Not counted: ${x.manual} manual, ${x.simulated} simulated, ${x.flagged} not the patient's`) : null,
      h('details', null, h('summary', null, 'Days and devices'), h('p', { class: 'small' }, (e.days ?? []).join(', ') || 'none'), h('p', { class: 'small' }, `Devices: ${(e.devices ?? []).join(', ') || 'none'}`)),
    );
  }
  return h(
    'div',
    null,
    h('div', null, `${e.minutes ?? 0} min · ${e.interactiveContacts ?? 0} live call${e.interactiveContacts === 1 ? '' : 's'}`),
    h(
      'details',
      null,
      h('summary', null, `Time entries (${e.timeEntries?.length ?? 0})`),
      h(
        'ul',
        { class: 'plain small' },
        (e.timeEntries ?? []).map((t) =>
          h(
            'li',
            null,
            `${t.staffName ?? t.staffId} (${t.role}), ${new Date(t.startedAt).toLocaleString()}: ${t.countedMinutes} min counted, ${t.interactive ? 'interactive' : 'not interactive'}${t.note === null ? '' : ` (${t.note})`}`,
          ),
        ),
      ),
    ),
  );
}
