import type { AppContext } from '../context.js';
import { h } from '../dom.js';
import { openDialog } from './dialog.js';

/** The nurse's choice of how new critical alerts reach her outside the tab (saved on the server). */
export function openAlertSignals(ctx: AppContext): void {
  const current = ctx.signals.settings;
  const box = (id: string, label: string, checked: boolean, hint: string): { el: HTMLElement; input: HTMLInputElement } => {
    const input = h('input', { type: 'checkbox', id, checked, 'aria-describedby': `${id}-hint` }) as HTMLInputElement;
    return { input, el: h('div', { class: 'field' }, h('span', { class: 'check' }, input, h('label', { for: id }, label)), h('span', { class: 'hint', id: `${id}-hint` }, hint)) };
  };
  const badge = box('sig-badge', 'Count in the tab title', current.titleBadge, 'Unacknowledged critical alerts, e.g. “(2) Worklist”');
  const desktop = box(
    'sig-desktop',
    'Desktop notification',
    current.desktopNotifications,
    ctx.signals.notificationPermission === 'denied' ? 'This browser blocks notifications for this site: allow them in its settings first' : 'The browser asks your permission the first time',
  );
  const sound = box('sig-sound', 'Sound', current.sound, 'Two short tones for each new critical alert');
  const error = h('p', { class: 'error', role: 'alert' });
  openDialog({
    title: 'Alert signals',
    description: 'How a new critical alert reaches you when this tab is not in front. Saved with your account.',
    fields: [badge.el, desktop.el, sound.el, error],
    submitLabel: 'Save',
    onSubmit: async () => {
      try {
        await ctx.signals.save({ titleBadge: badge.input.checked, desktopNotifications: desktop.input.checked, sound: sound.input.checked });
        ctx.announce('Alert signals saved.');
        return true;
      } catch (err) {
        error.textContent = err instanceof Error ? err.message : String(err);
        return false;
      }
    },
  });
}
