import type { AppContext } from '../context.js';
import { type FocusMemo, focusHeading, focusMemo, h, restoreFocus, srOnly } from '../dom.js';
import { ago, duration, when } from '../format.js';
import { type Change, type ConnectionState, POLL_EVERY_MS } from '../live.js';
import type { Alert } from '../types.js';
import type { Row } from '../worklist-model.js';
import { actionButtons, runAction } from './actions.js';
import { ApiError } from '../api.js';
import { episodeLines, measuredCell, priorityWhy, severityBadge, tags } from './alert-parts.js';
import type { View } from './view.js';

const TICK_MS = 30_000;

interface RowEntry {
  readonly el: HTMLTableRowElement;
  readonly sig: string;
  readonly row: Row;
}

/**
 * The live worklist: one row per patient, highest priority first. Rows are keyed by patient
 * and rebuilt only when their content changes, then moved into order, so a live update touches
 * a handful of nodes even with hundreds of rows (see dashboards/PERFORMANCE.md).
 */
export class WorklistView implements View {
  readonly title = 'Worklist';
  private readonly rows = new Map<string, RowEntry>();
  private tbody = h('tbody');
  private count = h('p', { class: 'count' });
  private state = h('p', { class: 'conn', role: 'status' });
  private empty = h('p', { class: 'empty', hidden: true }, 'No open alerts. New alerts appear here as they arrive.');
  private unsubscribe: (() => void)[] = [];
  private tick = 0;
  private firstRender = true;
  private destroyed = false;
  /** Patients whose low-priority alerts are selected for a bulk acknowledge. */
  private readonly selected = new Set<string>();
  private readonly bulkButton = h('button', { type: 'button', class: 'small', disabled: true }, 'Acknowledge selected') as HTMLButtonElement;
  private readonly onKey = (ev: KeyboardEvent): void => this.shortcut(ev);

  constructor(private readonly ctx: AppContext) {}

  mount(main: HTMLElement): void {
    performance.mark('worklist:mount');
    const table = h(
      'table',
      { class: 'worklist', 'aria-describedby': 'worklist-caption' },
      h('caption', { id: 'worklist-caption' }, 'Patients with open alerts, highest priority first. Times waited count against each severity’s response target.'),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Patient', 'Severity', 'What breached', 'Measured', 'Waited vs target', 'Held by', 'Actions'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      this.tbody,
    );
    this.bulkButton.addEventListener('click', () => void this.bulkAcknowledge());
    main.append(
      h('div', { class: 'view-head' }, h('h1', null, 'Worklist'), this.count, this.state),
      h(
        'div',
        { class: 'toolbar' },
        this.bulkButton,
        h('span', { class: 'hint' }, 'Only low and medium alerts can be acknowledged together; high and critical ones one at a time.'),
        h('button', { type: 'button', class: 'small', onclick: () => openShortcutHelp() }, 'Keyboard shortcuts (?)'),
      ),
      this.empty,
      h('div', { class: 'table-scroll', role: 'region', 'aria-labelledby': 'worklist-caption', tabindex: 0 }, table),
    );
    focusHeading(main);
    this.showState(this.ctx.live.state);
    this.unsubscribe.push(
      this.ctx.live.onState((s) => this.showState(s)),
      this.ctx.live.subscribe((changes, why) => this.onChanges(changes, why)),
    );
    void this.ctx.live.ready().then(() => this.render(new Set()));
    this.tick = window.setInterval(() => this.refreshTimes(), TICK_MS);
    document.addEventListener('keydown', this.onKey);
  }

  destroy(): void {
    this.destroyed = true;
    for (const u of this.unsubscribe) u();
    window.clearInterval(this.tick);
    document.removeEventListener('keydown', this.onKey);
  }

  /** j / k: next / previous patient; a: acknowledge; o: open the patient; x: select for bulk; ?: help. */
  private shortcut(ev: KeyboardEvent): void {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || document.querySelector('dialog[open]') !== null) return;
    const t = ev.target as HTMLElement | null;
    if (t !== null && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
    const rows = [...this.tbody.querySelectorAll<HTMLTableRowElement>('tr[data-row]')];
    const current = (document.activeElement?.closest('tr[data-row]') ?? null) as HTMLTableRowElement | null;
    const index = current === null ? -1 : rows.indexOf(current);
    const focusRow = (i: number): void => rows[Math.max(0, Math.min(rows.length - 1, i))]?.querySelector<HTMLElement>('th a')?.focus();
    const entry = current === null ? undefined : this.rows.get(current.dataset.row ?? '');
    switch (ev.key) {
      case 'j':
        focusRow(index + 1);
        break;
      case 'k':
        focusRow(index < 0 ? 0 : index - 1);
        break;
      case 'a':
        if (entry === undefined) return;
        if (entry.row.top.status === 'acknowledged') this.ctx.announce('Already acknowledged.');
        else void runAction(entry.row.top, 'acknowledge', {}, this.ctx);
        break;
      case 'o':
        if (entry === undefined) return;
        location.hash = `#/patients/${encodeURIComponent(entry.row.patientId)}`;
        break;
      case 'x': {
        const box = current?.querySelector<HTMLInputElement>('input.select-row');
        if (box === undefined || box === null) return;
        box.checked = !box.checked;
        box.dispatchEvent(new Event('change'));
        break;
      }
      case '?':
        openShortcutHelp();
        break;
      default:
        return;
    }
    ev.preventDefault();
  }

  /** Acknowledges every unacknowledged low and medium alert of the selected patients, one request each (versions as seen). */
  private async bulkAcknowledge(): Promise<void> {
    const targets = [...this.selected].flatMap((p) => this.rows.get(p)?.row.alerts.filter(bulkable) ?? []);
    if (targets.length === 0) return;
    this.bulkButton.disabled = true;
    let done = 0;
    let changed = 0;
    for (const alert of targets) {
      try {
        this.ctx.live.applyLocal(await this.ctx.api.post<Alert>(`/v1/alerts/${encodeURIComponent(alert.id)}/acknowledge`, { version: alert.version }));
        done++;
      } catch (err) {
        if (err instanceof ApiError && err.conflict) changed++;
        else {
          this.ctx.showError(`Could not acknowledge “${alert.title}” for patient ${alert.patientId}: ${err instanceof Error ? err.message : String(err)}`);
          break;
        }
      }
    }
    this.selected.clear();
    this.render(new Set());
    this.ctx.announce(`${done} alert${done === 1 ? '' : 's'} acknowledged${changed > 0 ? `; ${changed} changed by a colleague first, left as they are` : ''}.`);
  }

  private updateBulk(): void {
    for (const p of [...this.selected]) if (!(this.rows.get(p)?.row.alerts.some(bulkable) ?? false)) this.selected.delete(p);
    this.bulkButton.disabled = this.selected.size === 0;
    this.bulkButton.textContent = this.selected.size === 0 ? 'Acknowledge selected' : `Acknowledge selected (${this.selected.size} patient${this.selected.size === 1 ? '' : 's'})`;
  }

  private showState(s: ConnectionState): void {
    this.state.textContent =
      s === 'live'
        ? 'Live: new alerts appear without reloading.'
        : s === 'connecting'
          ? 'Connecting…'
          : s === 'polling'
            ? `Live updates are blocked on this network (a proxy holds them back): the worklist refreshes every ${POLL_EVERY_MS / 1000} seconds instead.`
            : 'Connection lost; reconnecting…';
    this.state.className = `conn conn-${s}`;
  }

  private onChanges(changes: readonly Change[], why: 'snapshot' | 'update'): void {
    if (why === 'snapshot') {
      this.render(new Set());
      return;
    }
    const started = performance.now();
    const flash = new Set(changes.filter((c) => c.source === 'stream' && c.result !== 'stale').map((c) => c.alert.patientId));
    this.render(flash);
    if (changes.some((c) => c.source === 'stream')) {
      performance.measure('worklist:live-update', { start: started, end: performance.now() });
      // Until the browser has painted: the next frame, then a task after it.
      requestAnimationFrame(() => setTimeout(() => performance.measure('worklist:live-update-painted', { start: started, end: performance.now() }), 0));
    }
  }

  private render(flash: ReadonlySet<string>): void {
    const started = performance.now();
    const active = document.activeElement;
    const memo: FocusMemo | null = active !== null && this.tbody.contains(active) ? focusMemo(active) : null;
    const rows = this.ctx.live.model.rows();
    const now = Date.now();
    const seen = new Set<string>();
    let prev: Element | null = null;
    for (const row of rows) {
      seen.add(row.patientId);
      const sig = signature(row, this.ctx);
      let entry = this.rows.get(row.patientId);
      if (entry === undefined || entry.sig !== sig) {
        const el = this.buildRow(row, now);
        if (flash.has(row.patientId)) el.classList.add('flash');
        entry?.el.replaceWith(el);
        entry = { el, sig, row };
        this.rows.set(row.patientId, entry);
      }
      const expected: Element | null = prev === null ? this.tbody.firstElementChild : prev.nextElementSibling;
      if (expected !== entry.el) this.tbody.insertBefore(entry.el, expected);
      prev = entry.el;
    }
    for (const [patientId, entry] of this.rows) {
      if (seen.has(patientId)) continue;
      entry.el.remove();
      this.rows.delete(patientId);
    }
    this.count.textContent = rows.length === 1 ? '1 patient' : `${rows.length} patients`;
    this.updateBulk();
    this.empty.hidden = rows.length > 0;
    // Names and identifiers of patients new to the list arrive after the row (one audited read per batch).
    void this.ctx.identities
      .request(seen)
      .then((arrived) => {
        if (arrived && !this.destroyed) this.render(new Set());
      })
      .catch(() => undefined);
    if (memo !== null && (document.activeElement === null || document.activeElement === document.body)) restoreFocus(memo);
    if (this.firstRender) {
      this.firstRender = false;
      performance.measure('worklist:first-render', { start: 'worklist:mount', end: performance.now() });
      performance.measure('worklist:first-render-dom', { start: started, end: performance.now() });
    }
  }

  private buildRow(row: Row, now: number): HTMLTableRowElement {
    const a = row.top;
    const who = this.ctx.identities.get(row.patientId);
    const about = `${a.name}, patient ${who == null ? row.patientId : `${who.familyName}, ${who.givenName}`}`;
    const more = row.alerts.length - 1;
    return h(
      'tr',
      { 'data-row': row.patientId, class: `sev-${a.severity}${a.late ? ' late' : ''}` },
      h(
        'th',
        { scope: 'row' },
        this.selectBox(row),
        h('a', { href: `#/patients/${encodeURIComponent(row.patientId)}`, 'data-key': `open:${row.patientId}` }, who == null ? row.patientId : `${who.familyName}, ${who.givenName}`),
        who == null
          ? null
          : h(
              'div',
              { class: 'ids' },
              `DOB ${who.birthDate} (${who.age.value} y) · MRN ${who.mrn}`,
              who.phone === null ? null : h('div', null, h('a', { href: `tel:${who.phone}` }, who.phone), ` · ${who.timeZone}`),
            ),
      ),
      h('td', null, severityBadge(a), tags(a)),
      h(
        'td',
        { class: 'what' },
        h('strong', null, a.title),
        episodeLines(a, now),
        priorityWhy(a),
        more > 0 ? h('div', { class: 'more' }, `+ ${more} more open alert${more === 1 ? '' : 's'}`) : null,
      ),
      h('td', { class: 'measured' }, measuredCell(a, now)),
      h('td', { class: 'sla' }, waitCell(a, now)),
      h('td', null, holder(a, this.ctx)),
      h('td', null, actionButtons(a, this.ctx, about)),
    );
  }

  /** A checkbox for rows with low-priority alerts to acknowledge; none on high and critical rows. */
  private selectBox(row: Row): HTMLElement | null {
    if (!row.alerts.some(bulkable) || row.alerts.some((a) => a.severity === 'high' || a.severity === 'critical')) return null;
    const box = h('input', { type: 'checkbox', class: 'select-row', 'data-key': `select:${row.patientId}`, checked: this.selected.has(row.patientId) }) as HTMLInputElement;
    box.addEventListener('change', () => {
      if (box.checked) this.selected.add(row.patientId);
      else this.selected.delete(row.patientId);
      this.updateBulk();
    });
    return h('label', { class: 'select-label' }, box, srOnly(`Select patient ${row.patientId} for acknowledging together`));
  }

  /** Waits and ages move with the clock; only their text changes. */
  private refreshTimes(): void {
    const now = Date.now();
    for (const { el, row } of this.rows.values()) {
      for (const t of el.querySelectorAll<HTMLElement>('[data-ago]')) t.textContent = ago(t.dataset.ago ?? '', now);
      el.querySelector('td.sla')?.replaceChildren(waitCell(row.top, now));
    }
  }
}

/** Low-priority and not yet acknowledged: may be acknowledged with others. */
function bulkable(a: Alert): boolean {
  return (a.severity === 'low' || a.severity === 'medium') && a.status !== 'acknowledged' && a.status !== 'resolved';
}

const SHORTCUTS: readonly [string, string][] = [
  ['j', 'Next patient'],
  ['k', 'Previous patient'],
  ['a', 'Acknowledge the patient’s top alert'],
  ['o', 'Open the patient'],
  ['x', 'Select or unselect for acknowledging together (low and medium alerts)'],
  ['?', 'This list'],
];

/** The worklist's keyboard shortcuts, in a dialog that returns focus where it was. */
export function openShortcutHelp(): void {
  if (document.querySelector('dialog.shortcuts') !== null) return;
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const close = h('button', { type: 'button', class: 'primary' }, 'Close');
  const dialog = h(
    'dialog',
    { class: 'shortcuts', 'aria-labelledby': 'shortcuts-title' },
    h('h2', { id: 'shortcuts-title' }, 'Keyboard shortcuts'),
    h('p', { class: 'hint' }, 'On the worklist, when you are not typing in a field.'),
    h('dl', { class: 'shortcut-list' }, SHORTCUTS.map(([k, what]) => [h('dt', null, h('kbd', null, k)), h('dd', null, what)])),
    h('div', { class: 'dialog-buttons' }, close),
  );
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected === true) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
}

/** A row is rebuilt when anything it shows changed (text too: display units change without a new version). */
function signature(row: Row, ctx: AppContext): string {
  const a = row.top;
  const who = ctx.identities.get(row.patientId);
  const why = (a.priorityReasons ?? []).map((r) => r.label).join('|');
  return `${a.id}:${a.version}:${row.priority}:${row.alerts.map((x) => `${x.id}.${x.version}`).join(',')}:${ctx.staffName(a.claimedBy)}:${a.title}:${a.detail}:${a.measuredAtText}:${why}:${who == null ? '' : who.version}`;
}

export function waitCell(a: Alert, now: number): HTMLElement {
  const waited = now - Date.parse(a.raisedAt);
  if (a.snoozedUntil !== null && Date.parse(a.snoozedUntil) > now) return h('span', null, `Snoozed until ${when(a.snoozedUntil, now)}`);
  if (a.status === 'acknowledged') return h('span', null, `Acknowledged; clock stopped`);
  const left = Date.parse(a.slaDueAt) - now;
  return h(
    'span',
    { class: left < 0 ? 'overdue' : undefined },
    h('span', { class: 'waited' }, `${duration(waited)} waited`),
    h('br'),
    left < 0 ? h('strong', null, h('span', { 'aria-hidden': 'true' }, '⚠ '), `overdue by ${duration(-left)}`) : `due in ${duration(left)}`,
  );
}

function holder(a: Alert, ctx: AppContext): HTMLElement {
  if (a.claimedBy === null) return h('span', { class: 'muted' }, 'Unclaimed');
  return h('span', null, ctx.staffName(a.claimedBy), h('span', { class: 'muted' }, a.status === 'acknowledged' ? ' (acknowledged)' : ''));
}
