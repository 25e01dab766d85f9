import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startNodeFlags } from '../benchmarks/lib/proc.js';
import { REPO_ROOT } from './helpers/child-gateway.js';

const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');

/**
 * The gateway runs with a larger young generation (benchmarks/README "Young generation": +22 % MQTT
 * QoS 1 readings/s at the same peak memory). Every way a user starts it passes the same V8 flags:
 * `npm start`, the `rpm` launcher (`npx rpm start|gateway|worker`, its shebang) and the container
 * image; the benchmarks read them from `npm start`'s script, so what they measure is what runs.
 */
describe('Node flags: npm start, the rpm launcher and the image agree', () => {
  const flags = startNodeFlags(REPO_ROOT);

  it('npm start runs node with the young-generation flag', () => {
    expect(flags).toEqual(['--max-semi-space-size=64']);
  });

  it('the rpm launcher passes the same flags through its shebang', () => {
    const shebang = read('bin/rpm.js').split('\n')[0] ?? '';
    expect(shebang).toBe(`#!/usr/bin/env -S node ${flags.join(' ')}`);
  });

  it('the container image starts the launcher with the same flags', () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', ...flags, 'bin/rpm.js']);
  });
});
