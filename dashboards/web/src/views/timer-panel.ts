import { ApiError, seg } from '../api.js';
import type { AppContext } from '../context.js';
import { h } from '../dom.js';
import { dateAndTime, minutes, stopwatch } from '../format.js';
import type { TimeEntry, TimeMonth } from '../types.js';

/** Entries the nurse did not stop herself say what stopped them: billable minutes must be explainable. */
const STOPPED_BY: Record<NonNullable<TimeEntry['stopReason']>, string | null> = {
  stopped: null,
  'signed-out': 'stopped at sign-out',
  'session-expired': 'stopped when the session expired (at the last activity)',
  'visit-started': 'stopped when the video visit started (the visit logs the time from then)',
};
const SHOWN_ENTRIES = 8;

/**
 * Time spent on this patient: start/stop a timer (interactive or not) and this month's total.
 * The elapsed time is a role="timer" (not announced every second); starting and stopping are.
 */
export function timerPanel(patientId: string, ctx: AppContext): { element: HTMLElement; destroy(): void } {
  const total = h('p', { class: 'month-total' }, 'This month: …');
  const entries = h('div', { class: 'time-entries' });
  const status = h('p', { class: 'timer-status' });
  const clock = h('span', { role: 'timer', 'aria-label': 'Time on this patient', class: 'stopwatch' }, '00:00');
  const interactive = h('input', { type: 'checkbox', id: `interactive-${patientId}` });
  // How the contact happens: billing counts a real-time call (audio, with or without video), never secure messaging alone.
  const modality = h(
    'select',
    { id: `modality-${patientId}`, 'aria-label': 'How' },
    h('option', { value: 'audio' }, 'Phone call'),
    h('option', { value: 'video' }, 'Video call'),
    h('option', { value: 'secure-message' }, 'Secure messages (not a live contact)'),
  ) as HTMLSelectElement;
  const start = h(
    'button',
    { type: 'button', class: 'primary', onclick: () => void act(() => ctx.timer.start(patientId, interactive.checked, interactive.checked ? (modality.value as 'audio') : null), 'Timer started') },
    'Start timer',
  );
  const stop = h('button', { type: 'button', onclick: () => void act(async () => void (await ctx.timer.stop()), 'Timer stopped') }, 'Stop timer');
  const controls = h('div', { class: 'timer-controls' });
  const section = h(
    'section',
    { class: 'panel timer', 'aria-labelledby': 'timer-heading' },
    h('h2', { id: 'timer-heading' }, 'Time log'),
    controls,
    status,
    total,
    entries,
  );

  const month = new Date().toISOString().slice(0, 7);
  const loadTotal = async (): Promise<void> => {
    try {
      const m = await ctx.api.get<TimeMonth>(`/v1/patients/${seg(patientId)}/time`, { month });
      total.textContent = `This month: ${minutes(m.totalMinutes)} (${minutes(m.interactiveMinutes)} interactive)`;
      entries.replaceChildren(entryList(m.entries));
    } catch (err) {
      total.textContent = `This month: unavailable (${err instanceof ApiError ? err.message : String(err)})`;
    }
  };

  function entryList(list: readonly TimeEntry[]): HTMLElement {
    if (list.length === 0) return h('p', { class: 'hint' }, 'No time logged this month.');
    const recent = [...list].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt)).slice(0, SHOWN_ENTRIES);
    return h(
      'ul',
      { class: 'entry-list', 'aria-label': 'Time entries this month, newest first' },
      recent.map((e) => {
        const stoppedBy = e.stopReason === null ? null : STOPPED_BY[e.stopReason];
        return h(
          'li',
          { 'data-entry': e.id },
          h('time', { datetime: e.startedAt }, dateAndTime(e.startedAt)),
          ` · ${e.minutes === null ? 'running' : minutes(e.minutes)}${e.interactive ? ' · interactive' : ''} · ${ctx.staffName(e.staffId)}`,
          stoppedBy === null ? null : h('span', { class: 'stopped-by' }, h('span', { 'aria-hidden': 'true' }, ' ⚠'), ` ${stoppedBy}`),
          e.note === null ? null : h('div', { class: 'muted' }, e.note),
        );
      }),
    );
  }

  async function act(fn: () => Promise<void>, done: string): Promise<void> {
    ctx.clearError();
    try {
      await fn();
      ctx.announce(done);
      await loadTotal();
    } catch (err) {
      ctx.showError(`Time log: ${err instanceof ApiError ? err.message : String(err)}`);
    }
  }

  const render = (): void => {
    const running = ctx.timer.running;
    const here = running !== null && running.patientId === patientId;
    // Start becomes Stop and back: keep keyboard focus on the control that replaced the pressed one.
    const hadFocus = controls.contains(document.activeElement);
    controls.replaceChildren();
    if (running === null) {
      status.textContent = 'No timer running.';
      controls.append(h('label', { class: 'check' }, interactive, ' Interactive (live call or video)'), modality, start);
    } else if (here) {
      status.textContent = running.interactive ? 'Timer running (interactive).' : 'Timer running.';
      controls.append(clock, stop);
    } else {
      status.textContent = 'Your timer is running for another patient.';
      controls.append(h('a', { href: `#/patients/${encodeURIComponent(running.patientId)}` }, 'Go to that patient'), stop);
    }
    updateClock();
    if (hadFocus) controls.querySelector<HTMLElement>('button')?.focus();
  };
  const updateClock = (): void => {
    const running = ctx.timer.running;
    if (running !== null) clock.textContent = stopwatch(Date.now() - Date.parse(running.startedAt));
  };

  const unsubscribe = ctx.timer.subscribe(render);
  const tick = window.setInterval(updateClock, 1000);
  render();
  void loadTotal();
  return {
    element: section,
    destroy() {
      unsubscribe();
      window.clearInterval(tick);
    },
  };
}
