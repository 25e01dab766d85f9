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
 * up from 0. Measurement times move forward as a device's do: each body's readings end a minute
 * before now, one second apart (a hub's backlog). A constant time would make the gateway's
 * (patient, time, id) index insert in random id order, which no real device does.
 */
export class EnvelopeSource {
  private n = 0;
  private readonly head: string;
  private readonly middle: string;
  private readonly tail: string;

  constructor(
    private readonly prefix: string,
    private readonly batch: number,
  ) {
    const [head, middle, tail] = readingJson('\u0000', '\u0001').split(/[\u0000\u0001]/) as [string, string, string];
    this.head = head;
    this.middle = middle;
    this.tail = tail;
  }

  next(): string {
    const last = Date.now() - 60_000;
    let body = '{"readings":[';
    for (let i = 0; i < this.batch; i++) {
      if (i > 0) body += ',';
      const at = new Date(last - (this.batch - 1 - i) * 1000).toISOString();
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
