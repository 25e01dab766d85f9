import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeBatch, prepareBatchWriter, type WireBatch } from '../connectors/sqlite/batch-writer.js';
import { openSqlite } from '../connectors/sqlite/database.js';
import type { Reading } from '../core/model/reading.js';
import type { CommitBatch } from '../core/ports/reading-store.js';
import { makeReading } from '../test/helpers/readings.js';
import { flags, num } from './lib/driver-io.js';

/**
 * The main thread → SQLite writer thread hop of a group commit, in this thread, on a real file
 * with synchronous=FULL, per reading: the message's encoding (`encodeBatch`) and JSON.stringify (event loop), its JSON.parse
 * (writer thread) and the row-by-row commit (writer thread: INSERT OR IGNORE per reading, one
 * IMMEDIATE transaction per batch, fsync at COMMIT). CPU µs per reading; the shared machine's
 * wall clock says little.
 *
 *   node --import tsx benchmarks/writer-hop.ts [--batch 100] [--batches 2000] [--reps 3]
 */
const f = flags();
const batchSize = num(f, 'batch', 100);
const batches = num(f, 'batches', 2000);
const reps = num(f, 'reps', 3);

const T0 = Date.now() - 300 * 86_400_000;
let counter = 0;
/** A blood-pressure reading of one of 32 devices, a second after the previous one. */
function reading(device: number): Reading {
  counter += 1;
  return makeReading({
    deviceId: `dev-${device}`,
    patientId: `patient-${device}`,
    kind: 'blood-pressure',
    code: '85354-9',
    components: [
      { name: 'systolic', code: '8480-6', value: 121, unit: 'mm[Hg]' },
      { name: 'diastolic', code: '8462-4', value: 79, unit: 'mm[Hg]' },
      { name: 'pulse', code: '8867-4', value: 68, unit: '/min' },
    ],
    reported: { unit: 'mm[Hg]', values: { systolic: 121, diastolic: 79, pulse: 68 } },
    measuredAtMs: T0 + counter * 1000,
  });
}

const make = (): CommitBatch[] =>
  Array.from({ length: batches }, (_, b) => ({ readings: Array.from({ length: batchSize }, () => reading(b % 32)), rejections: [] }));
const cpu = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// What crosses to the writer thread (worker-writer.ts `commit`) and what the writer makes of it
// (writer-worker.ts): kept here in one place so the bench follows the code it measures.
const toWire = (batch: CommitBatch): string => JSON.stringify(encodeBatch(batch));
const fromWire = (json: string): WireBatch => JSON.parse(json) as WireBatch;

const dir = mkdtempSync(path.join(tmpdir(), 'rpm-writer-hop-'));
try {
  const n = batches * batchSize;
  const rows = { stringify: [] as number[], parse: [] as number[], commit: [] as number[], total: [] as number[] };
  for (let rep = 0; rep < reps; rep++) {
    const db = openSqlite({ path: path.join(dir, `hop-${rep}.sqlite`), synchronous: 'FULL' });
    const write = prepareBatchWriter(db);
    const input = make();
    let c0 = cpu();
    const jsons = input.map(toWire);
    const stringifyUs = cpu() - c0;
    c0 = cpu();
    const parsed = jsons.map(fromWire);
    const parseUs = cpu() - c0;
    c0 = cpu();
    for (const b of parsed) write(b);
    const commitUs = cpu() - c0;
    rows.stringify.push(stringifyUs / n);
    rows.parse.push(parseUs / n);
    rows.commit.push(commitUs / n);
    rows.total.push((stringifyUs + parseUs + commitUs) / n);
    db.close();
  }
  const us = (xs: number[]): string => median(xs).toFixed(2);
  process.stdout.write(
    `writer hop, ${batches} batches of ${batchSize}, median of ${reps}: stringify (event loop) ${us(rows.stringify)} µs/reading; parse (writer) ${us(rows.parse)} µs/reading; commit (writer) ${us(rows.commit)} µs CPU/reading; total ${us(rows.total)} µs CPU/reading\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
