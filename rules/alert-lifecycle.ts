import type { Alert, AlertAction, AlertActionBody, AlertStatus } from '../core/model/alert.js';

/** Why a transition is refused; the edge maps `conflict` to 409 and `invalid` to 422. */
export interface TransitionRefusal {
  readonly refused: 'conflict' | 'invalid';
  readonly message: string;
}

export interface TransitionResult {
  readonly alert: Alert;
  readonly note: string | null;
}

const UNRESOLVED: ReadonlySet<AlertStatus> = new Set(['open', 'claimed', 'acknowledged']);

/**
 * The nurse-facing lifecycle, pure: given the alert as stored, the actor and the action, the
 * alert as it must be stored next (version + 1), or a refusal. Two nurses acting on the same
 * alert: the store applies the result only if the version is unchanged, so one wins.
 */
export function transition(alert: Alert, action: AlertAction, actor: string, body: AlertActionBody, nowMs: number): TransitionResult | TransitionRefusal {
  if (body.version !== undefined && body.version !== alert.version) {
    return { refused: 'conflict', message: `alert is at version ${alert.version}, not ${body.version}; reload it` };
  }
  if (!UNRESOLVED.has(alert.status)) return { refused: 'conflict', message: 'alert is already resolved' };
  const heldByOther = alert.claimedBy !== null && alert.claimedBy !== actor && alert.status !== 'open';
  const base = { ...alert, version: alert.version + 1, updatedAtMs: nowMs };
  switch (action) {
    case 'claim':
      if (heldByOther) return { refused: 'conflict', message: `claimed by ${alert.claimedBy}` };
      if (alert.status === 'claimed' && alert.claimedBy === actor) return { refused: 'conflict', message: 'you already hold this alert' };
      return { alert: { ...base, status: alert.status === 'acknowledged' ? 'acknowledged' : 'claimed', claimedBy: actor, claimedAtMs: nowMs }, note: body.note ?? null };
    case 'release':
      if (alert.claimedBy !== actor) return { refused: 'conflict', message: 'only the nurse holding the alert can release it' };
      // Releasing gives the alert back to the queue; an acknowledgement already given stands.
      return { alert: { ...base, status: alert.acknowledgedBy === null ? 'open' : 'acknowledged', claimedBy: null, claimedAtMs: null }, note: body.note ?? null };
    case 'acknowledge':
      if (heldByOther) return { refused: 'conflict', message: `claimed by ${alert.claimedBy}` };
      if (alert.status === 'acknowledged') return { refused: 'conflict', message: 'already acknowledged' };
      return {
        alert: { ...base, status: 'acknowledged', acknowledgedBy: actor, acknowledgedAtMs: nowMs, claimedBy: alert.claimedBy ?? actor, claimedAtMs: alert.claimedAtMs ?? nowMs },
        note: body.note ?? null,
      };
    case 'resolve':
      if (heldByOther) return { refused: 'conflict', message: `claimed by ${alert.claimedBy}` };
      if (body.outcome === undefined) return { refused: 'invalid', message: 'resolving needs an outcome' };
      return {
        alert: { ...base, status: 'resolved', resolvedBy: actor, resolvedAtMs: nowMs, outcome: body.outcome, note: body.note ?? null, snoozedUntilMs: null },
        note: body.note ?? null,
      };
    case 'snooze': {
      // Snoozing hides the alert from the worklist: not for someone else's alert.
      if (heldByOther) return { refused: 'conflict', message: `claimed by ${alert.claimedBy}` };
      const until = body.until === undefined ? undefined : Date.parse(body.until);
      if (until === undefined || !Number.isFinite(until) || until <= nowMs) return { refused: 'invalid', message: 'snoozing needs `until` in the future' };
      if (until - nowMs > 7 * 86_400_000) return { refused: 'invalid', message: 'snooze at most 7 days' };
      return { alert: { ...base, snoozedUntilMs: until }, note: body.note ?? body.reason ?? null };
    }
    case 'escalate':
      return { alert: { ...base, escalationLevel: alert.escalationLevel + 1, escalatedAtMs: nowMs }, note: body.reason ?? body.note ?? null };
  }
}

export function isRefusal(r: TransitionResult | TransitionRefusal): r is TransitionRefusal {
  return 'refused' in r;
}
