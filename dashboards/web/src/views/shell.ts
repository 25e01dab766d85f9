import type { AppContext } from '../context.js';
import { Announcer, h } from '../dom.js';
import { stopwatch } from '../format.js';
import type { TimerService } from '../timer-service.js';
import { displaySummary, openDisplaySettings } from './display-settings.js';

/**
 * The signed-in frame: a banner with navigation, the running timer and sign-out; <main> with
 * the message banners above the current view; one polite live region for announcements.
 */
export class Shell {
  readonly announcer = new Announcer();
  readonly view = h('div', { class: 'view' });
  private readonly error = h('div', { class: 'banner error-banner', role: 'alert' });
  private readonly idleWarning = h('div', { class: 'banner idle-banner', role: 'alert' });
  private readonly timerLink = h('a', { class: 'timer-indicator', hidden: true, href: '#/worklist' });
  private readonly displayNote = h('span', { class: 'display-summary' });
  private readonly timer: TimerService;
  private tick = 0;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(root: HTMLElement, ctx: AppContext, onSignOut: () => void) {
    const me = ctx.me;
    this.timer = ctx.timer;
    const main = h('main', { id: 'main', tabindex: -1 }, this.error, this.idleWarning, this.view);
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
        h('nav', { 'aria-label': 'Main' }, h('a', { href: '#/worklist' }, 'Worklist'), ' ', h('a', { href: '#/day' }, 'My day')),
        this.timerLink,
        h(
          'div',
          { class: 'display' },
          h('button', { type: 'button', class: 'small', onclick: () => openDisplaySettings(ctx), 'aria-describedby': 'display-summary' }, 'Display settings'),
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
