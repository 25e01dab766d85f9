import http from 'node:http';
import { acceptedOutcomes, portArg } from '../lib/peer-args.js';

/** Context peer for HTTP ingest: node:http, JSON.parse, a `readings` array check, 202 + JSON.stringify. */
const port = portArg();
let seq = 0;
const nextId = (): string => (++seq).toString(36);

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/v1/readings') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    const readings = (body as { readings?: unknown } | null)?.readings;
    if (!Array.isArray(readings) || readings.length === 0) {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(acceptedOutcomes(readings, nextId)));
  });
});

server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
