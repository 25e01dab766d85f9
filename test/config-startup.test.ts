import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGatewayToExit } from './helpers/child-gateway.js';
import { ADMIN_TOKEN, tempDir } from './helpers/gateway.js';

describe('startup with an invalid configuration', () => {
  const root = tempDir('rpm-config-');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('exits non-zero before touching anything, and names every problem at once on stderr', async () => {
    const dataDir = path.join(root, 'data');
    const result = await runGatewayToExit({
      RPM_DATA_DIR: dataDir,
      RPM_HTTP_HOST: '127.0.0.1',
      RPM_MQTT_HOST: '127.0.0.1',
      RPM_HTTP_PORT: 'notaport',
      RPM_MQTT_PORT: '0',
      RPM_FUTURE_TOLERANCE_S: '-1',
      RPM_ADMIN_TOKEN: ADMIN_TOKEN,
      RPM_LOG_LEVEL: 'info',
    });
    expect(result.signal).toBeNull();
    // EX_CONFIG (78): a configuration error, not a crash.
    expect(result.code, result.stderr).toBe(78);
    expect(result.stderr).toMatch(/Invalid configuration/);
    const problems = result.stderr.split('\n').filter((l) => l.trim().startsWith('- '));
    expect(problems.some((l) => l.includes('RPM_HTTP_PORT'))).toBe(true);
    expect(problems.some((l) => l.includes('RPM_FUTURE_TOLERANCE_S'))).toBe(true);
    expect(problems).toHaveLength(2);
    // Nothing started: no "gateway started" line, and no data directory (no database) created.
    expect(result.stdout).not.toContain('gateway started');
    expect(existsSync(dataDir)).toBe(false);
  });
});
