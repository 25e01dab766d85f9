import { ApiError, seg } from '../api.js';
import type { AppContext } from '../context.js';
import { h, srOnly } from '../dom.js';
import { OUTCOME_LABEL, STATUS_LABEL } from '../format.js';
import { type Alert, type AlertAction, RESOLUTION_OUTCOMES } from '../types.js';
import { field, openDialog } from './dialog.js';

const LABEL: Record<AlertAction, string> = {
  claim: 'Claim',
  acknowledge: 'Acknowledge',
  release: 'Release',
  resolve: 'Resolve…',
  snooze: 'Snooze…',
  escalate: 'Escalate…',
};

const DONE: Record<AlertAction, string> = {
  claim: 'Claimed',
  acknowledge: 'Acknowledged',
  release: 'Released',
  resolve: 'Resolved',
  snooze: 'Snoozed',
  escalate: 'Escalated',
};

/**
 * What this nurse can do with the alert as last seen (the server decides; a stale view gets 409).
 * An alert someone else holds can only be escalated: claiming it would take it from her.
 */
export function actionsFor(alert: Alert, meId: string): AlertAction[] {
  if (alert.status === 'resolved') return [];
  const heldByOther = alert.claimedBy !== null && alert.claimedBy !== meId && alert.status !== 'open';
  if (heldByOther) return ['escalate'];
  const mine = alert.claimedBy === meId;
  const out: AlertAction[] = [];
  if (!mine) out.push('claim');
  if (alert.status !== 'acknowledged') out.push('acknowledge');
  if (mine) out.push('release');
  out.push('resolve', 'snooze', 'escalate');
  return out;
}

/** The buttons for one alert. `about` names the alert for screen readers ("Claim" alone is ambiguous in a list). */
export function actionButtons(alert: Alert, ctx: AppContext, about: string): HTMLElement {
  const buttons = actionsFor(alert, ctx.me.id).map((action) =>
    h(
      'button',
      { type: 'button', class: action === 'claim' || action === 'acknowledge' ? 'primary small' : 'small', 'data-key': `${alert.id}:${action}`, onclick: () => startAction(alert, action, ctx) },
      LABEL[action],
      srOnly(`: ${about}`),
    ),
  );
  return h('div', { class: 'actions' }, buttons);
}

function startAction(alert: Alert, action: AlertAction, ctx: AppContext): void {
  switch (action) {
    case 'resolve':
      return resolveDialog(alert, ctx);
    case 'snooze':
      return snoozeDialog(alert, ctx);
    case 'escalate':
      return escalateDialog(alert, ctx);
    default:
      void runAction(alert, action, {}, ctx);
  }
}

/**
 * POST the action with the version this nurse saw. A 409 means someone else changed the alert
 * first: say so plainly, with who holds it now, and show its current state.
 */
export async function runAction(alert: Alert, action: AlertAction, body: Record<string, unknown>, ctx: AppContext): Promise<boolean> {
  ctx.clearError();
  try {
    const next = await ctx.api.post<Alert>(`/v1/alerts/${seg(alert.id)}/${action}`, { version: alert.version, ...body });
    ctx.live.applyLocal(next);
    ctx.announce(`${DONE[action]}: ${alert.title}, patient ${alert.patientId}.`);
    return true;
  } catch (err) {
    if (!(err instanceof ApiError) || err.sessionEnded) {
      if (!(err instanceof ApiError)) ctx.showError(`Could not ${action} the alert: ${String(err)}`);
      return false;
    }
    if (err.conflict) {
      const current = await reload(alert, ctx);
      ctx.showError(conflictMessage(alert, action, current, ctx));
      return true;
    }
    ctx.showError(`Could not ${action} “${alert.title}” for patient ${alert.patientId}: ${err.message}`);
    return false;
  }
}

async function reload(alert: Alert, ctx: AppContext): Promise<Alert | null> {
  try {
    const { history: _history, ...current } = await ctx.api.get<Alert & { history: unknown }>(`/v1/alerts/${seg(alert.id)}`);
    ctx.live.applyLocal(current);
    return current;
  } catch {
    return null;
  }
}

export function conflictMessage(alert: Alert, action: AlertAction, current: Alert | null, ctx: Pick<AppContext, 'staffName'>): string {
  const head = `Not ${DONE[action].toLowerCase()}: someone else changed “${alert.title}” (patient ${alert.patientId}) first.`;
  if (current === null) return `${head} Reload the worklist to see its current state.`;
  if (current.status === 'resolved') return `${head} It was resolved by ${ctx.staffName(current.resolvedBy)}.`;
  const holder = current.claimedBy === null ? 'nobody holds it' : `it is held by ${ctx.staffName(current.claimedBy)}`;
  return `${head} It is now ${STATUS_LABEL[current.status].toLowerCase()} and ${holder}. The list shows its current state.`;
}

function resolveDialog(alert: Alert, ctx: AppContext): void {
  const outcome = h('select', { name: 'outcome', required: true }, h('option', { value: '' }, 'Choose an outcome'), RESOLUTION_OUTCOMES.map((o) => h('option', { value: o }, OUTCOME_LABEL[o] ?? o)));
  const note = h('textarea', { name: 'note', rows: 4, maxlength: 4000 });
  openDialog({
    title: `Resolve “${alert.title}” — patient ${alert.patientId}`,
    // What to do and what happens next, before she closes it: a resolve does not silence a patient still in crisis.
    description: [
      alert.action === null ? null : h('p', { class: 'action-line' }, h('strong', null, 'What to do: '), alert.action),
      h('p', { class: 'after-resolve' }, h('strong', null, 'After you resolve it: '), alert.afterResolve),
    ].filter((x): x is HTMLParagraphElement => x !== null),
    fields: [field('Outcome', outcome), field('Note', note, 'What you did and what happens next; kept with the alert history.')],
    submitLabel: 'Resolve alert',
    onSubmit: () => runAction(alert, 'resolve', { outcome: outcome.value, ...(note.value.trim() === '' ? {} : { note: note.value.trim() }) }, ctx),
  });
}

const SNOOZE_CHOICES: readonly [number, string][] = [
  [30, '30 minutes'],
  [60, '1 hour'],
  [120, '2 hours'],
  [240, '4 hours'],
  [480, '8 hours'],
  [1440, '24 hours'],
];

function snoozeDialog(alert: Alert, ctx: AppContext): void {
  const length = h('select', { name: 'minutes', required: true }, SNOOZE_CHOICES.map(([m, label]) => h('option', { value: m }, label)));
  const reason = h('textarea', { name: 'reason', rows: 3, maxlength: 1000 });
  openDialog({
    title: `Snooze “${alert.title}” — patient ${alert.patientId}`,
    fields: [field('Snooze for', length, 'The alert leaves the top of the list until then.'), field('Reason', reason)],
    submitLabel: 'Snooze alert',
    onSubmit: () => {
      const until = new Date(Date.now() + Number(length.value) * 60_000).toISOString();
      return runAction(alert, 'snooze', { until, ...(reason.value.trim() === '' ? {} : { reason: reason.value.trim() }) }, ctx);
    },
  });
}

function escalateDialog(alert: Alert, ctx: AppContext): void {
  const reason = h('textarea', { name: 'reason', rows: 3, maxlength: 1000, required: true });
  openDialog({
    title: `Escalate “${alert.title}” — patient ${alert.patientId}`,
    fields: [field('Reason', reason, 'The charge nurse is notified by SMS (without patient details).')],
    submitLabel: 'Escalate alert',
    onSubmit: () => runAction(alert, 'escalate', { reason: reason.value.trim() }, ctx),
  });
}
