import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/child-gateway.js';

const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean; minVersion(range: string): { version: string } | null };

interface Lock {
  readonly packages: Readonly<Record<string, { readonly version?: string; readonly engines?: { readonly node?: string } }>>;
}

/**
 * The Node versions the README promises are the ones every locked package accepts, so `npm ci`
 * on a documented Node never warns EBADENGINE (content-disposition 3 and cookie 2 once needed
 * Node 22; they are pinned through npm overrides).
 */
describe('Node versions: package.json engines, the README and the lock agree', () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lock;
  const floors = pkg.engines.node.split('||').map((range) => semver.minVersion(range.trim())?.version ?? range);

  it('documents the engines floors in the README', () => {
    expect(floors).toEqual(['20.19.0', '22.13.0']);
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('Requires Node.js 20.19+ (or 22.13+)');
  });

  it('locks no package that refuses a documented Node', () => {
    const refusing: string[] = [];
    for (const [name, entry] of Object.entries(lock.packages)) {
      const range = entry.engines?.node;
      if (name === '' || range === undefined) continue;
      for (const node of floors) if (!semver.satisfies(node, range)) refusing.push(`${name}@${entry.version ?? '?'} needs node ${range} (not ${node})`);
    }
    expect(refusing).toEqual([]);
  });
});
