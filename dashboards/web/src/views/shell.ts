import type { AppContext } from '../context.js';
import { Announcer, h } from '../dom.js';
import { stopwatch } from '../format.js';
import type { TimerService } from '../timer-service.js';
import { displaySummary, openDisplaySettings } from './display-settings.js';
import { openAlertSignals } from './alert-signals-dialog.js';

/**
 * The signed-in frame: a banner with navigation, the running timer and sign-out; <main> with
 * the message banners above the current view; one polite live region for announcements.
 */
export class Shell {
  readonly announcer = new Announcer();
  readonly view = h('div', { class: 'view' });
  private readonly error = h('div', { class: 'banner error-banner', role: 'alert' });
  private readonly idleWarning = h('div', { class: 'banner idle-banner', role: 'alert' });
  /** Charge nurses and admins: escalations of the organization reach nobody (GET /v1/escalations/reach). */
  private readonly escalationWarning = h('div', { class: 'banner escalation-banner', role: 'alert' });
  private reachPoll = 0;
  private readonly timerLink = h('a', { class: 'timer-indicator', hidden: true, href: '#/worklist' });
  private readonly displayNote = h('span', { class: 'display-summary' });
  private readonly timer: TimerService;
  private tick = 0;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly nav: HTMLAnchorElement[] = [];

  constructor(root: HTMLElement, ctx: AppContext, onSignOut: () => void) {
    const me = ctx.me;
    this.timer = ctx.timer;
    const main = h('main', { id: 'main', tabindex: -1 }, this.escalationWarning, this.error, this.idleWarning, this.view);
    const skip = h('a', { class: 'skip-link', href: '#main' }, 'Skip to main content');
    // Hash routes own the fragment: move focus without touching the URL.
    skip.addEventListener('click', (ev) => {
      ev.preventDefault();
      main.focus();
    });
    root.replaceChildren(
      skip,
      h(
        'header',
        { class: 'top' },
        h('span', { class: 'brand' }, 'RPM nurse dashboard'),
        h(
          'nav',
          { 'aria-label': 'Main' },
          this.navLinks(me.role).map(([href, text]) => {
            const a = h('a', { href }, text);
            this.nav.push(a);
            return a;
          }),
        ),
        this.timerLink,
        h(
          'div',
          { class: 'display' },
          h('button', { type: 'button', class: 'small', onclick: () => openDisplaySettings(ctx), 'aria-describedby': 'display-summary' }, 'Display settings'),
          h('button', { type: 'button', class: 'small', onclick: () => openAlertSignals(ctx) }, 'Alert signals'),
          this.displayNote,
        ),
        h(
          'div',
          { class: 'user' },
          h('span', null, 'Signed in as ', h('strong', null, me.displayName ?? me.email), ` (${me.role}${me.isChargeNurse ? ', charge nurse' : ''})`),
          h('button', { type: 'button', onclick: onSignOut }, 'Sign out'),
        ),
      ),
      main,
      this.announcer.el,
    );
    this.displayNote.id = 'display-summary';
    const showDisplay = (): void => {
      const p = ctx.display.settings.effective;
      this.displayNote.textContent = displaySummary(p);
      this.displayNote.title = `Values in ${displaySummary(p)}; times in ${p.timeZone}`;
    };
    showDisplay();
    this.unsubscribe.push(
      this.timer.subscribe(() => this.updateTimer()),
      ctx.display.subscribe(showDisplay),
    );
    this.tick = window.setInterval(() => this.updateTimer(), 1000);
    this.updateTimer();
    this.clearError();
    this.unwarnIdle();
    this.escalationWarning.hidden = true;
    if (me.role === 'admin' || me.isChargeNurse) {
      const check = (): void => {
        ctx.api
          .get<{ deliverable: boolean; message: string | null }>('/v1/escalations/reach')
          .then((r) => this.showEscalationReach(r.deliverable ? null : r.message))
          .catch(() => undefined);
      };
      check();
      // Someone may add a phone number (or break the last one) while the dashboard stays open.
      this.reachPoll = window.setInterval(check, 60_000);
    }
  }

  private showEscalationReach(message: string | null): void {
    if (message === null) {
      this.escalationWarning.replaceChildren();
      this.escalationWarning.hidden = true;
      return;
    }
    const text = message.charAt(0).toUpperCase() + message.slice(1);
    this.escalationWarning.replaceChildren(
      h('p', null, h('strong', null, `${text}.`), ' Overdue alerts escalate on the worklist but no SMS goes out. An admin adds a phone number to a charge nurse (or makes a nurse with one charge nurse).'),
    );
    this.escalationWarning.hidden = false;
  }

  /** The pages a role has: billing for physicians and admins, administration for admins. */
  private navLinks(role: string): [string, string][] {
    const links: [string, string][] = [
      ['#/worklist', 'Worklist'],
      ['#/day', 'My day'],
      ['#/roster', 'Roster'],
    ];
    if (role === 'physician' || role === 'admin') links.push(['#/billing', 'Billing']);
    if (role === 'admin') links.push(['#/admin', 'Administration']);
    return links;
  }

  /** Marks the current page's link (aria-current), e.g. `/roster` or `/admin/staff`. */
  setCurrent(path: string): void {
    for (const a of this.nav) {
      const target = (a.getAttribute('href') ?? '').slice(1);
      const current = path === target || (target !== '/worklist' && path.startsWith(`${target}/`)) || (target === '/worklist' && !this.nav.some((b) => (b.getAttribute('href') ?? '').slice(1) === path) && !path.startsWith('/admin/') && !path.startsWith('/patients/') && !path.startsWith('/visits/'));
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  showError(message: string): void {
    this.error.replaceChildren(
      h('p', null, message),
      h('button', { type: 'button', class: 'small', onclick: () => this.clearError() }, 'Dismiss', h('span', { class: 'sr-only' }, ' message')),
    );
    this.error.hidden = false;
  }

  clearError(): void {
    this.error.replaceChildren();
    this.error.hidden = true;
  }

  warnIdle(remainingMs: number): void {
    const mins = Math.max(1, Math.round(remainingMs / 60_000));
    this.idleWarning.replaceChildren(h('p', null, `You will be signed out in ${mins} minute${mins === 1 ? '' : 's'} without activity. Press a key or move the pointer to stay signed in.`));
    this.idleWarning.hidden = false;
  }

  unwarnIdle(): void {
    this.idleWarning.replaceChildren();
    this.idleWarning.hidden = true;
  }

  destroy(): void {
    window.clearInterval(this.tick);
    window.clearInterval(this.reachPoll);
    for (const u of this.unsubscribe) u();
  }

  private updateTimer(): void {
    const running = this.timer.running;
    this.timerLink.hidden = running === null;
    if (running === null) return;
    this.timerLink.href = `#/patients/${encodeURIComponent(running.patientId)}`;
    this.timerLink.textContent = `Timer ${stopwatch(Date.now() - Date.parse(running.startedAt))} · patient ${running.patientId}`;
  }
}
