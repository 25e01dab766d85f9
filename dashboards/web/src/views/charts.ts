import uPlot from 'uplot';
import { h } from '../dom.js';
import { currentTimeZone, dateAndTime, KIND_LABEL, readingValue, SEVERITY_LABEL, settingLabel, unitSymbol, when } from '../format.js';
import type { Alert, ChartBand, Reading, ReadingKind, Rule, Severity } from '../types.js';

/** One line on a chart: which readings it takes a value from, and which value. */
interface SeriesSpec {
  readonly label: string;
  readonly color: string;
  readonly kind: ReadingKind;
  readonly component: string;
}

/**
 * One plot of a chart. Limits are drawn on the plot of the component they apply to only: a
 * diastolic limit shaded across a systolic line would mark normal systolic values as breaching,
 * so blood pressure has a systolic and a diastolic plot (one cursor, one time axis).
 */
interface PanelSpec {
  readonly name: string;
  /** The care-plan bands drawn here: this kind's limits on these components. */
  readonly bandKind: ReadingKind;
  readonly bandComponents: readonly string[];
  readonly series: readonly SeriesSpec[];
}

/** Colours that stay apart for colour-blind readers; shape tells home from clinic. */
const CHARTS: Partial<Record<ReadingKind, readonly PanelSpec[]>> = {
  'blood-pressure': [
    { name: 'systolic', bandKind: 'blood-pressure', bandComponents: ['systolic'], series: [{ label: 'Systolic', color: '#b3261e', kind: 'blood-pressure', component: 'systolic' }] },
    { name: 'diastolic', bandKind: 'blood-pressure', bandComponents: ['diastolic'], series: [{ label: 'Diastolic', color: '#1f5fad', kind: 'blood-pressure', component: 'diastolic' }] },
  ],
  // The heart-rate rule judges the pulse a BP cuff or an oximeter counts too: plotted here, under the same limits.
  'heart-rate': [
    {
      name: '',
      bandKind: 'heart-rate',
      bandComponents: ['value'],
      series: [
        { label: 'Heart rate', color: '#6b3fa0', kind: 'heart-rate', component: 'value' },
        { label: 'Pulse from BP cuff', color: '#8a4b08', kind: 'blood-pressure', component: 'pulse' },
        { label: 'Pulse from oximeter', color: '#1f6b5c', kind: 'spo2', component: 'pulse' },
      ],
    },
  ],
  spo2: [{ name: '', bandKind: 'spo2', bandComponents: ['value'], series: [{ label: 'SpO₂', color: '#1f5fad', kind: 'spo2', component: 'value' }] }],
  'body-weight': [{ name: '', bandKind: 'body-weight', bandComponents: ['value'], series: [{ label: 'Weight', color: '#2e6b30', kind: 'body-weight', component: 'value' }] }],
  'blood-glucose': [{ name: '', bandKind: 'blood-glucose', bandComponents: ['value'], series: [{ label: 'Glucose', color: '#8a4b08', kind: 'blood-glucose', component: 'value' }] }],
  'body-temperature': [{ name: '', bandKind: 'body-temperature', bandComponents: ['value'], series: [{ label: 'Temperature', color: '#b3261e', kind: 'body-temperature', component: 'value' }] }],
  'respiratory-rate': [{ name: '', bandKind: 'respiratory-rate', bandComponents: ['value'], series: [{ label: 'Respiratory rate', color: '#1f5fad', kind: 'respiratory-rate', component: 'value' }] }],
};

/** The charts, in the order a nurse scans them. Consciousness and oxygen are in the readings table and NEWS2. */
export const CHART_KINDS: readonly ReadingKind[] = ['blood-pressure', 'heart-rate', 'spo2', 'body-weight', 'blood-glucose', 'body-temperature', 'respiratory-rate'];

export const SEVERITY_COLOR: Record<Severity, string> = { critical: '#b3261e', high: '#c25e00', medium: '#8a6d00', low: '#4d6b7f' };

/** The readings a chart of `kind` draws from (the heart-rate chart also takes the pulse of BP and SpO2 readings). */
export function chartSources(kind: ReadingKind): ReadonlySet<ReadingKind> {
  return new Set((CHARTS[kind] ?? []).flatMap((p) => p.series.map((s) => s.kind)));
}

/** A series' value in the reader's display units (what the server rendered), else canonical. */
function valueOf(r: Reading, s: SeriesSpec): { value: number; unit: string } | null {
  if (r.kind !== s.kind) return null;
  const c = (r.display?.components ?? r.components).find((x) => x.name === s.component);
  return c === undefined ? null : { value: c.value, unit: c.unit };
}

interface Band {
  readonly from: number;
  readonly to: number;
  readonly severity: Severity;
  readonly label: string;
}

/**
 * The care plan's limits for one plot (GET care-plan `display.bands`, in the reader's units):
 * each shaded from its limit outward to the next tier in the same direction, or to the edge.
 */
export function panelBands(panel: PanelSpec, all: readonly ChartBand[]): Band[] {
  const mine = all.filter((b) => b.kind === panel.bandKind && panel.bandComponents.includes(b.component));
  const seen = new Set<string>();
  const bands: Band[] = [];
  for (const b of mine) {
    const key = `${b.component}:${b.comparator}:${b.value}:${b.severity}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const up = b.comparator === '>' || b.comparator === '>=';
    const further = mine.filter((o) => o.component === b.component && (o.comparator === '>' || o.comparator === '>=') === up && (up ? o.value > b.value : o.value < b.value)).map((o) => o.value);
    const to = further.length === 0 ? (up ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY) : up ? Math.min(...further) : Math.max(...further);
    bands.push({ from: b.value, to, severity: b.severity, label: `${b.label} · ${SEVERITY_LABEL[b.severity].toLowerCase()}` });
  }
  return bands;
}

/** The rule ids whose alerts belong on this kind's chart. */
function rulesOfKind(kind: ReadingKind, rules: readonly Rule[]): Set<string> {
  return new Set(rules.filter((r) => r.kind === kind).map((r) => r.id));
}

/** Clinic readings: squares, unconnected; home readings are a line with round points. Shape, not just colour. */
const squares: uPlot.Series.PathBuilder = (u, seriesIdx, idx0, idx1) => {
  const xs = u.data[0];
  const ys = u.data[seriesIdx];
  const path = new Path2D();
  const s = Math.round(8 * uPlot.pxRatio);
  if (ys === undefined) return { stroke: path, fill: path };
  for (let i = idx0; i <= idx1; i++) {
    const y = ys[i];
    const x = xs[i];
    if (y === null || y === undefined || x === undefined) continue;
    const cx = Math.round(u.valToPos(x, 'x', true));
    const cy = Math.round(u.valToPos(y, 'y', true));
    path.rect(cx - s / 2, cy - s / 2, s, s);
  }
  return { stroke: path, fill: path };
};

export interface VitalChart {
  readonly element: HTMLElement;
  destroy(): void;
}

let syncCounter = 0;

/**
 * One vital over time with uPlot, in the reader's display units and time zone. The canvas is an
 * image to assistive technology: the figure's label summarizes it (limits in words too), and
 * the latest-readings table beside it carries the numbers. Null when nothing to draw.
 */
export function vitalChart(kind: ReadingKind, all: readonly Reading[], bandsInForce: readonly ChartBand[], rules: readonly Rule[], alerts: readonly Alert[]): VitalChart | null {
  const panels = (CHARTS[kind] ?? [])
    .map((p) => ({ ...p, series: p.series.filter((s) => all.some((r) => valueOf(r, s) !== null)) }))
    .filter((p) => p.series.length > 0);
  if (panels.length === 0) return null;
  const sources = chartSources(kind);
  const readings = all.filter((r) => sources.has(r.kind) && panels.some((p) => p.series.some((s) => valueOf(r, s) !== null)));
  const xs = readings.map((r) => Date.parse(r.measuredAtUtc) / 1000);
  const single = xs.length > 0 && xs.every((x) => x === xs[0]);
  const clinicCount = readings.filter((r) => r.setting === 'clinic').length;
  const mine = rulesOfKind(kind, rules);
  const marks = alerts.filter((a) => mine.has(a.rule));
  const zone = currentTimeZone();
  const syncKey = `vital-${++syncCounter}`;
  const small = (): boolean => (root.clientWidth || 600) < 500;
  const height = (): number => (panels.length > 1 ? (small() ? 150 : 180) : small() ? 200 : 240);

  const root = h('div', { class: 'chart' });
  const described: string[] = [];
  const plots: uPlot[] = [];
  for (const panel of panels) {
    const bands = panelBands(panel, bandsInForce);
    if (bands.length > 0) described.push(`${panel.name === '' ? '' : `${panel.name}: `}${[...new Set(bands.map((b) => b.label))].join(', ')}`);
    const series: uPlot.Series[] = [{ label: 'Time', value: (_u, v) => (v === null ? '—' : when(new Date(v * 1000).toISOString())) }];
    const data: (number | null)[][] = [xs];
    let unit = '';
    for (const s of panel.series) {
      const home: (number | null)[] = [];
      const clinic: (number | null)[] = [];
      for (const r of readings) {
        const v = valueOf(r, s);
        if (v !== null && unit === '') unit = unitSymbol(v.unit);
        home.push(r.setting === 'clinic' ? null : (v?.value ?? null));
        clinic.push(r.setting === 'clinic' ? (v?.value ?? null) : null);
      }
      series.push({ label: `${s.label} (home)`, stroke: s.color, width: 1.5, spanGaps: true, points: { show: true, size: 5, fill: s.color } });
      data.push(home);
      if (clinicCount > 0) {
        series.push({ label: `${s.label} (clinic)`, stroke: s.color, width: 2, fill: '#ffffff', paths: squares, points: { show: false } });
        data.push(clinic);
      }
    }
    // Bring the nearest limit on each side into view (how close is the patient?) unless it would
    // squash the data to less than a third of the height.
    const limits = bands.map((b) => b.from);
    const range: uPlot.Range.Function = (_u, min, max) => {
      const span = Math.max(max - min, 1);
      const above = Math.min(...limits.filter((l) => l > max));
      const below = Math.max(...limits.filter((l) => l < min));
      const hi = above - max <= span * 2 ? above : max;
      const lo = min - below <= span * 2 ? below : min;
      const pad = Math.max((hi - lo) * 0.08, 1);
      return [lo - pad, hi + pad];
    };
    // The limits drawn on this plot, in words: what the shading means, for tests and for anyone inspecting it.
    const holder = h('div', { class: 'plot', 'data-component': panel.name || 'value', 'data-limits': bands.map((b) => b.label).join('; ') });
    root.append(holder);
    const opts: uPlot.Options = {
      width: 600,
      height: height(),
      series,
      // Times on the axis and in the legend in the clinic's zone, like every other time.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), zone),
      // Readings all at one instant (a first reading, observations entered together): a day around it
      // (uPlot would otherwise span 1000 days from it).
      scales: { x: { time: true, range: (_u, min, max) => (single ? [(xs[0] ?? min) - 43_200, (xs[0] ?? max) + 43_200] : [min, max]) }, y: { range } },
      axes: [{}, { label: panel.name === '' ? unit : `${panel.name[0]?.toUpperCase()}${panel.name.slice(1)} (${unit})`, size: 56 }],
      legend: { live: true },
      cursor: { drag: { x: true, y: false }, sync: { key: syncKey } },
      hooks: {
        drawClear: [(u) => drawBands(u, bands)],
        draw: [(u) => drawAlertMarks(u, marks)],
      },
    };
    plots.push(new uPlot(opts, data as uPlot.AlignedData, holder));
  }
  const resize = new ResizeObserver((entries) => {
    const w = Math.floor(entries[0]?.contentRect.width ?? 600);
    for (const chart of plots) if (w > 0 && w !== chart.width) chart.setSize({ width: w, height: height() });
  });
  resize.observe(root);

  const latest = readings.at(-1);
  const summary =
    `${KIND_LABEL[kind]}: ${readings.length} reading${readings.length === 1 ? '' : 's'} from ${dateAndTime(readings[0]?.measuredAtUtc ?? '')} to ${dateAndTime(latest?.measuredAtUtc ?? '')}` +
    (latest === undefined ? '' : `; latest ${readingValue(latest)} (${settingLabel(latest.setting).toLowerCase()})`) +
    (marks.length === 0 ? '' : `; ${marks.length} alert${marks.length === 1 ? '' : 's'} marked`) +
    // The limits in words too: the shading is only visible to sighted readers.
    (described.length === 0 ? '' : `; care-plan limits shaded: ${described.join('; ')}`);
  root.setAttribute('role', 'img');
  root.setAttribute('aria-label', summary);
  const figure = h(
    'figure',
    { class: 'vital', 'data-kind': kind },
    h('figcaption', null, h('h3', null, KIND_LABEL[kind]), h('span', { class: 'legend-note' }, legendNote(clinicCount > 0, described.length > 0, marks.length > 0, panels.length > 1))),
    root,
  );
  return {
    element: figure,
    destroy() {
      resize.disconnect();
      for (const chart of plots) chart.destroy();
    },
  };
}

function legendNote(clinic: boolean, bands: boolean, marks: boolean, split: boolean): string {
  const parts = ['Home: line with dots'];
  if (clinic) parts.push('clinic: squares');
  if (bands) parts.push(split ? 'shaded: care-plan limits of that plot’s value' : 'shaded: care-plan limits');
  if (marks) parts.push('dashed verticals: alerts');
  return parts.join(' · ');
}

function hexAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function drawBands(u: uPlot, bands: readonly Band[]): void {
  if (bands.length === 0) return;
  const { ctx, bbox } = u;
  const [yMin, yMax] = [u.scales.y?.min ?? 0, u.scales.y?.max ?? 0];
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
  ctx.font = `${Math.round(11 * uPlot.pxRatio)}px system-ui, sans-serif`;
  for (const b of bands) {
    const lo = Math.max(Math.min(b.from, b.to), yMin);
    const hi = Math.min(Math.max(b.from, b.to), yMax);
    if (hi <= lo) continue;
    const top = u.valToPos(hi, 'y', true);
    const bottom = u.valToPos(lo, 'y', true);
    ctx.fillStyle = hexAlpha(SEVERITY_COLOR[b.severity], 0.09);
    ctx.fillRect(bbox.left, top, bbox.width, bottom - top);
    const edge = u.valToPos(b.from, 'y', true);
    if (b.from >= yMin && b.from <= yMax) {
      ctx.strokeStyle = hexAlpha(SEVERITY_COLOR[b.severity], 0.8);
      ctx.lineWidth = uPlot.pxRatio;
      ctx.setLineDash([4 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
      ctx.beginPath();
      ctx.moveTo(bbox.left, edge);
      ctx.lineTo(bbox.left + bbox.width, edge);
      ctx.stroke();
      ctx.fillStyle = SEVERITY_COLOR[b.severity];
      const up = b.to > b.from;
      ctx.fillText(b.label, bbox.left + 4 * uPlot.pxRatio, up ? edge - 3 * uPlot.pxRatio : edge + 12 * uPlot.pxRatio);
    }
  }
  ctx.restore();
}

function drawAlertMarks(u: uPlot, alerts: readonly Alert[]): void {
  if (alerts.length === 0) return;
  const { ctx, bbox } = u;
  const r = uPlot.pxRatio;
  ctx.save();
  for (const a of alerts) {
    const x = u.valToPos(Date.parse(a.measuredAt) / 1000, 'x', true);
    if (x < bbox.left || x > bbox.left + bbox.width) continue;
    ctx.strokeStyle = SEVERITY_COLOR[a.severity];
    ctx.fillStyle = SEVERITY_COLOR[a.severity];
    ctx.lineWidth = 1.5 * r;
    ctx.setLineDash([3 * r, 3 * r]);
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
    // A downward triangle at the top edge: the alert's measurement time.
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.moveTo(x - 6 * r, bbox.top);
    ctx.lineTo(x + 6 * r, bbox.top);
    ctx.lineTo(x, bbox.top + 9 * r);
    ctx.closePath();
    ctx.fill();
  }
  ctx.restore();
}
