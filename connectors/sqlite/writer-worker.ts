import { parentPort, workerData } from 'node:worker_threads';
import { prepareBatchWriter, prepareProbeWriter, type WireBatch } from './batch-writer.js';
import { openSqlite, type SqliteOptions } from './database.js';

/**
 * The writer thread: owns the connection that commits reading batches, so inserting and the
 * fsync at COMMIT happen beside the event loop instead of blocking it.
 * Messages in: {seq, json: JSON of a WireBatch (batch-writer.ts)} | {seq, probe: true} | {close: true}. Out: {seq, statuses} | {seq, error}.
 */
const port = parentPort;
if (port === null) throw new Error('writer-worker must run in a worker thread');
const db = openSqlite(workerData as SqliteOptions);
const write = prepareBatchWriter(db);
const probe = prepareProbeWriter(db);

port.on('message', (msg: { seq: number; json: string } | { seq: number; probe: true } | { close: true }) => {
  if ('close' in msg) {
    db.close();
    port.close();
    return;
  }
  try {
    if ('probe' in msg) {
      probe();
      port.postMessage({ seq: msg.seq, statuses: new Float64Array(0) });
      return;
    }
    const statuses = write(JSON.parse(msg.json) as WireBatch);
    port.postMessage({ seq: msg.seq, statuses }, [statuses.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ seq: msg.seq, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
});
