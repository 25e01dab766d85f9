import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runGatewayToExit } from './helpers/child-gateway.js';
import { ADMIN_TOKEN, tempDir } from './helpers/gateway.js';

/** RPM_STORE=postgres when PostgreSQL is not there, or not configured: a clear refusal, never a silent fallback. */
describe('startup on PostgreSQL that cannot be used', () => {
  const root = tempDir('rpm-pg-startup-');
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const base = (dataDir: string): Record<string, string> => ({
    RPM_DATA_DIR: dataDir,
    RPM_HTTP_HOST: '127.0.0.1',
    RPM_HTTP_PORT: '0',
    RPM_MQTT_HOST: '127.0.0.1',
    RPM_MQTT_PORT: '0',
    RPM_ADMIN_TOKEN: ADMIN_TOKEN,
    RPM_LOG_LEVEL: 'info',
  });

  it('refuses RPM_STORE=postgres without RPM_DATABASE_URL as a configuration error (exit 78)', async () => {
    const dataDir = path.join(root, 'no-url');
    const result = await runGatewayToExit({ ...base(dataDir), RPM_STORE: 'postgres' });
    expect(result.code, result.stderr).toBe(78);
    expect(result.stderr).toContain('RPM_DATABASE_URL: required when RPM_STORE=postgres');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('exits non-zero, naming the server but not the password, when PostgreSQL is unreachable; it never starts on SQLite instead', async () => {
    const dataDir = path.join(root, 'unreachable');
    const port = await freePort();
    const result = await runGatewayToExit({ ...base(dataDir), RPM_STORE: 'postgres', RPM_DATABASE_URL: `postgres://rpm:pw-not-shown@127.0.0.1:${port}/rpm` });
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toContain(`PostgreSQL at 127.0.0.1:${port}/rpm could not be opened`);
    expect(result.stderr).toMatch(/ECONNREFUSED/);
    expect(result.stderr + result.stdout).not.toContain('pw-not-shown');
    expect(result.stdout).not.toContain('gateway started');
    expect(existsSync(path.join(dataDir, 'rpm.sqlite'))).toBe(false);
  });
});
