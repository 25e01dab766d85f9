import uPlot from 'uplot';
import { h } from '../dom.js';
import { dateAndTime, KIND_LABEL, readingValue, SEVERITY_LABEL, settingLabel, unitLabel, when } from '../format.js';
import type { Alert, Reading, ReadingKind, Rule, Severity, ThresholdLimit } from '../types.js';

/** Which components a kind's chart plots, with colours that stay apart for colour-blind readers. */
const PLOTTED: Record<ReadingKind, readonly { readonly name: string; readonly label: string; readonly color: string }[]> = {
  'blood-pressure': [
    { name: 'systolic', label: 'Systolic', color: '#b3261e' },
    { name: 'diastolic', label: 'Diastolic', color: '#1f5fad' },
  ],
  'heart-rate': [{ name: 'value', label: 'Heart rate', color: '#6b3fa0' }],
  spo2: [{ name: 'value', label: 'SpO₂', color: '#1f5fad' }],
  'body-weight': [{ name: 'value', label: 'Weight', color: '#2e6b30' }],
  'body-temperature': [{ name: 'value', label: 'Temperature', color: '#b3261e' }],
  'blood-glucose': [{ name: 'value', label: 'Glucose', color: '#8a4b08' }],
  'respiratory-rate': [{ name: 'value', label: 'Respiratory rate', color: '#1f5fad' }],
};

export const SEVERITY_COLOR: Record<Severity, string> = { critical: '#b3261e', high: '#c25e00', medium: '#8a6d00', low: '#4d6b7f' };

interface Band {
  readonly from: number;
  readonly to: number;
  readonly severity: Severity;
  readonly label: string;
}

/** Threshold rules in force for the kind → bands from each tier's limit outward (to the next tier or the chart edge). */
export function thresholdBands(kind: ReadingKind, rules: readonly Rule[]): Band[] {
  const plotted = new Set(PLOTTED[kind].map((p) => p.name));
  const bands: Band[] = [];
  for (const rule of rules) {
    if (rule.type !== 'threshold' || !rule.enabled || rule.kind !== kind || !('limits' in rule)) continue;
    for (const limit of rule.limits as readonly ThresholdLimit[]) {
      if (!plotted.has(limit.component)) continue;
      const up = limit.comparator === '>' || limit.comparator === '>=';
      limit.tiers.forEach((tier, i) => {
        const next = limit.tiers[i + 1];
        const name = limit.component === 'value' ? '' : `${limit.component} `;
        bands.push({
          from: tier.value,
          to: next?.value ?? (up ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY),
          severity: tier.severity,
          label: `${name}${limit.comparator} ${tier.value} · ${SEVERITY_LABEL[tier.severity].toLowerCase()}`,
        });
      });
    }
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

/**
 * One vital over time with uPlot. The canvas is an image to assistive technology: the figure's
 * label summarizes it, and the latest-readings table beside it carries the numbers.
 */
export function vitalChart(kind: ReadingKind, readings: readonly Reading[], rules: readonly Rule[], alerts: readonly Alert[]): VitalChart {
  const plotted = PLOTTED[kind];
  const xs: number[] = [];
  const home = plotted.map(() => [] as (number | null)[]);
  const clinic = plotted.map(() => [] as (number | null)[]);
  let clinicCount = 0;
  for (const r of readings) {
    xs.push(Date.parse(r.measuredAtUtc) / 1000);
    const isClinic = r.setting === 'clinic';
    if (isClinic) clinicCount++;
    plotted.forEach((p, i) => {
      const c = r.components.find((x) => x.name === p.name);
      const v = c?.value ?? null;
      home[i]?.push(isClinic ? null : v);
      clinic[i]?.push(isClinic ? v : null);
    });
  }
  const unit = unitLabel(readings[0]?.components.find((c) => c.name === plotted[0]?.name)?.unit ?? '');
  const bands = thresholdBands(kind, rules);
  const mine = rulesOfKind(kind, rules);
  const marks = alerts.filter((a) => mine.has(a.rule));

  const series: uPlot.Series[] = [{ label: 'Time', value: (_u, v) => (v === null ? '—' : when(new Date(v * 1000).toISOString())) }];
  const data: (number | null)[][] = [xs];
  plotted.forEach((p, i) => {
    series.push({ label: `${p.label} (home)`, stroke: p.color, width: 1.5, spanGaps: true, points: { show: true, size: 5, fill: p.color } });
    data.push(home[i] ?? []);
    if (clinicCount > 0) {
      series.push({ label: `${p.label} (clinic)`, stroke: p.color, width: 2, fill: '#ffffff', paths: squares, points: { show: false } });
      data.push(clinic[i] ?? []);
    }
  });

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

  const root = h('div', { class: 'chart' });
  const opts: uPlot.Options = {
    width: 600,
    height: 240,
    series,
    scales: { x: { time: true }, y: { range } },
    axes: [{}, { label: unit, size: 56 }],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    hooks: {
      drawClear: [(u) => drawBands(u, bands)],
      draw: [(u) => drawAlertMarks(u, marks)],
    },
  };
  const chart = new uPlot(opts, data as uPlot.AlignedData, root);
  const resize = new ResizeObserver((entries) => {
    const w = Math.floor(entries[0]?.contentRect.width ?? 600);
    if (w > 0 && w !== chart.width) chart.setSize({ width: w, height: w < 500 ? 200 : 240 });
  });
  resize.observe(root);

  const latest = readings.at(-1);
  const summary =
    `${KIND_LABEL[kind]}: ${readings.length} reading${readings.length === 1 ? '' : 's'} from ${dateAndTime(readings[0]?.measuredAtUtc ?? '')} to ${dateAndTime(latest?.measuredAtUtc ?? '')}` +
    (latest === undefined ? '' : `; latest ${readingValue(latest)} (${settingLabel(latest.setting).toLowerCase()})`) +
    (marks.length === 0 ? '' : `; ${marks.length} alert${marks.length === 1 ? '' : 's'} marked`) +
    // The limits in words too: the shading is only visible to sighted readers.
    (bands.length === 0 ? '' : `; care-plan limits shaded: ${[...new Set(bands.map((b) => b.label))].join(', ')}`);
  root.setAttribute('role', 'img');
  root.setAttribute('aria-label', summary);
  const figure = h(
    'figure',
    { class: 'vital', 'data-kind': kind },
    h('figcaption', null, h('h3', null, KIND_LABEL[kind]), h('span', { class: 'legend-note' }, legendNote(clinicCount > 0, bands.length > 0, marks.length > 0))),
    root,
  );
  return {
    element: figure,
    destroy() {
      resize.disconnect();
      chart.destroy();
    },
  };
}

function legendNote(clinic: boolean, bands: boolean, marks: boolean): string {
  const parts = ['Home: line with dots'];
  if (clinic) parts.push('clinic: squares');
  if (bands) parts.push('shaded: care-plan limits');
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
