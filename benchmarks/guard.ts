import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flags, num } from './lib/driver-io.js';
import { GUARD_DEFAULTS, runGuard } from './lib/guard.js';
import { GUARD_MAX_RATIO } from './lib/guard-margins.js';

/**
 * The regression guard by hand, several times in a row, to see the spread of the ratios before
 * changing the margins in lib/guard-margins.ts (benchmarks/README.md, "Regression guard"):
 *
 *   node --import tsx benchmarks/guard.ts [--runs 5]
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const f = flags();
const runs = num(f, 'runs', 3);
for (let i = 1; i <= runs; i++) {
  const results = await runGuard({ root, entry: 'source', ...GUARD_DEFAULTS, log: (l) => process.stdout.write(`${l}\n`) });
  for (const r of results) {
    process.stdout.write(
      `run ${i} ${r.protocol}: ours ${r.oursUs.toFixed(1)} µs/reading, ${r.peer} ${r.peerUs.toFixed(1)} µs/reading, ratio ${r.ratio.toFixed(2)} (limit ${GUARD_MAX_RATIO[r.protocol]})\n`,
    );
  }
}
