/**
 * Load bodies. Every reading carries a fresh client id, so the gateway takes the insert path
 * (a repeated body would only exercise the duplicate path). A blood-pressure reading with
 * pulse is the commonest RPM reading and has three components to normalize.
 */

/** A tag that makes client ids unique across runs against the same gateway. */
export function runTag(): string {
  return `${Date.now().toString(36)}${process.pid.toString(36)}`;
}

export function readingJson(clientId: string, measuredAt: string): string {
  return `{"kind":"blood-pressure","id":"${clientId}","measuredAt":"${measuredAt}","unit":"mm[Hg]","systolic":121,"diastolic":79,"pulse":68}`;
}

/**
 * Builds `{"readings":[…]}` bodies of `batch` readings whose ids are `<prefix>-<n>`, n counting
 * up from 0. Measurement times move forward as a device's do and never repeat (a device measures
 * one kind once per instant; the gateway takes a repeat as a duplicate): each body's readings are
 * a few milliseconds apart and start after the previous body's last one, and lanes sharing a
 * device use disjoint instants. A constant time would make
 * the gateway's (patient, time, id) index insert in random id order, which no real device does.
 */
/**
 * Measurement time as a function of wall time: `measuredOriginMs + (now − wallOriginMs) × scale`,
 * never later than a minute ago. The ingest scenarios compress most of a year into the scenario's
 * wall time, so a device's readings are minutes apart in measurement time (not milliseconds) and
 * stay in order across repetitions and driver processes. The rules engine evaluates every reading
 * over its patient's recent history (NEWS2 scans the last 60 min); with every reading stamped
 * "a minute ago", a patient's window held every reading of the run and the engine's cost per
 * reading grew with the run (news2At took half of the gateway's CPU, ours fell 3× from rep 1 to 3).
 */
export interface TimeMap {
  readonly wallOriginMs: number;
  readonly measuredOriginMs: number;
  readonly scale: number;
}

export function measuredAt(t: TimeMap | undefined, nowMs = Date.now()): number {
  const latest = nowMs - 60_000;
  return t === undefined ? latest : Math.min(latest, t.measuredOriginMs + (nowMs - t.wallOriginMs) * t.scale);
}

/** The time map flags drivers take: --wall-origin, --measured-origin, --time-scale (all or none). */
export function timeMapArgs(t: TimeMap): string[] {
  return ['--wall-origin', String(t.wallOriginMs), '--measured-origin', String(Math.round(t.measuredOriginMs)), '--time-scale', String(Math.round(t.scale))];
}

export function timeMapFromFlags(f: Map<string, string>): TimeMap | undefined {
  const w = f.get('wall-origin');
  const m = f.get('measured-origin');
  const s = f.get('time-scale');
  return w === undefined || m === undefined || s === undefined ? undefined : { wallOriginMs: Number(w), measuredOriginMs: Number(m), scale: Number(s) };
}

export class EnvelopeSource {
  private n = 0;
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly head: string;
  private readonly middle: string;
  private readonly tail: string;

  constructor(
    private readonly prefix: string,
    private readonly batch: number,
    private readonly time?: TimeMap,
    /** Lanes that may share a device use disjoint instants: this lane's times are ≡ index (mod of) ms. */
    private readonly lane: { readonly index: number; readonly of: number } = { index: 0, of: 1 },
  ) {
    const [head, middle, tail] = readingJson('\u0000', '\u0001').split(/[\u0000\u0001]/) as [string, string, string];
    this.head = head;
    this.middle = middle;
    this.tail = tail;
  }

  next(): string {
    // A device measures one kind once per instant (the gateway dedupes on device, kind and
    // time), so each body's readings start after the previous body's last one.
    const { index, of } = this.lane;
    let last = Math.max(measuredAt(this.time), this.lastMs + this.batch * of);
    last += (((index - last) % of) + of) % of;
    this.lastMs = last;
    let body = '{"readings":[';
    for (let i = 0; i < this.batch; i++) {
      if (i > 0) body += ',';
      const at = new Date(last - (this.batch - 1 - i) * of).toISOString();
      body += this.head + this.prefix + '-' + String(this.n++) + this.middle + at + this.tail;
    }
    return body + ']}';
  }

  /** Readings handed out so far. */
  get count(): number {
    return this.n;
  }
}

/** A device the load generators act as. Peers without authentication get made-up ones. */
export interface BenchDevice {
  readonly id: string;
  readonly secret: string;
}

export function fakeDevices(n: number): BenchDevice[] {
  return Array.from({ length: n }, (_, i) => ({ id: `bench-dev-${i}`, secret: `no-auth-${i}` }));
}
