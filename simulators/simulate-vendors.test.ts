import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import type { LossReport } from './loss-check.js';
import type { Summary } from './run-stats.js';
import { VENDOR_FORMATS } from './vendors/formats.js';

/**
 * `rpm simulate --format <vendor>`: the real CLI drives simulated devices that speak a vendor's
 * wire format (Tenovi, BodyTrace, Open mHealth, Validic, Nightscout webhooks; Withings
 * notifications with the gateway pulling from a stand-in cloud) through the gateway's vendor
 * endpoints under load, with resends and broken readings; afterwards every acknowledged reading
 * must be stored exactly once (found by device, kind and instant: vendor payloads carry no
 * client id of ours), and the SQLite file must show the vendor and the payload hash on each.
 */

const BIN = fileURLToPath(new URL('../bin/rpm.js', import.meta.url));

function rpm(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('RPM_') && e[1] !== undefined));
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...env, RPM_CLI_FROM_SOURCE: '1' }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

describe('rpm simulate --format <vendor>', { timeout: 240_000 }, () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '1000000', RPM_VENDOR_PULL_RETRY_BASE_MS: '200' });
  });
  afterAll(async () => t?.close());

  it.each(VENDOR_FORMATS.map((f) => [f]))('%s: every acknowledged reading stored once, broken ones refused, each with its vendor and payload hash', async (format) => {
    const run = await rpm([
      '--json', '--url', t.baseUrl, '--token', ADMIN_TOKEN, 'simulate',
      '--format', format, '--devices', '6', '--seed', `v-${format}`, '--rate', '30', '--duration', '3',
      '--faults', 'duplicates,malformed', '--check',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { summary: Summary; loss: LossReport };
    expect(out.summary.acked).toBeGreaterThan(40);
    expect(out.summary.unacked).toBe(0);
    expect(out.loss).toMatchObject({ ok: true, missing: [], duplicated: [], invalidStored: [] });
    expect(out.loss.mustStore).toBeGreaterThan(40);
    const db = new Database(path.join(t.dataDir, 'rpm.sqlite'), { readonly: true });
    try {
      const rows = db.prepare("SELECT source FROM readings WHERE device_id LIKE ? AND source IS NOT NULL").all(`sim-v-${format}-%`) as { source: string }[];
      expect(rows.length).toBeGreaterThanOrEqual(out.loss.mustStore);
      const sources = rows.map((r) => JSON.parse(r.source) as { vendor: string; payloadSha256: string });
      expect(sources.every((s) => s.vendor === format && /^[0-9a-f]{64}$/.test(s.payloadSha256))).toBe(true);
    } finally {
      db.close();
    }
  });

  it('refuses a format with device kinds it cannot carry', async () => {
    const run = await rpm(['--url', t.baseUrl, '--token', ADMIN_TOKEN, 'simulate', '--format', 'bodytrace', '--devices', '2', '--mix', 'bp-cuff=1', '--duration', '1']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('bodytrace');
  });
});
