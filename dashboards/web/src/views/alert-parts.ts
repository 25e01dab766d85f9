import { h } from '../dom.js';
import { ago, CONFIRMATION_TAG, SEVERITY_ICON, SEVERITY_LABEL, when } from '../format.js';
import type { Alert, EpisodePoint } from '../types.js';

/**
 * The pieces of an alert a nurse reads, shared by the worklist row and the patient's alert list,
 * so both tell the same story: what fired with its limits, the values with the time they were
 * measured, its state in words, why it sits where it does, and what to do.
 */

export function severityBadge(a: Pick<Alert, 'severity'>): HTMLElement {
  return h('span', { class: `badge sev-${a.severity}` }, h('span', { 'aria-hidden': 'true' }, SEVERITY_ICON[a.severity]), ` ${SEVERITY_LABEL[a.severity]}`);
}

/** State in words, never by colour alone: worsening, confirmation, late data, flapping, back in range, escalated. */
export function tags(a: Alert): HTMLElement | null {
  const t: HTMLElement[] = [];
  const tag = (text: string, cls = ''): void => void t.push(h('span', { class: `tag ${cls}`.trim() }, text));
  if (a.worsening) tag('worsening', 'tag-worse');
  // "Awaiting repeat" is no longer true of a resolved alert; the other states are what happened.
  if (a.confirmation !== null && !(a.status === 'resolved' && a.confirmation === 'pending')) tag(CONFIRMATION_TAG[a.confirmation], `tag-confirm-${a.confirmation}`);
  if (a.late) tag('late data', 'tag-late');
  if (a.flapping) tag('flapping');
  if (a.inRange) tag('back in range');
  if (a.escalationLevel > 0) tag(`escalated ×${a.escalationLevel}`);
  if (t.length === 0) return null;
  const out = h('div', { class: 'tags' });
  t.forEach((el, i) => out.append(...(i === 0 ? [el] : [' · ', el])));
  return out;
}

/** The reading shown (the episode's worst) and when it was measured; the first reading too when it differs. */
export function episodeLines(a: Alert, now: number): HTMLElement[] {
  const worst = a.episode?.worst;
  const first = a.episode?.first;
  const lines: HTMLElement[] = [h('div', { class: 'detail' }, a.detail, worst === undefined ? null : [' · ', measured(worst, now)])];
  if (first !== undefined && worst !== undefined && (first.measuredAt !== worst.measuredAt || first.text !== worst.text)) {
    lines.push(h('div', { class: 'first-reading' }, 'First: ', first.text, ' · ', measured(first, now)));
  }
  return lines;
}

function measured(p: EpisodePoint, now: number): HTMLElement {
  return h('time', { datetime: p.measuredAt, title: p.measuredAtText }, when(p.measuredAt, now));
}

/** When the reading shown was measured (the worst of the episode): wall time with the zone, and how long ago. */
export function measuredCell(a: Alert, now: number): HTMLElement {
  const at = a.episode?.worst.measuredAt ?? a.measuredAt;
  return h(
    'span',
    null,
    h('time', { datetime: at, title: a.episode?.worst.measuredAtText ?? a.measuredAtText }, when(at, now)),
    h('br'),
    h('span', { class: 'muted', 'data-ago': at }, ago(at, now)),
  );
}

/** Why this alert sits where it does: the priority's terms, e.g. "High severity · Waited 12 of 60 min · Risk tier 2". */
export function priorityWhy(a: Alert): HTMLElement | null {
  const reasons = a.priorityReasons ?? [];
  if (reasons.length === 0) return null;
  // One text node for the reasons: 500 rows of a full ward stay light.
  return h(
    'div',
    { class: 'why' },
    h('span', { class: 'why-label' }, a.priority === undefined ? 'Why here: ' : `Priority ${a.priority}: `),
    reasons.map((r) => (r.points > 0 ? `${r.label} +${r.points}` : r.label)).join(' · '),
  );
}

/** The rule's sourced "what to do" line. */
export function actionLine(a: Pick<Alert, 'action'>): HTMLElement | null {
  return a.action === null ? null : h('p', { class: 'action-line' }, h('strong', null, 'What to do: '), a.action);
}

/** The confirmation state as a sentence (awaiting a repeat, confirmed, not confirmed, no repeat came). */
export function confirmationLine(a: Pick<Alert, 'confirmationText'>): HTMLElement | null {
  return a.confirmationText === null ? null : h('p', { class: 'confirmation' }, a.confirmationText);
}

/** Late data in words where it matters: the values are old, look at when they were measured. */
export function lateLine(a: Pick<Alert, 'late'>): HTMLElement | null {
  return a.late ? h('p', { class: 'late-note' }, h('span', { 'aria-hidden': 'true' }, '⏱ '), 'Late data: raised from readings that arrived late (backfill or an offline device). Check when they were measured.') : null;
}
