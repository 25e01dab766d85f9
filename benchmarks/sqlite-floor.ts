import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../connectors/sqlite/migrations.js';
import { flags, num } from './lib/driver-io.js';

/**
 * The floor under durable ingest: bare better-sqlite3 inserts into the gateway's readings
 * table (its real migrations), one transaction per group, no HTTP, no validation. Compares
 * reading ids as the gateway derives them (SHA-256, spread over the id index) with
 * sequential ids, and SQLite's default auto-checkpoint with the gateway's.
 *
 *   node --import tsx benchmarks/sqlite-floor.ts [--rows 300000] [--batch 100] [--sync FULL]
 */
const f = flags();
const rows = num(f, 'rows', 300_000);
const batch = num(f, 'batch', 100);
const sync = f.get('sync') === 'NORMAL' ? 'NORMAL' : 'FULL';

const COLUMNS =
  'id, device_id, idem_key, client_id, hub_id, patient_id, kind, code, components, reported, measured_at, measured_at_ms, utc_offset_min, received_at_ms, entry_method, setting, meal_context, glucose_method, sequence, transport, flags, value';
const components = JSON.stringify([
  { name: 'systolic', code: '8480-6', value: 121, unit: 'mm[Hg]' },
  { name: 'diastolic', code: '8462-4', value: 79, unit: 'mm[Hg]' },
  { name: 'pulse', code: '8867-4', value: 68, unit: '/min' },
]);
const reported = JSON.stringify({ unit: 'mm[Hg]', values: { systolic: 121, diastolic: 79, pulse: 68 } });

function run(ids: 'sha256' | 'sequential', checkpointPages: number): { usPerRow: number; rowsPerSec: number } {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpm-sqlite-floor-'));
  const db = new Database(path.join(dir, 'floor.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.pragma('cache_size = -65536');
  db.pragma(`wal_autocheckpoint = ${checkpointPages}`);
  for (const m of MIGRATIONS) db.exec(m.sql);
  const insert = db.prepare(`INSERT OR IGNORE INTO readings (${COLUMNS}) VALUES (${COLUMNS.split(',').map(() => '?').join(', ')})`);
  const t = Date.now() - 86_400_000;
  let n = 0;
  const group = db.transaction((k: number) => {
    for (let i = 0; i < k; i++, n++) {
      const device = `dev-${n % 100}`;
      const clientId = `r-${n}`;
      const id = ids === 'sequential' ? n.toString(36).padStart(22, '0') : createHash('sha256').update(`${device}\nc:${clientId}`).digest('base64url').slice(0, 22);
      const at = t + n * 10;
      insert.run(id, device, `c:${clientId}`, clientId, null, `patient-${n % 100}`, 'blood-pressure', '85354-9', components, reported, new Date(at).toISOString(), at, 0, at, 'device', 'home', null, null, null, 'http', '', 121);
    }
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (n < rows) group.immediate(Math.min(batch, rows - n));
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { usPerRow: (c.user + c.system) / rows, rowsPerSec: (rows / wall) * 1000 };
}

process.stdout.write(`${rows} rows, ${batch} per transaction, synchronous=${sync}, 100 devices/patients, times increasing\n`);
process.stdout.write('| reading ids | wal_autocheckpoint | rows/s | CPU µs / row |\n|---|---:|---:|---:|\n');
for (const [ids, pages] of [['sha256', 1000], ['sha256', 10_000], ['sequential', 1000], ['sequential', 10_000]] as const) {
  const r = run(ids, pages);
  process.stdout.write(`| ${ids} | ${pages} | ${Math.round(r.rowsPerSec).toLocaleString('en-US')} | ${r.usPerRow.toFixed(1)} |\n`);
}
