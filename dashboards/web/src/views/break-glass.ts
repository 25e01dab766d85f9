import { ApiError, seg } from '../api.js';
import type { AppContext } from '../context.js';
import { h } from '../dom.js';
import { dateAndTime } from '../format.js';
import type { BreakGlassGrant } from '../types.js';
import { field, openDialog } from './dialog.js';

const DURATIONS: readonly [number, string][] = [
  [15, '15 minutes'],
  [30, '30 minutes'],
  [60, '1 hour'],
  [120, '2 hours'],
  [240, '4 hours'],
];

/**
 * Offered where a patient is not in the nurse's care (404): emergency access (break-glass, HIPAA
 * §164.312(a)(2)(ii)) with a reason she must give, for a time she chooses. Administrators see
 * their whole organization and never need it.
 */
export function breakGlassOffer(ctx: AppContext, patientId: string, onGranted: (grant: BreakGlassGrant) => void): HTMLElement | null {
  if (ctx.me.role === 'admin') return null;
  const open = (): void => {
    const reason = h('textarea', { id: 'break-glass-reason', name: 'reason', rows: 3, required: true, minlength: 10, maxlength: 500 });
    const minutes = h(
      'select',
      { id: 'break-glass-minutes', name: 'minutes' },
      DURATIONS.map(([m, label]) => h('option', { value: m, selected: m === 60 }, label)),
    );
    const error = h('p', { class: 'error', role: 'alert' });
    openDialog({
      title: `Emergency access to patient ${patientId}`,
      description:
        'This patient is not in your care teams. Use emergency access only when the patient needs care now. Every view is recorded in the audit trail with your reason, and your organization’s administrators are told.',
      fields: [field('Reason', reason, 'Why you need this patient now (at least 10 characters)'), field('For', minutes), error],
      submitLabel: 'Open with emergency access',
      onSubmit: async () => {
        error.textContent = '';
        try {
          const grant = await ctx.api.post<BreakGlassGrant>(`/v1/patients/${seg(patientId)}/break-glass`, { reason: reason.value, minutes: Number(minutes.value) });
          ctx.announce(`Emergency access to patient ${patientId} until ${dateAndTime(grant.expiresAt)}.`);
          onGranted(grant);
          return true;
        } catch (err) {
          error.textContent =
            err instanceof ApiError && err.status === 404
              ? 'This patient does not exist in your organization.'
              : err instanceof ApiError && err.status === 409
                ? 'This patient is already in your care: reload the page.'
                : `Could not open emergency access: ${err instanceof Error ? err.message : String(err)}`;
          return false;
        }
      },
    });
  };
  return h(
    'div',
    { class: 'break-glass-offer' },
    h('p', null, 'If this patient needs care now and is not in your care teams, you can open the record with emergency access (break-glass).'),
    h('button', { type: 'button', class: 'danger', onclick: open }, 'Emergency access (break glass)'),
  );
}

/** Shown on the patient while emergency access lasts: why, until when, and that it is audited. */
export function breakGlassBanner(ctx: AppContext, grant: BreakGlassGrant, onEnded: () => void): HTMLElement {
  const end = h(
    'button',
    {
      type: 'button',
      onclick: () =>
        void ctx.api
          .post(`/v1/break-glass/${seg(grant.id)}/end`)
          .then(() => {
            ctx.announce('Emergency access ended.');
            onEnded();
          })
          .catch((err: unknown) => ctx.showError(`Could not end emergency access: ${err instanceof Error ? err.message : String(err)}`)),
    },
    'End emergency access',
  );
  return h(
    'div',
    { class: 'banner break-glass-banner', role: 'region', 'aria-label': 'Emergency access' },
    h(
      'div',
      null,
      h('p', null, h('strong', null, 'Emergency access (break-glass)'), ` — not in your care teams. Ends ${dateAndTime(grant.expiresAt)}.`),
      h('p', null, 'Reason: ', h('q', null, grant.reason)),
      h('p', null, 'Every view is recorded in the audit trail; your administrators have been told.'),
    ),
    end,
  );
}
