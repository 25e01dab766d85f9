import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { onParentExit } from './parent-watch.js';

describe('onParentExit', () => {
  it('watches nothing outside npm', () => {
    let called = false;
    const stop = onParentExit(() => (called = true), {});
    stop();
    expect(called).toBe(false);
  });

  it('calls back once the parent that started the process is gone (npm killed, its shell gone)', async () => {
    const out = `/tmp/parent-watch-${process.pid}-${Date.now()}`;
    const script = `
      import { onParentExit } from ${JSON.stringify(new URL('./parent-watch.ts', import.meta.url).href)};
      import { writeFileSync } from 'node:fs';
      const keep = setInterval(() => {}, 1000);
      onParentExit(() => { writeFileSync(process.env.OUT, 'parent gone'); clearInterval(keep); }, process.env, 50);
      writeFileSync(process.env.OUT + '.ready', '');
    `;
    // The parent: a shell that starts the watcher, waits until it watches, then exits, as npm's
    // `sh -c` does when it is signalled.
    const shell = spawn(
      'sh',
      ['-c', `"${process.execPath}" --import tsx --input-type=module -e '${script.replace(/'/g, "'\\''")}' & while [ ! -f "$OUT.ready" ]; do sleep 0.05; done`],
      { env: { ...process.env, npm_lifecycle_event: 'start', OUT: out }, stdio: 'ignore' },
    );
    await new Promise((resolve) => shell.once('exit', resolve));
    await expect.poll(() => existsSync(out), { timeout: 10_000 }).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe('parent gone');
    rmSync(out);
    rmSync(`${out}.ready`);
  });
});
