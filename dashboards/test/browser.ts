import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Debian's Chromium, headless. Without the background-networking flags Chromium dials out at
 * start-up (updates, sync), and on a closed network those refused connections stall it.
 * A missing browser fails the test: CI installs it (.ci/run), and a skipped browser test would
 * report green without having tested anything.
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium; .ci/run does this)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

/**
 * Chromium with a fake camera and microphone (a test pattern and a tone) that it uses without
 * asking, for WebRTC tests; host ICE candidates as plain addresses (not mDNS names, which need
 * multicast), loopback included.
 */
export const FAKE_MEDIA_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
] as const;

/**
 * Builds the dashboard from the current sources into a temporary folder (about a second), so
 * the tests never run against a stale dist/dashboard. The gateway serves it via RPM_DASHBOARD_DIR.
 */
export async function buildDashboard(): Promise<{ dir: string; dispose(): void }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpm-dashboard-'));
  await promisify(execFile)(process.execPath, [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', path.join(REPO, 'dashboards/web/vite.config.ts'), '--outDir', dir, '--emptyOutDir', '--logLevel', 'error'], {
    cwd: REPO,
  });
  if (!existsSync(path.join(dir, 'index.html'))) throw new Error(`vite build produced no index.html in ${dir}`);
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
