import type { LedgerLine } from '../../rules/billing/ledger.js';
import type { BillingReport, ReportLine } from './billing-service.js';

/**
 * The monthly report's two wire forms (README "Panel and billing"): JSON with the evidence of
 * every line, and CSV with one row per patient-period. Pure.
 */

export interface ReportLineView {
  readonly patientId: string;
  readonly kind: 'device-period' | 'management-month';
  readonly periodKey: string;
  readonly start: string;
  readonly end: string;
  readonly month: string | null;
  readonly status: 'complete' | 'in-progress';
  readonly scheduleId: string;
  readonly timeZone: string;
  readonly billingPractitionerId: string | null;
  readonly codes: { code: string; units: number }[];
  readonly evidence: {
    readonly days: string[] | null;
    readonly dayCount: number | null;
    readonly devices: string[] | null;
    readonly readingsCounted: number | null;
    readonly readingsExcluded: { manual: number; simulated: number; flagged: number } | null;
    readonly minutes: number | null;
    readonly interactiveContacts: number | null;
    readonly timeEntries:
      | {
          entryId: string;
          staffId: string;
          staffName: string | null;
          role: string;
          startedAt: string;
          endedAt: string | null;
          interactive: boolean;
          modality: string | null;
          countedMinutes: number;
          note: string | null;
        }[]
      | null;
  };
  readonly notes: string[];
  readonly signOff: {
    signedBy: string;
    signedByName: string | null;
    signedAt: string;
    revision: number;
    amendments: { revision: number; amendedBy: string; amendedAt: string; reason: string }[];
  } | null;
  readonly changedSinceSignOff: boolean;
  /** Codes as computed now, when they differ from the signed line. */
  readonly computedCodes: { code: string; units: number }[] | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function lineView(r: ReportLine, names: ReadonlyMap<string, string>): ReportLineView {
  const l: LedgerLine = r.line;
  const name = (id: string): string | null => names.get(id) ?? null;
  const device = l.kind === 'device-period' ? l : null;
  const mgmt = l.kind === 'management-month' ? l : null;
  const { first, last } = mgmt === null ? { first: '', last: '' } : monthRange(mgmt.month);
  return {
    patientId: l.patientId,
    kind: l.kind,
    periodKey: l.periodKey,
    start: device?.start ?? first,
    end: device?.end ?? last,
    month: mgmt?.month ?? null,
    status: l.status,
    scheduleId: l.scheduleId,
    timeZone: l.timeZone,
    billingPractitionerId: l.billingPractitionerId,
    codes: l.codes.map((c) => ({ code: c.code, units: c.units })),
    evidence: {
      days: device === null ? null : [...device.days],
      dayCount: device === null ? null : device.days.length,
      devices: device === null ? null : [...device.devices],
      readingsCounted: device?.counted ?? null,
      readingsExcluded: device === null ? null : { ...device.excluded },
      minutes: mgmt?.minutes ?? null,
      interactiveContacts: mgmt?.interactiveContacts ?? null,
      timeEntries:
        mgmt === null
          ? null
          : mgmt.entries.map((e) => ({
              entryId: e.entryId,
              staffId: e.staffId,
              staffName: name(e.staffId),
              role: e.staffRole,
              startedAt: iso(e.startedAtMs),
              endedAt: e.endedAtMs === null ? null : iso(e.endedAtMs),
              interactive: e.interactive,
              modality: e.modality,
              countedMinutes: Math.round((e.countedMs / 60_000) * 10) / 10,
              note: e.note,
            })),
    },
    notes: [...l.notes],
    signOff:
      r.signOff === null
        ? null
        : {
            signedBy: r.signOff.signedBy,
            signedByName: name(r.signOff.signedBy),
            signedAt: iso(r.signOff.signedAtMs),
            revision: r.signOff.revision,
            amendments: r.signOff.amendments.map((a) => ({ revision: a.revision, amendedBy: a.amendedBy, amendedAt: iso(a.amendedAtMs), reason: a.reason })),
          },
    changedSinceSignOff: r.changedSinceSignOff,
    computedCodes: r.computed === null ? null : r.computed.codes.map((c) => ({ code: c.code, units: c.units })),
  };
}

function monthRange(month: string): { first: string; last: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return { first: `${month}-01`, last: `${month}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0')}` };
}

export interface ReportView {
  readonly organizationId: string;
  readonly month: string;
  readonly generatedAt: string;
  readonly schedules: string[];
  readonly lines: ReportLineView[];
}

export function reportView(report: BillingReport, names: ReadonlyMap<string, string>): ReportView {
  return {
    organizationId: report.organizationId,
    month: report.month,
    generatedAt: iso(report.generatedAtMs),
    schedules: [...report.scheduleIds],
    lines: report.lines.map((l) => lineView(l, names)),
  };
}

export const CSV_COLUMNS = [
  'organization',
  'report_month',
  'patient_id',
  'line_kind',
  'period_start',
  'period_end',
  'status',
  'schedule',
  'billing_practitioner',
  'codes',
  'device_days',
  'days',
  'devices',
  'management_minutes',
  'interactive_contacts',
  'time_entries',
  'notes',
  'signed_by',
  'signed_at',
  'revision',
  'changed_since_sign_off',
] as const;

/**
 * One cell, RFC 4180: quoted when it holds a comma, quote or line break; a leading = + - @ tab
 * or CR is prefixed with ' so a spreadsheet never runs it as a formula (OWASP CSV injection).
 */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const codeText = (codes: readonly { code: string; units: number }[]): string => codes.map((c) => (c.units === 1 ? c.code : `${c.code}x${c.units}`)).join(' ');

export function reportCsv(view: ReportView): string {
  const rows: string[] = [CSV_COLUMNS.join(',')];
  for (const l of view.lines) {
    const entries =
      l.evidence.timeEntries
        ?.map((e) => `${e.staffId} (${e.role}) ${e.startedAt}–${e.endedAt ?? 'running'} ${e.interactive ? `interactive:${e.modality ?? 'unspecified'}` : 'non-interactive'} ${e.countedMinutes} min`)
        .join('; ') ?? null;
    const cells: (string | number | boolean | null)[] = [
      view.organizationId,
      view.month,
      l.patientId,
      l.kind,
      l.start,
      l.end,
      l.status,
      l.scheduleId,
      l.signOff?.signedBy ?? l.billingPractitionerId,
      codeText(l.codes),
      l.evidence.dayCount,
      l.evidence.days?.join(' ') ?? null,
      l.evidence.devices?.join(' ') ?? null,
      l.evidence.minutes,
      l.evidence.interactiveContacts,
      entries,
      l.notes.join('; '),
      l.signOff?.signedBy ?? null,
      l.signOff?.signedAt ?? null,
      l.signOff?.revision ?? null,
      l.changedSinceSignOff,
    ];
    rows.push(cells.map(csvCell).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}
