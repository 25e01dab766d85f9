import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/load-config.js';
import { createLogger } from '../core/logging.js';
import { type RunningGateway, startGateway } from '../gateway/start.js';
import { REPO_ROOT } from './helpers/child-gateway.js';
import { tempDir } from './helpers/gateway.js';

/**
 * The README's walk-through, run as a new operator runs it: every ```sh block of its first
 * sections, in order, in one shell's worth of state, from the directory the gateway was started
 * in, against a fresh gateway that generated its own admin token. The only changes are the ones a
 * user on other ports makes (8080 and 1883 → the ports this gateway got), `npx rpm` from this
 * checkout, and a time limit on the live stream (a user ends it with Ctrl-C). curl fails on any
 * 4xx/5xx, so a 404 in a nurse example fails the block.
 */

const SECTIONS = ['Try it', 'Staff and tenants', 'Alerts and the nurse worklist'];

interface Block {
  readonly section: string;
  readonly code: string;
}

function readmeBlocks(): Block[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks: Block[] = [];
  for (const part of readme.split(/^## /m).slice(1)) {
    const title = part.slice(0, part.indexOf('\n')).trim();
    if (!SECTIONS.includes(title)) continue;
    for (const m of part.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) blocks.push({ section: title, code: m[1] ?? '' });
  }
  return blocks;
}

/** Variables a block assigns (`NAME=…`, `export NAME=…`), carried to the next block. */
function assigned(code: string): string[] {
  return [...new Set([...code.matchAll(/(?:^|[\s;(&|])(?:export\s+)?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] ?? ''))];
}

function runBash(script: string, cwd: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('README walk-through (doc test)', () => {
  const root = tempDir('rpm-readme-');
  const state = path.join(root, 'state.sh');
  let gw: RunningGateway;
  const carried = new Set<string>();

  beforeAll(async () => {
    mkdirSync(root, { recursive: true });
    // As `npm start` in `root`: no RPM_ADMIN_TOKEN, so one is generated into ./data/admin-token.
    const config = loadConfig({
      RPM_DATA_DIR: path.join(root, 'data'),
      RPM_HTTP_HOST: '127.0.0.1',
      RPM_HTTP_PORT: '0',
      RPM_MQTT_HOST: '127.0.0.1',
      RPM_MQTT_PORT: '0',
      RPM_LOG_LEVEL: process.env.RPM_TEST_LOG_LEVEL ?? 'silent',
    });
    gw = await startGateway(config, { log: createLogger(config.logLevel) });
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const blocks = readmeBlocks();

  it('finds the walk-through blocks', () => {
    expect(blocks.map((b) => b.section)).toEqual(['Try it', 'Try it', 'Staff and tenants', 'Alerts and the nurse worklist']);
  });

  blocks.forEach((block, i) => {
    it(`runs block ${i + 1} (${block.section}) and every command in it succeeds`, async () => {
      const code = block.code
        .replaceAll('localhost:8080', `127.0.0.1:${gw.httpPort}`)
        .replaceAll('mosquitto_pub -p 1883', `mosquitto_pub -h 127.0.0.1 -p ${gw.mqttPort}`)
        // The live stream runs until Ctrl-C: three seconds of it, and its end by time-out is fine.
        .replace(/^(curl -sN )(.*?)(\s+#.*)?$/gm, (_m, a: string, rest: string, comment: string | undefined) => `${a}--max-time 3 ${rest} || test $? -eq 28${comment ?? ''}`);
      for (const v of assigned(block.code)) carried.add(v);
      const script = [
        'set -eo pipefail',
        `[ -f ${state} ] && source ${state}`,
        // curl as a careful user reads it: an HTTP error is a failure.
        'curl() { command curl --fail-with-body --show-error "$@"; }',
        `npx() { if [ "$1" = rpm ]; then shift; node ${path.join(REPO_ROOT, 'bin/rpm.js')} "$@"; else command npx "$@"; fi; }`,
        code,
        `declare -p ${[...carried].join(' ')} > ${state} 2>/dev/null || true`,
      ].join('\n');
      // Not spawnSync: the gateway runs in this process and must answer meanwhile.
      const run = await runBash(script, root, { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? root, RPM_URL: `http://127.0.0.1:${gw.httpPort}` });
      expect(run.status, `block ${i + 1} (${block.section}) failed:\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`).toBe(0);
      if (i === 0) {
        expect(run.stdout).toContain('"accepted":1');
        // Both readings, the HTTP one and the MQTT one, read back.
        expect(run.stdout).toMatch(/"kind":"blood-pressure"[\s\S]*"kind":"heart-rate"|"kind":"heart-rate"[\s\S]*"kind":"blood-pressure"/);
      }
      if (i === 1) expect(run.stdout).toContain('Patient p-4 moved to organization clinic-b');
      if (i === 2) expect(run.stdout).toContain('"kind":"blood-pressure"');
      if (i === 3) {
        expect(run.stdout).toContain('"rule":"bp-severe"');
        expect(run.stdout).toContain('"status":"resolved"');
        expect(run.stdout).toContain(': connected'); // the stream opened (and ran until the time limit)
      }
    }, 240_000);
  });
});
