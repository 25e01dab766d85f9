import { readFileSync } from 'node:fs';

/** The fields of a V8 .cpuprofile (as written by `node --cpu-prof`) that we read. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  readonly share: number;
}

/** Where a script lives: `fastify`, `better-sqlite3`, `ours:pipeline/normalize.js`, `node:internal/…`. */
function owner(url: string): string {
  if (url === '') return '(native/VM)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `ours:${url.slice(dist + '/dist/'.length)}`;
  return url.replace(/^file:\/\//, '');
}

/** Self time per function and per package, from sample time deltas. */
export function summarizeProfile(file: string, top = 30): { totalMs: number; functions: HotSpot[]; packages: HotSpot[]; inclusive: HotSpot[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    total += dt;
  }
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const pkg = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)?.callFrame;
    if (cf === undefined) continue;
    const where = `${owner(cf.url)}${cf.url === '' ? '' : `:${cf.lineNumber + 1}`}`;
    const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    const key = `${name}@${where}`;
    const e = fn.get(key) ?? { name, where, us: 0 };
    e.us += us;
    fn.set(key, e);
    const o = owner(cf.url);
    pkg.set(o, (pkg.get(o) ?? 0) + us);
  }
  // Inclusive time of our own functions (self + callees), counted once per stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, { name: string; where: string; us: number }>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)?.callFrame;
      if (cf === undefined || !owner(cf.url).startsWith('ours:')) continue;
      const where = `${owner(cf.url)}:${cf.lineNumber + 1}`;
      const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
      const key = `${name}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = incl.get(key) ?? { name, where, us: 0 };
      e.us += us;
      incl.set(key, e);
    }
  }
  const spot = (name: string, where: string, us: number): HotSpot => ({ name, where, selfMs: us / 1000, share: us / total });
  return {
    totalMs: total / 1000,
    functions: [...fn.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => spot(e.name, e.where, e.us)),
    packages: [...pkg.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([o, us]) => spot(o, '', us)),
    inclusive: [...incl.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => spot(e.name, e.where, e.us)),
  };
}

export function profileMarkdown(title: string, s: ReturnType<typeof summarizeProfile>): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return [
    `## ${title}`,
    '',
    `Sampled ${s.totalMs.toFixed(0)} ms of the gateway's main thread (idle and GC included).`,
    '',
    '| self % | self ms | package / file |',
    '|---:|---:|---|',
    ...s.packages.slice(0, 15).map((h) => `| ${pct(h.share)} | ${h.selfMs.toFixed(0)} | ${h.name} |`),
    '',
    '| self % | self ms | function | where |',
    '|---:|---:|---|---|',
    ...s.functions.map((h) => `| ${pct(h.share)} | ${h.selfMs.toFixed(0)} | \`${h.name}\` | ${h.where} |`),
    '',
    'Inclusive (self + callees) time of our own functions:',
    '',
    '| total % | total ms | function | where |',
    '|---:|---:|---|---|',
    ...s.inclusive.map((h) => `| ${pct(h.share)} | ${h.selfMs.toFixed(0)} | \`${h.name}\` | ${h.where} |`),
    '',
  ].join('\n');
}
