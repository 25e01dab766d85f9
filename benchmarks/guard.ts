import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flags, num } from './lib/driver-io.js';
import { GUARD_DEFAULTS, type GuardProtocol, runGuard } from './lib/guard.js';
import { GUARD_MAX_RATIO } from './lib/guard-margins.js';

/**
 * The regression guard by hand, several times in a row, to see the spread of the ratios before
 * changing the margins in lib/guard-margins.ts (benchmarks/README.md, "Regression guard"):
 *
 *   node --import tsx benchmarks/guard.ts [--runs 5] [--only mqtt,http-single] [--entry source|dist]
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const f = flags();
const runs = num(f, 'runs', 3);
// `--entry dist` (after `npm run build`) to compare with the compiled form the benchmarks use.
const entry = f.get('entry') === 'dist' ? 'dist' : 'source';
const protocols = (f.get('only')?.split(',') ?? ['mqtt', 'http-single']) as GuardProtocol[];
for (let i = 1; i <= runs; i++) {
  const results = await runGuard({ root, entry, ...GUARD_DEFAULTS, log: (l) => process.stdout.write(`${l}\n`) }, protocols);
  for (const r of results) {
    process.stdout.write(
      `run ${i} ${r.protocol}: ours ${r.oursUs.toFixed(1)} µs/reading, ${r.peer} ${r.peerUs.toFixed(1)} µs/reading, ratio ${r.ratio.toFixed(2)} (limit ${GUARD_MAX_RATIO[r.protocol]})\n`,
    );
  }
}
