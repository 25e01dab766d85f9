import { describe, expect, it } from 'vitest';
import { GUARD_DEFAULTS, runGuard } from '../benchmarks/lib/guard.js';
import { GUARD_MAX_RATIO } from '../benchmarks/lib/guard-margins.js';
import { REPO_ROOT } from './helpers/child-gateway.js';

/**
 * The performance regression guard (benchmarks/README.md, "Regression guard"): our gateway
 * (from source, as `npm test` does not build) and the bare peer of each protocol, the same short
 * load at each, SUT CPU µs per acknowledged reading from /proc. Fails when ours ÷ peer exceeds
 * the margin in benchmarks/lib/guard-margins.ts. Runs in a vitest group of its own, after every
 * other test file (vitest.config.ts), and pinned like the benchmarks (SUT on core 1, load on 0).
 */
describe('performance regression guard: CPU per reading against the same-run bare peer', () => {
  it(
    'MQTT QoS 1 and HTTP single readings stay within the margin of bare aedes and bare fastify',
    async () => {
      const lines: string[] = [];
      const results = await runGuard({ root: REPO_ROOT, entry: 'source', ...GUARD_DEFAULTS, log: (l) => lines.push(l) });
      const summary = results.map((r) => `${r.protocol}: ours ${r.oursUs.toFixed(1)} µs/reading, ${r.peer} ${r.peerUs.toFixed(1)} µs/reading, ratio ${r.ratio.toFixed(2)} (limit ${GUARD_MAX_RATIO[r.protocol]})`);
      process.stdout.write(`${summary.join('\n')}\n`);
      expect(results.map((r) => r.protocol)).toEqual(['mqtt', 'http-single']);
      for (const r of results) {
        expect(r.oursUs, `${r.protocol}: ${lines.join('\n')}`).toBeGreaterThan(0);
        expect(r.peerUs, `${r.protocol}: ${lines.join('\n')}`).toBeGreaterThan(0);
        expect(r.ratio, `${summary.join('; ')}\n${lines.join('\n')}`).toBeLessThanOrEqual(GUARD_MAX_RATIO[r.protocol]);
      }
    },
    600_000,
  );
});
