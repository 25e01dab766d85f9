import type { Alert, WorklistResponse } from './types.js';

export interface Row {
  readonly patientId: string;
  readonly priority: number;
  /** The alert that sets the row's priority. */
  readonly top: Alert;
  readonly alerts: readonly Alert[];
}

export type ApplyResult = 'added' | 'changed' | 'removed' | 'stale';

const byPriority = (a: Alert, b: Alert): number => (b.priority ?? 0) - (a.priority ?? 0) || Date.parse(b.measuredAt) - Date.parse(a.measuredAt);

/**
 * The unresolved alerts the nurse may see, merged from the snapshot (GET /v1/worklist) and the
 * live stream. Every alert change bumps its version, so the newest version wins whatever order
 * the snapshot and the events arrive in; resolved alerts leave a tombstone so a late, older
 * event cannot bring them back. Rows are ordered like the server's: priority, then patient id.
 */
export class WorklistModel {
  private readonly alerts = new Map<string, Alert>();
  private readonly tombstones = new Map<string, number>();
  private sorted: Row[] | null = null;

  /** Replace everything with a snapshot (kept: tombstones newer than the snapshot's alerts). */
  replaceAll(snapshot: WorklistResponse): void {
    this.alerts.clear();
    for (const row of snapshot.patients) {
      for (const alert of row.alerts) {
        const dead = this.tombstones.get(alert.id);
        if (dead === undefined || dead < alert.version) this.alerts.set(alert.id, alert);
      }
    }
    this.sorted = null;
  }

  apply(alert: Alert): ApplyResult {
    const dead = this.tombstones.get(alert.id);
    if (dead !== undefined && dead >= alert.version) return 'stale';
    const known = this.alerts.get(alert.id);
    if (known !== undefined && known.version > alert.version) return 'stale';
    // Same version: an event with a fresh priority may follow an action's answer (which has none).
    if (known !== undefined && known.version === alert.version && alert.priority === undefined) return 'stale';
    this.sorted = null;
    if (alert.status === 'resolved') {
      this.tombstones.set(alert.id, alert.version);
      return this.alerts.delete(alert.id) ? 'removed' : 'stale';
    }
    // An action's answer carries no priority: keep the last one (and why) until the stream's event brings it.
    const kept = alert.priority === undefined && known !== undefined ? { ...alert, priority: known.priority, priorityReasons: known.priorityReasons } : alert;
    this.alerts.set(alert.id, kept);
    return known === undefined ? 'added' : 'changed';
  }

  get(id: string): Alert | undefined {
    return this.alerts.get(id);
  }

  get size(): number {
    return this.alerts.size;
  }

  alertsOf(patientId: string): Alert[] {
    return [...this.alerts.values()].filter((a) => a.patientId === patientId).sort(byPriority);
  }

  rows(): readonly Row[] {
    if (this.sorted !== null) return this.sorted;
    const byPatient = new Map<string, Alert[]>();
    for (const alert of this.alerts.values()) {
      let list = byPatient.get(alert.patientId);
      if (list === undefined) byPatient.set(alert.patientId, (list = []));
      list.push(alert);
    }
    const rows: Row[] = [];
    for (const [patientId, list] of byPatient) {
      list.sort(byPriority);
      const top = list[0];
      if (top !== undefined) rows.push({ patientId, priority: top.priority ?? 0, top, alerts: list });
    }
    rows.sort((a, b) => b.priority - a.priority || (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0));
    this.sorted = rows;
    return rows;
  }
}
