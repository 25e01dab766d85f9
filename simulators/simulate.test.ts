import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, tempDir, type TestGateway } from '../test/helpers/gateway.js';
import type { LedgerEntry } from './ledger.js';
import { MEASURING_KINDS } from './model.js';
import type { Summary } from './run-stats.js';
import type { LossReport } from './loss-check.js';

/**
 * `rpm simulate` end to end: the real CLI (a child process) drives simulated devices over HTTP and
 * MQTT, cellular and through hubs, with every fault on, against a real gateway. Then the
 * gateway's SQLite file, not the simulator's word, must show every acknowledged reading stored
 * exactly once, and every deliberately broken reading rejected and recorded as a rejection.
 */

const BIN = fileURLToPath(new URL('../bin/rpm.js', import.meta.url));

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface SimulateJson {
  readonly boot: string;
  readonly summary: Summary;
  readonly leftUnsent: number;
  readonly loss?: LossReport;
}

interface Row {
  readonly clientId: string | null;
  readonly deviceId: string;
  readonly sequence: number | null;
  readonly hubId: string | null;
  readonly transport: string;
  readonly deviceKind: string;
}

// Asynchronous on purpose: the gateway lives in this process and must keep answering.
function rpm(args: readonly string[]): Promise<CliRun> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('RPM_') && e[1] !== undefined));
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...env, RPM_CLI_FROM_SOURCE: '1' }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

describe('rpm simulate against a running gateway', { timeout: 150_000 }, () => {
  let t: TestGateway;
  const work = tempDir('rpm-sim-cli-');
  const ledgerFile = path.join(work, 'ledger.jsonl');
  const credentialsFile = path.join(work, 'credentials.json');
  const common = (): string[] => ['--json', '--url', t.baseUrl, '--token', ADMIN_TOKEN, 'simulate', '--mqtt-url', `mqtt://127.0.0.1:${t.mqttPort}`];
  // Two kinds of glucose meter weigh double: CGMs measure every 5 minutes, so a day of backlog brings plenty of readings to break.
  const fleet = ['--devices', '24', '--mix', 'bp-cuff=1,pulse-oximeter=1,scale=1,glucometer=1,thermometer=1,cgm=2', '--hubs', '0.4', '--transport', 'mixed', '--seed', 'it-1'];

  beforeAll(async () => {
    // Per-device rate limits are not under test; a CGM's day of backlog is hundreds of readings.
    t = await startTestGateway({ RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '1000000' });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('stores every acknowledged reading once and rejects every broken one, with all faults on', async () => {
    const run = await rpm([...common(), ...fleet, '--history', '1', '--duration', '6', '--faults', 'all', '--ledger', ledgerFile, '--credentials', credentialsFile, '--check']);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as SimulateJson;
    // The progress display writes lines when stderr is not a terminal, and the faults announce themselves.
    expect(run.stderr).toMatch(/drain\s+sent [\d,]+\s+acked [\d,]+\s+rejected [\d,]+/);
    expect(run.stderr).toContain('fault: morning burst');
    expect(run.stderr).toContain('fault: reconnect storm');

    const s = out.summary;
    expect(s.acked).toBeGreaterThan(500);
    expect(s.rejected).toBeGreaterThan(0);
    expect(s.unacked).toBe(0);
    expect(out.leftUnsent).toBe(0);
    expect(s.readings).toBe(s.acked + s.rejected);
    for (const p of [s.latencyMs.p50, s.latencyMs.p90, s.latencyMs.p99]) expect(p).toBeGreaterThan(0);
    expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p50);
    expect(out.loss?.ok).toBe(true);

    const ledger = readFileSync(ledgerFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LedgerEntry);
    expect(ledger).toHaveLength(s.readings);

    const db = new Database(path.join(t.dataDir, 'rpm.sqlite'), { readonly: true });
    let rows: Row[];
    let rejectedIds: Set<string>;
    let simulatedFlags: number[];
    try {
      rows = db
        .prepare(
          `SELECT r.client_id AS clientId, r.device_id AS deviceId, r.sequence, r.hub_id AS hubId, r.transport, d.kind AS deviceKind
             FROM readings r JOIN devices d ON d.id = r.device_id WHERE r.client_id LIKE ?`,
        )
        .all(`%~${out.boot}~%`) as Row[];
      rejectedIds = new Set((db.prepare('SELECT client_id AS id FROM rejections WHERE client_id IS NOT NULL').all() as { id: string }[]).map((r) => r.id));
      simulatedFlags = (db.prepare("SELECT simulated FROM devices WHERE id LIKE 'sim-it-1-%'").all() as { simulated: number }[]).map((r) => r.simulated);
    } finally {
      db.close();
    }

    const copies = new Map<string, Row[]>();
    for (const r of rows) copies.set(r.clientId ?? '', [...(copies.get(r.clientId ?? '') ?? []), r]);
    const mustStore = ledger.filter((e) => e.ackedMs !== null && e.outcome !== 'rejected' && e.expect === 'stored');
    const broken = ledger.filter((e) => e.expect === 'rejected');
    expect(mustStore.length).toBeGreaterThan(500);
    expect(mustStore.filter((e) => copies.get(e.key)?.length !== 1).map((e) => e.key)).toEqual([]);
    expect([...copies].filter(([, c]) => c.length > 1).map(([k]) => k)).toEqual([]);
    // Each stored row carries the device and the sequence number the device sent.
    const byKey = new Map(ledger.map((e) => [e.key, e]));
    expect(rows.filter((r) => byKey.get(r.clientId ?? '')?.deviceId !== r.deviceId || byKey.get(r.clientId ?? '')?.sequence !== r.sequence)).toEqual([]);

    // Malformed readings (and clocks far ahead) are never stored; each answered one left a rejection record.
    expect(broken.length).toBeGreaterThan(0);
    expect(broken.filter((e) => copies.has(e.key)).map((e) => e.key)).toEqual([]);
    expect(broken.filter((e) => e.ackedMs !== null && !rejectedIds.has(e.key)).map((e) => e.key)).toEqual([]);
    expect(broken.filter((e) => e.outcome === 'rejected').length).toBeGreaterThan(0);

    // Both transports, cellular devices and hubs, every device kind, all flagged as simulated.
    expect(new Set(rows.map((r) => r.transport))).toEqual(new Set(['http', 'mqtt']));
    expect(rows.some((r) => r.hubId !== null)).toBe(true);
    expect(rows.some((r) => r.hubId === null)).toBe(true);
    expect(new Set(rows.map((r) => r.deviceKind))).toEqual(new Set(MEASURING_KINDS));
    expect(simulatedFlags.length).toBeGreaterThan(24);
    expect(simulatedFlags.every((f) => f === 1)).toBe(true);
  });

  it('runs again from saved credentials at a fixed rate, and tells the runs apart', async () => {
    const run = await rpm([...common(), ...fleet, '--no-provision', '--credentials', credentialsFile, '--rate', '60', '--duration', '3', '--check']);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as SimulateJson;
    expect(out.summary.acked).toBeGreaterThan(60);
    expect(out.summary.rejected).toBe(0);
    // The check counts only this run's readings (its boot tag), though the first run's are stored too.
    // (A reading the gateway answered "duplicate" on first sight was a measurement it already held
    // under another client id, from the first run: stored once, under that id.)
    const merged = (out.loss as { sameMeasurement?: number }).sameMeasurement ?? 0;
    expect(out.loss).toMatchObject({ ok: true, mustStore: out.summary.acked, stored: out.summary.acked - merged, missing: [], duplicated: [] });
  });

  it('refuses bad flags before touching the gateway', async () => {
    const run = await rpm([...common(), '--devices', '3', '--mix', 'toaster=1']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('--mix');
  });
});
