import net from 'node:net';
import { Aedes } from 'aedes';
import { portArg } from '../lib/peer-args.js';

/** Peer for MQTT ingest: aedes 1.2 with defaults, in-memory, no authentication, no hooks. */
const port = portArg();
const aedes = await Aedes.createBroker();
const server = net.createServer((socket) => aedes.handle(socket));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => aedes.close(() => process.exit(0))));
