import { z } from 'zod';

/**
 * The roster's search, filters and sort (the dashboard keeps them in its URL), applied to rows
 * the service built. Pure.
 */

export const ROSTER_SORTS = ['priority', 'patient', 'name', 'days', 'minutes', 'last-reading'] as const;
export type RosterSort = (typeof ROSTER_SORTS)[number];

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const rosterQuery = z.object({
  q: z.string().trim().max(100).optional().describe('Search: patient id, name or MRN (case-insensitive)'),
  program: z.string().max(64).optional().describe('Enrolled in this program'),
  careTeam: z.string().max(128).optional().describe('On this care team (id)'),
  risk: z.coerce.number().int().min(1).max(3).optional().describe('Risk tier'),
  mine: flag.optional().describe('Only patients of my care teams'),
  notTransmitting: flag.optional().describe('A device not transmitting, never seen, or with a low battery'),
  atRiskDaysLeft: z.coerce
    .number()
    .int()
    .min(0)
    .max(30)
    .optional()
    .describe('Below 16 days with automated readings in the current device period, with at most this many days left in it'),
  sort: z.enum(ROSTER_SORTS).default('priority'),
  order: z.enum(['asc', 'desc']).optional().describe('Default: the natural order of the sort (priority and last reading: most urgent / newest first)'),
});
export type RosterQuery = z.infer<typeof rosterQuery>;

export interface RosterFacts {
  readonly patientId: string;
  readonly name: string | null;
  readonly mrn: string | null;
  readonly programs: readonly string[];
  readonly careTeamIds: readonly string[];
  readonly riskTier: number;
  readonly mine: boolean;
  readonly deviceProblem: boolean;
  /** Distinct days with automated readings so far in the current period, null without one. */
  readonly days: number | null;
  readonly daysToGo: number | null;
  readonly daysLeft: number | null;
  readonly minutes: number | null;
  readonly priority: number;
  readonly lastReadingAtMs: number | null;
}

export function matches(r: RosterFacts, q: RosterQuery): boolean {
  if (q.q !== undefined && q.q !== '') {
    const needle = q.q.toLowerCase();
    const hay = [r.patientId, r.name ?? '', r.mrn ?? ''].map((s) => s.toLowerCase());
    if (!hay.some((s) => s.includes(needle))) return false;
  }
  if (q.program !== undefined && !r.programs.includes(q.program)) return false;
  if (q.careTeam !== undefined && !r.careTeamIds.includes(q.careTeam)) return false;
  if (q.risk !== undefined && r.riskTier !== q.risk) return false;
  if (q.mine === true && !r.mine) return false;
  if (q.notTransmitting === true && !r.deviceProblem) return false;
  if (q.atRiskDaysLeft !== undefined && !(r.daysToGo !== null && r.daysToGo > 0 && r.daysLeft !== null && r.daysLeft <= q.atRiskDaysLeft)) return false;
  return true;
}

const nullsLast = (a: number | null, b: number | null, dir: 1 | -1): number => (a === null ? (b === null ? 0 : 1) : b === null ? -1 : (a - b) * dir);

export function compare(q: RosterQuery): (a: RosterFacts, b: RosterFacts) => number {
  const natural: Record<RosterSort, 'asc' | 'desc'> = { priority: 'desc', patient: 'asc', name: 'asc', days: 'asc', minutes: 'asc', 'last-reading': 'desc' };
  const dir: 1 | -1 = (q.order ?? natural[q.sort]) === 'asc' ? 1 : -1;
  const tie = (a: RosterFacts, b: RosterFacts): number => (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0);
  return (a, b) => {
    let c = 0;
    switch (q.sort) {
      case 'priority':
        c = (a.priority - b.priority) * dir;
        break;
      case 'patient':
        c = tie(a, b) * dir;
        break;
      case 'name':
        c = a.name === null ? (b.name === null ? 0 : 1) : b.name === null ? -1 : a.name.localeCompare(b.name) * dir;
        break;
      case 'days':
        c = nullsLast(a.days, b.days, dir);
        break;
      case 'minutes':
        c = nullsLast(a.minutes, b.minutes, dir);
        break;
      case 'last-reading':
        c = nullsLast(a.lastReadingAtMs, b.lastReadingAtMs, dir);
        break;
    }
    return c !== 0 ? c : tie(a, b);
  };
}

export function applyRosterQuery<T extends RosterFacts>(rows: readonly T[], q: RosterQuery): T[] {
  return rows.filter((r) => matches(r, q)).sort(compare(q));
}
