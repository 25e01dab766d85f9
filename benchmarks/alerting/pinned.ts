import { SUT_CORE, tailStderr } from '../lib/proc.js';
import { spawnRole } from './latency.js';
import type { RulesThroughput } from './throughput.js';

export interface ThroughputOptions {
  readonly patients: number;
  readonly days: number;
  readonly e2ePatients: number;
  readonly e2eDays: number;
  readonly pureReps: number;
  readonly e2eReps: number;
}

/** Rules throughput in a process of its own pinned to the SUT core: "on one core" literally. */
export async function pinnedThroughput(o: ThroughputOptions): Promise<{ result: RulesThroughput; command: string }> {
  const args = ['--role', 'throughput', '--patients', String(o.patients), '--days', String(o.days), '--e2e-patients', String(o.e2ePatients), '--e2e-days', String(o.e2eDays), '--pure-reps', String(o.pureReps), '--e2e-reps', String(o.e2eReps)];
  const { child, argv } = spawnRole(SUT_CORE, args);
  child.stdin?.end();
  const err = tailStderr(child);
  let text = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (c: string) => (text += c));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`rules throughput run failed (${code}): ${err()}`);
  const command = argv.map((a) => (a === process.execPath ? 'node' : a.includes('/benchmarks/') ? a.slice(a.indexOf('benchmarks/')) : a)).join(' ');
  return { result: JSON.parse(text.trim().split('\n').pop() as string) as RulesThroughput, command };
}
