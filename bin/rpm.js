#!/usr/bin/env -S node --max-semi-space-size=64
// The V8 flag is the one `npm start` runs with (package.json; benchmarks/README "Young generation"):
// a young generation of up to 64 MB per semi-space, so the objects of a reading die young instead
// of being promoted and collected by the old generation's collector.
// Launcher for `npx rpm`. `rpm start` (the single process, as `npm start`), `rpm gateway` and
// `rpm worker` (the two roles of the distributed mode) run a process; anything else is the CLI.
// Runs the compiled code (dist/) when the project has been built;
// in a fresh checkout it runs the TypeScript source through tsx instead, so the CLI works before
// `npm run build`. RPM_CLI_FROM_SOURCE=1 forces the source, so tests and development never run a
// stale build.
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/cli/main.js', root);
const fromSource = process.env.RPM_CLI_FROM_SOURCE === '1' || !existsSync(compiled);

const ROLES = {
  start: { module: 'gateway/process', run: 'runGatewayProcess', arg: 'all', what: 'the single process: ingest, rules, delivery and timers on the embedded store (as npm start)' },
  gateway: { module: 'gateway/process', run: 'runGatewayProcess', arg: 'gateway', what: 'the edge of the distributed mode: HTTP and MQTT, device auth, normalization, durable commit, acknowledgement' },
  worker: { module: 'worker/process', run: 'runWorkerProcess', arg: undefined, what: 'a worker of the distributed mode: rules engine, FHIR delivery, SMS escalation, timers, time-series writes' },
};
const role = Object.hasOwn(ROLES, process.argv[2] ?? '') ? ROLES[process.argv[2]] : undefined;
if (role !== undefined && (process.argv.includes('--help') || process.argv.includes('-h'))) {
  process.stdout.write(`usage: rpm ${process.argv[2]}\n\nRuns ${role.what}.\nConfigured by RPM_* environment variables (README "Configuration"; the distributed mode: README "Distributed mode").\n`);
  process.exit(0);
}

let entry = compiled;
if (fromSource) {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    // tsx is a devDependency: absent from production installs, where the build must be present.
    process.stderr.write('rpm: dist/cli/main.js is missing and tsx is not installed; run `npm run build` first.\n');
    process.exit(70);
  }
  tsx.register();
  entry = new URL('cli/main.ts', root);
}

if (role !== undefined) {
  // A long-running process: it exits by itself (signals, fatal errors), never here.
  const file = new URL(`${fromSource ? '' : 'dist/'}${role.module}.${fromSource ? 'ts' : 'js'}`, root);
  const mod = await import(file.href);
  await mod[role.run](role.arg).catch((err) => {
    process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
} else {

  const { main } = await import(entry.href);
  const status = await main(process.argv);
  // fetch's idle keep-alive socket would hold the process open for seconds after the work is done,
  // so exit explicitly, but only once everything written to stdout and stderr has been flushed.
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((done) => s.write('', done))));
  process.exit(status);
}
