import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runGatewayToExit } from './helpers/child-gateway.js';
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

/** Holds a port on 127.0.0.1 the way a system Mosquitto or another web server would. */
async function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return { port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('startup when a port is taken', () => {
  const root = tempDir('rpm-ports-');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const which of ['MQTT', 'HTTP'] as const) {
    it(`${which} port in use: one line naming the port and the variable to set, exit 78`, async () => {
      const held = await holdPort();
      try {
        const other = await freePort();
        const result = await runGatewayToExit({
          RPM_DATA_DIR: path.join(root, which),
          RPM_HTTP_HOST: '127.0.0.1',
          RPM_MQTT_HOST: '127.0.0.1',
          RPM_HTTP_PORT: String(which === 'HTTP' ? held.port : other),
          RPM_MQTT_PORT: String(which === 'MQTT' ? held.port : other),
          RPM_MQTT_WS_ENABLED: 'false',
          RPM_ADMIN_TOKEN: ADMIN_TOKEN,
          RPM_LOG_LEVEL: 'warn',
        });
        expect(result.signal).toBeNull();
        expect(result.code, result.stderr).toBe(78);
        const lines = result.stderr.trim().split('\n');
        expect(lines, result.stderr).toHaveLength(1);
        const variable = which === 'HTTP' ? 'RPM_HTTP_PORT' : 'RPM_MQTT_PORT';
        expect(lines[0]).toBe(`${which} port ${held.port} on 127.0.0.1 is already in use by another process: set ${variable} to a free port (or stop what listens there)`);
        expect(result.stderr).not.toMatch(/EADDRINUSE|\n\s+at /);
      } finally {
        await held.release();
      }
    });
  }
});
