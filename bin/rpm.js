#!/usr/bin/env node
// Launcher for `npx rpm`. Runs the compiled CLI (dist/cli/main.js) when the project has been built;
// in a fresh checkout it runs the TypeScript source through tsx instead, so the CLI works before
// `npm run build`. RPM_CLI_FROM_SOURCE=1 forces the source, so tests and development never run a
// stale build.
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/cli/main.js', root);
const fromSource = process.env.RPM_CLI_FROM_SOURCE === '1' || !existsSync(compiled);

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

const { main } = await import(entry.href);
const status = await main(process.argv);
// fetch's idle keep-alive socket would hold the process open for seconds after the work is done,
// so exit explicitly, but only once everything written to stdout and stderr has been flushed.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((done) => s.write('', done))));
process.exit(status);
