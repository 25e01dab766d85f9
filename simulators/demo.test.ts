import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT, sleep, waitFor } from '../test/helpers/child-gateway.js';
import { request, tempDir } from '../test/helpers/gateway.js';

/**
 * `npm run demo` as a user runs it (the script itself, as a child process, on free ports and a
 * temporary data directory): within a minute the nurse it prints can log in and sees a worklist
 * of patients with alerts; every device is flagged simulated; SIGTERM stops it all cleanly.
 */

interface WorklistBody {
  readonly patients: readonly { readonly patientId: string; readonly alerts: readonly { readonly severity: string }[] }[];
}

describe('npm run demo', { timeout: 150_000 }, () => {
  const dataDir = path.join(tempDir('rpm-demo-test-'), 'demo');
  let demo: ChildProcess | undefined;
  let out = '';

  afterAll(async () => {
    const child = demo;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      // SIGTERM first: the demo's gateway runs in its own process group, so only the demo can stop it.
      child.kill('SIGTERM');
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, 45_000, 'the demo to stop').catch(() => child.kill('SIGKILL'));
    }
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('serves a live worklist to the printed nurse within a minute, then stops cleanly on SIGTERM', async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('RPM_') && e[1] !== undefined));
    const child = spawn(process.execPath, ['--import', 'tsx', 'simulators/demo.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...env,
        RPM_HTTP_HOST: '127.0.0.1',
        RPM_MQTT_HOST: '127.0.0.1',
        RPM_HTTP_PORT: String(httpPort),
        RPM_MQTT_PORT: String(mqttPort),
        RPM_DEMO_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo = child;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    // The gateway's own log lines go to stderr; drain it so the pipe never blocks the demo.
    child.stderr?.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await waitFor(() => /Nurse login: \S+ \/ \S+/.test(out) || child.exitCode !== null, 60_000, `the demo to print the nurse login; output so far:\n${out}`, 100);
    const [, email, password] = /Nurse login: (\S+) \/ (\S+)/.exec(out) ?? [];
    const [, dashboard] = /Dashboard: +(\S+)/.exec(out) ?? [];
    const [, adminToken] = /Admin token: (\S+)/.exec(out) ?? [];
    expect(dashboard).toBe(`http://localhost:${httpPort}/`);
    const base = `http://127.0.0.1:${httpPort}`;

    const login = await request<{ token: string }>(`${base}/v1/auth/login`, { json: { email, password } });
    expect(login.status).toBe(200);

    // Two weeks of history upload first; the rules engine turns them into alerts as they commit.
    let worklist: WorklistBody = { patients: [] };
    const deadline = Date.now() + 60_000;
    while (worklist.patients.filter((p) => p.alerts.length > 0).length < 5 && Date.now() < deadline) {
      await sleep(2000);
      const res = await request<WorklistBody>(`${base}/v1/worklist`, { token: login.body.token });
      expect(res.status).toBe(200);
      worklist = res.body;
    }
    const withAlerts = worklist.patients.filter((p) => p.alerts.length > 0);
    expect(withAlerts.length).toBeGreaterThanOrEqual(5);
    expect(withAlerts.every((p) => p.patientId.startsWith('sim-demo-'))).toBe(true);

    // Demo data is test data: every device (and so every FHIR Observation it yields) is flagged simulated.
    const devices = await request<{ devices: { id: string; simulated: boolean }[] }>(`${base}/v1/admin/devices?limit=1000`, { token: adminToken });
    expect(devices.status).toBe(200);
    expect(devices.body.devices.length).toBeGreaterThan(30);
    expect(devices.body.devices.filter((d) => !d.simulated || !d.id.startsWith('sim-demo-'))).toEqual([]);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('Gateway stopped (exit code 0)');
  });
});
