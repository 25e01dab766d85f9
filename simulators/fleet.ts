import { DAY_MS, HOUR_MS, MINUTE_MS } from './local-time.js';
import {
  type Baseline,
  type Episode,
  type EpisodeType,
  type Fleet,
  MEASURING_KINDS,
  type MeasuringKind,
  type PatientProfile,
  type Program,
  type SimDevice,
  type SimHub,
  type SimPatient,
  type Transport,
} from './model.js';
import { Rng } from './rng.js';

/**
 * Builds a fleet from a seed: patients of realistic kinds (a hypertensive with a cuff, a
 * heart-failure patient with a scale and a cuff, …), their devices, hubs, and scripted episodes
 * placed around the run's anchor ("now"). Same options and seed → same fleet, to the digit.
 */

export interface FleetOptions {
  readonly seed: string | number;
  /** Prefix of every id; `sim` marks simulated test data (ids like `sim-p0007-bp`). */
  readonly idPrefix?: string;
  readonly organizationId?: string;
  /** Number of patients (devices follow from their conditions) … */
  readonly patients?: number;
  /** … or number of measuring devices (patients are added until there are this many). */
  readonly devices?: number;
  /** Weights per device kind; when given, device kinds follow these weights instead of patient archetypes. */
  readonly mix?: Partial<Record<MeasuringKind, number>>;
  /** How senders reach the gateway: all MQTT, all HTTP, or mixed (60 % MQTT). */
  readonly transport?: Transport | 'mixed';
  /** Share of patients whose devices are relayed by a hub (0..1). */
  readonly hubShare?: number;
  /** Which scripted episodes to place: `mixed` (all kinds, by condition), `none`, or a list. */
  readonly episodes?: 'mixed' | 'none' | readonly EpisodeType[];
  /** The run's "now": episodes are placed relative to it. */
  readonly anchorMs: number;
  /** Length of the live phase, so that some episodes begin while the run watches. */
  readonly liveMs?: number;
  /** UTC offsets (minutes) to draw patients' time zones from. Default: US zones. */
  readonly utcOffsets?: readonly number[];
  /** Make sure every wanted episode type happens to at least one suitable patient (demos). */
  readonly showcase?: boolean;
}

interface Archetype {
  readonly name: string;
  readonly weight: number;
  readonly programs: (r: Rng) => Program[];
  readonly devices: (r: Rng) => MeasuringKind[];
}

/** Typical RPM enrolment: hypertension and heart failure dominate, then diabetes and COPD. */
const ARCHETYPES: readonly Archetype[] = [
  { name: 'hypertension', weight: 30, programs: () => ['general', 'hypertension'], devices: () => ['bp-cuff'] },
  {
    name: 'heart-failure',
    weight: 20,
    programs: () => ['general', 'hypertension', 'heart-failure'],
    devices: (r) => (r.chance(0.5) ? ['scale', 'bp-cuff', 'pulse-oximeter'] : ['scale', 'bp-cuff']),
  },
  {
    name: 'diabetes',
    weight: 15,
    programs: (r) => (r.chance(0.5) ? ['general', 'diabetes', 'hypertension'] : ['general', 'diabetes']),
    devices: () => ['glucometer'],
  },
  { name: 'diabetes-cgm', weight: 8, programs: () => ['general', 'diabetes'], devices: () => ['cgm'] },
  { name: 'copd', weight: 15, programs: () => ['general', 'copd'], devices: () => ['pulse-oximeter', 'thermometer'] },
  { name: 'general', weight: 12, programs: () => ['general'], devices: () => ['pulse-oximeter', 'thermometer', 'bp-cuff'] },
];

const US_OFFSETS = [-300, -300, -300, -360, -360, -420, -480, -480] as const;

export const SHORT_KIND: Readonly<Record<MeasuringKind, string>> = {
  'bp-cuff': 'bp',
  'pulse-oximeter': 'ox',
  scale: 'scale',
  glucometer: 'bg',
  thermometer: 'temp',
  cgm: 'cgm',
};

function programsFromDevices(kinds: readonly MeasuringKind[], r: Rng): Program[] {
  const programs = new Set<Program>(['general']);
  for (const k of kinds) {
    if (k === 'bp-cuff') programs.add('hypertension');
    if (k === 'scale') programs.add('heart-failure');
    if (k === 'glucometer' || k === 'cgm') programs.add('diabetes');
    if (k === 'pulse-oximeter' && r.chance(0.3)) programs.add('copd');
  }
  return [...programs];
}

function baselineFor(programs: readonly Program[], r: Rng): Baseline {
  const has = (p: Program): boolean => programs.includes(p);
  // Treated hypertension: about half reach the home target of < 130/80. Diastolic follows
  // systolic (they are correlated), so the pulse pressure stays physiological.
  const systolic = has('hypertension') ? r.normal(133, 10) : r.normal(119, 7);
  return {
    systolic,
    diastolic: 0.45 * systolic + r.normal(20, 4),
    heartRate: has('heart-failure') ? r.normal(78, 7) : r.normal(71, 7),
    // COPD patients live at 88–92 %; others at 95–99 %.
    spo2: has('copd') ? r.normal(92, 1) : Math.min(99, r.normal(97, 0.8)),
    weightKg: has('heart-failure') ? r.normal(88, 14) : r.normal(80, 15),
    temperatureC: r.normal(36.7, 0.15),
    glucoseFasting: has('diabetes') ? r.normal(135, 20) : r.normal(92, 7),
    glucoseMealRise: has('diabetes') ? r.uniform(60, 95) : r.uniform(20, 40),
  };
}

function profileFor(programs: readonly Program[], r: Rng, offsets: readonly number[]): PatientProfile {
  return {
    utcOffsetMin: r.pick(offsets),
    baseline: baselineFor(programs, r),
    adherence: r.uniform(0.8, 0.97),
    units: {
      weight: r.chance(0.75) ? 'lb' : 'kg',
      temperature: r.chance(0.75) ? '[degF]' : 'Cel',
      glucose: r.chance(0.85) ? 'mg/dL' : 'mmol/L',
    },
  };
}

/** A hypoglycemia under way at `now` (started `minutesAgo`): a CGM shows it at once, a meter at the next check. */
function hypoglycemiaNow(now: number, minutesAgo: number, nadirMgDl: number): Episode {
  return { type: 'hypoglycemia', startMs: now - minutesAgo * MINUTE_MS, durationMin: 100, nadirMgDl };
}

/** Story episodes for one patient: mostly ongoing at the anchor, so they show on a worklist now. */
function episodesFor(programs: readonly Program[], kinds: readonly MeasuringKind[], profile: PatientProfile, r: Rng, opts: FleetOptions): Episode[] {
  const wanted = (t: EpisodeType): boolean =>
    opts.episodes === undefined || opts.episodes === 'mixed' ? true : opts.episodes === 'none' ? false : opts.episodes.includes(t);
  const now = opts.anchorMs;
  const liveMs = opts.liveMs ?? 0;
  const has = (k: MeasuringKind): boolean => kinds.includes(k);
  const out: Episode[] = [];
  // Draw every decision whatever is wanted, so filtering episode types never changes the others.
  const hf = r.chance(0.5);
  const severe = r.chance(0.25);
  const hypo = r.chance(0.35);
  const desat = r.chance(0.25);
  const fever = r.chance(0.12);
  const missed = r.chance(0.1);
  const live = r.chance(0.15);
  const u = Array.from({ length: 6 }, () => r.next());
  const at = (i: number, lo: number, hi: number): number => lo + (hi - lo) * (u[i] as number);

  if (wanted('hf-fluid-gain') && hf && programs.includes('heart-failure') && has('scale')) {
    // Near the peak of a four-day build-up at the anchor: the last day's gain is the largest.
    out.push({ type: 'hf-fluid-gain', startMs: now - at(0, 3.4, 4) * DAY_MS, days: 4, totalKg: at(1, 2.8, 4) });
  }
  if (wanted('severe-hypertension') && severe && has('bp-cuff')) {
    out.push({ type: 'severe-hypertension', startMs: now - at(2, 0.5, 6) * HOUR_MS, endMs: now + 6 * HOUR_MS, systolicRise: at(3, 55, 70), diastolicRise: at(4, 20, 30) });
  }
  if (wanted('hypoglycemia') && hypo && (has('glucometer') || has('cgm'))) {
    out.push(hypoglycemiaNow(now, at(2, 15, 45), at(5, 45, 62)));
  }
  if (wanted('desaturation') && desat && has('pulse-oximeter')) {
    out.push({ type: 'desaturation', startMs: now - at(0, 2, 20) * HOUR_MS, endMs: now + at(1, 2, 12) * HOUR_MS, depth: at(2, 5, 8) });
  }
  if (wanted('fever') && fever && has('thermometer')) {
    out.push({ type: 'fever', startMs: now - at(3, 6, 30) * HOUR_MS, endMs: now + 12 * HOUR_MS, peakC: at(4, 38.6, 39.4) });
  }
  if (wanted('missed-readings') && missed) {
    out.push({ type: 'missed-readings', startMs: now - at(5, 2.2, 4) * DAY_MS, endMs: now + DAY_MS, kinds: 'all' });
  }
  if (live && liveMs > 0) {
    // An episode that begins while the run is watching: the worklist changes live.
    const startMs = now + Math.min(10 * MINUTE_MS, liveMs / 2) * at(0, 0.1, 1);
    if (wanted('desaturation') && has('pulse-oximeter')) out.push({ type: 'desaturation', startMs, endMs: startMs + 6 * HOUR_MS, depth: 7 });
    else if (wanted('severe-hypertension') && has('bp-cuff')) out.push({ type: 'severe-hypertension', startMs, endMs: startMs + 6 * HOUR_MS, systolicRise: 65, diastolicRise: 28 });
    else if (wanted('hypoglycemia') && has('cgm')) out.push({ type: 'hypoglycemia', startMs, durationMin: 90, nadirMgDl: 50 });
  }
  return out;
}

/** Exact counts per kind from weights (largest remainder), in a seeded shuffled order. */
function apportion(mix: Partial<Record<MeasuringKind, number>>, n: number, r: Rng): MeasuringKind[] {
  const entries = MEASURING_KINDS.map((k) => [k, Math.max(0, mix[k] ?? 0)] as const).filter(([, w]) => w > 0);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  if (total === 0) throw new Error('the device mix has no positive weight');
  const exact = entries.map(([k, w]) => ({ k, x: (w / total) * n }));
  const counts = new Map(exact.map((e) => [e.k, Math.floor(e.x)]));
  let left = n - [...counts.values()].reduce((s, c) => s + c, 0);
  for (const e of [...exact].sort((a, b) => (b.x % 1) - (a.x % 1))) {
    if (left-- <= 0) break;
    counts.set(e.k, (counts.get(e.k) ?? 0) + 1);
  }
  const list = [...counts].flatMap(([k, c]) => Array.from({ length: c }, () => k));
  for (let i = list.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [list[i], list[j]] = [list[j] as MeasuringKind, list[i] as MeasuringKind];
  }
  return list;
}

export function buildFleet(opts: FleetOptions): Fleet {
  const prefix = opts.idPrefix ?? 'sim';
  const root = Rng.seeded(opts.seed);
  const offsets = opts.utcOffsets ?? US_OFFSETS;
  const hubShare = opts.hubShare ?? 0.25;
  const transportOf = (r: Rng): Transport => (opts.transport === 'mqtt' || opts.transport === 'http' ? opts.transport : r.chance(0.6) ? 'mqtt' : 'http');
  if (opts.patients === undefined && opts.devices === undefined) throw new Error('give a number of patients or of devices');

  // Device kinds per patient: from archetypes, or from the mix grouped 1–3 per patient.
  const groups: { kinds: MeasuringKind[]; programs: Program[] }[] = [];
  if (opts.mix !== undefined) {
    const r = root.fork('mix');
    const n = opts.devices ?? Math.round((opts.patients ?? 0) * 2);
    const kinds = apportion(opts.mix, n, r);
    let current: MeasuringKind[] = [];
    let size = r.int(1, 3);
    for (const k of kinds) {
      if (current.length >= size || current.includes(k)) {
        groups.push({ kinds: current, programs: [] });
        current = [];
        size = r.int(1, 3);
      }
      current.push(k);
    }
    if (current.length > 0) groups.push({ kinds: current, programs: [] });
    for (const [i, g] of groups.entries()) g.programs = programsFromDevices(g.kinds, root.fork(`programs:${i}`));
  } else {
    let devices = 0;
    for (let i = 0; opts.patients === undefined ? devices < (opts.devices ?? 0) : i < opts.patients; i++) {
      const r = root.fork(`archetype:${i}`);
      const a = r.weighted(ARCHETYPES.map((x) => [x, x.weight] as const));
      let kinds = a.devices(r);
      if (opts.devices !== undefined && opts.patients === undefined) kinds = kinds.slice(0, opts.devices - devices);
      groups.push({ kinds, programs: a.programs(r) });
      devices += kinds.length;
    }
  }

  const patients: SimPatient[] = [];
  const devices: SimDevice[] = [];
  const hubs: SimHub[] = [];
  const width = Math.max(4, String(groups.length).length);
  for (const [i, g] of groups.entries()) {
    const r = root.fork(`patient:${i}`);
    const id = `${prefix}-p${String(i + 1).padStart(width, '0')}`;
    const profile = profileFor(g.programs, r.fork('profile'), offsets);
    const risk = r.weighted([
      [1, 6],
      [2, 3],
      [3, 1],
    ] as const);
    const riskTier = (g.programs.includes('heart-failure') ? Math.min(3, risk + 1) : risk) as 1 | 2 | 3;
    patients.push({ id, programs: g.programs, riskTier, profile, episodes: episodesFor(g.programs, g.kinds, profile, r.fork('episodes'), opts) });
    const viaHub = r.chance(hubShare);
    const hubId = viaHub ? `${id}-hub` : null;
    const ids: string[] = [];
    for (const k of g.kinds) {
      const deviceId = `${id}-${SHORT_KIND[k]}`;
      ids.push(deviceId);
      devices.push({ id: deviceId, kind: k, patientId: id, hubId, transport: hubId === null ? transportOf(r.fork(`transport:${k}`)) : null });
    }
    if (hubId !== null) hubs.push({ id: hubId, patientId: id, transport: transportOf(r.fork('transport:hub')), deviceIds: ids });
  }
  const fleet = { seed: String(opts.seed), idPrefix: prefix, organizationId: opts.organizationId ?? `${prefix}-org`, patients, devices, hubs };
  return opts.showcase === true ? showcase(fleet, opts) : fleet;
}

/** Which device a patient needs for an episode type to be seen, and the episode itself. */
const SHOWCASE: readonly { type: EpisodeType; needs: readonly MeasuringKind[]; make: (now: number) => Episode }[] = [
  { type: 'hf-fluid-gain', needs: ['scale'], make: (now) => ({ type: 'hf-fluid-gain', startMs: now - 3.8 * DAY_MS, days: 4, totalKg: 3.4 }) },
  { type: 'severe-hypertension', needs: ['bp-cuff'], make: (now) => ({ type: 'severe-hypertension', startMs: now - 3 * HOUR_MS, endMs: now + 6 * HOUR_MS, systolicRise: 62, diastolicRise: 25 }) },
  { type: 'hypoglycemia', needs: ['cgm'], make: (now) => hypoglycemiaNow(now, 30, 52) },
  { type: 'hypoglycemia', needs: ['glucometer'], make: (now) => hypoglycemiaNow(now, 20, 55) },
  { type: 'desaturation', needs: ['pulse-oximeter'], make: (now) => ({ type: 'desaturation', startMs: now - 8 * HOUR_MS, endMs: now + 8 * HOUR_MS, depth: 7 }) },
  { type: 'fever', needs: ['thermometer'], make: (now) => ({ type: 'fever', startMs: now - 20 * HOUR_MS, endMs: now + 12 * HOUR_MS, peakC: 39.2 }) },
  { type: 'missed-readings', needs: ['scale'], make: (now) => ({ type: 'missed-readings', startMs: now - 3 * DAY_MS, endMs: now + DAY_MS, kinds: 'all' }) },
];

function showcase(fleet: Fleet, opts: FleetOptions): Fleet {
  const wanted = (t: EpisodeType): boolean => opts.episodes === undefined || opts.episodes === 'mixed' || (opts.episodes !== 'none' && opts.episodes.includes(t));
  const kindsOf = (id: string): MeasuringKind[] => fleet.devices.filter((d) => d.patientId === id).map((d) => d.kind);
  const patients = [...fleet.patients];
  for (const item of SHOWCASE) {
    if (!wanted(item.type)) continue;
    const suits = (p: SimPatient): boolean => item.needs.every((k) => kindsOf(p.id).includes(k));
    if (patients.some((p) => suits(p) && p.episodes.some((e) => e.type === item.type))) continue;
    // The first suitable patient with no story yet (a quiet patient becomes this story's).
    const i = patients.findIndex((p) => suits(p) && p.episodes.length === 0);
    if (i < 0) continue;
    const p = patients[i] as SimPatient;
    patients[i] = { ...p, episodes: [item.make(opts.anchorMs)] };
  }
  return { ...fleet, patients };
}
