import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../test/fhir-server/fhir-test-server.js';
import { eventually, FAST_FORWARDING_ENV, READING_SYSTEM } from '../test/fhir/gateway-env.js';
import { ADMIN_TOKEN, isoMinutesAgo, request, startTestGateway, tempDir, type TestGateway } from '../test/helpers/gateway.js';

const BIN = fileURLToPath(new URL('../bin/rpm.js', import.meta.url));

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

// The developer's own RPM_* settings must not leak into the CLI under test.
const cleanEnv = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('RPM_') && e[1] !== undefined));

/**
 * Runs the real launcher as a child process. Asynchronous on purpose: the gateway under test lives
 * in this process and must keep answering while the CLI waits for it. RPM_CLI_FROM_SOURCE makes the
 * launcher run cli/*.ts through tsx, so a stale dist/ can never be what passes.
 */
function rpm(args: readonly string[], opts: { env?: Record<string, string>; cwd?: string; fromSource?: boolean; stdin?: string } = {}): Promise<CliRun> {
  const env = { ...cleanEnv(), ...(opts.fromSource === false ? {} : { RPM_CLI_FROM_SOURCE: '1' }), ...opts.env };
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env, cwd: opts.cwd ?? process.cwd() }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
    if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
  });
}

const json = <T>(run: CliRun): T => {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('rpm CLI against a running gateway', { timeout: 90_000 }, () => {
  let t: TestGateway;
  let cli: (args: readonly string[]) => Promise<CliRun>;
  let minutesAgo = 60;
  // Each reading gets its own time so none is taken for a retry of another.
  const postReading = (secret: string): Promise<{ status: number; body: { accepted?: number; code?: string } }> =>
    request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [{ kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(minutesAgo--) }] } });

  beforeAll(async () => {
    t = await startTestGateway();
    // Patients may only name an organization that exists.
    await t.admin.createOrganization('org-a');
    cli = (args) => rpm(args, { env: { RPM_URL: t.baseUrl, RPM_ADMIN_TOKEN: ADMIN_TOKEN } });
  });
  afterAll(async () => t.close());

  it('registers and shows a patient, and refuses a duplicate with its stable code', async () => {
    const added = await cli(['patient', 'add', 'p-1', '--org', 'org-a']);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toContain('Patient p-1 registered in organization org-a');

    expect(json(await cli(['patient', 'show', 'p-1', '--json']))).toMatchObject({ id: 'p-1', organizationId: 'org-a' });

    const dup = await cli(['patient', 'add', 'p-1']);
    expect(dup.code).toBe(1);
    expect(dup.stdout).toBe('');
    expect(dup.stderr).toContain('RPM_ERR_PATIENT_EXISTS');
    expect(dup.stderr).toContain("patient 'p-1' already exists");

    const dupJson = await cli(['--json', 'patient', 'add', 'p-1']);
    expect(dupJson.code).toBe(1);
    expect(JSON.parse(dupJson.stderr)).toEqual({ error: { code: 'RPM_ERR_PATIENT_EXISTS', detail: "patient 'p-1' already exists", status: 409 } });
  });

  it('moves a patient to another organization', async () => {
    await cli(['patient', 'add', 'p-move']);
    await t.admin.createOrganization('org-move');
    const moved = await cli(['patient', 'move', 'p-move', '--org', 'org-move']);
    expect(moved).toMatchObject({ code: 0, stderr: '' });
    expect(moved.stdout).toContain('Patient p-move moved to organization org-move: left 0 care team(s), 0 unresolved alert(s) moved, 0 device(s) kept.');
    expect(json(await cli(['patient', 'show', 'p-move', '--json']))).toMatchObject({ id: 'p-move', organizationId: 'org-move' });
    const unknown = await cli(['patient', 'move', 'p-move', '--org', 'org-none']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('RPM_ERR_ORGANIZATION_NOT_FOUND');
  });

  it('registers a device and prints a secret that the gateway accepts for ingest', async () => {
    const device = json<{ id: string; patientId: string; secret: string }>(await cli(['device', 'add', 'cuff-1', '--kind', 'bp-cuff', '--patient', 'p-1', '--serial', 'SN-1', '--json']));
    expect(device).toMatchObject({ id: 'cuff-1', patientId: 'p-1' });
    const res = await postReading(device.secret);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);

    const human = await cli(['device', 'add', 'scale-1', '--kind', 'scale']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Secret: {2}rpmd_\S+/);
    expect(human.stdout).toContain('shown ONLY ONCE');
  });

  it('reassigns a device to another patient and shows its history', async () => {
    await cli(['patient', 'add', 'p-2']);
    expect(json(await cli(['device', 'assign', 'cuff-1', 'p-2', '--json']))).toMatchObject({ patientId: 'p-2', to: null });

    const shown = json<{ patientId: string; assignments: { patientId: string; to: string | null }[] }>(await cli(['device', 'show', 'cuff-1', '--json']));
    expect(shown.patientId).toBe('p-2');
    expect(shown.assignments.map((a) => [a.patientId, a.to === null])).toEqual([
      ['p-1', false],
      ['p-2', true],
    ]);
    const human = await cli(['device', 'show', 'cuff-1']);
    expect(human.stdout).toMatch(/^Patient +p-2$/m);
    expect(human.stdout).toMatch(/^Serial +SN-1$/m);
  });

  it('rotates a secret (old and new both work within the grace period) and revokes (the secret stops working)', async () => {
    const { secret: oldSecret } = json<{ secret: string }>(await cli(['device', 'add', 'ox-1', '--kind', 'pulse-oximeter', '--patient', 'p-1', '--json']));
    const rotated = json<{ secret: string; previousSecretValidUntil: string }>(await cli(['device', 'rotate', 'ox-1', '--grace', '600', '--json']));
    expect(rotated.secret).not.toBe(oldSecret);
    expect(Date.parse(rotated.previousSecretValidUntil) - Date.now()).toBeGreaterThan(500_000);
    expect((await postReading(oldSecret)).status).toBe(202);
    expect((await postReading(rotated.secret)).status).toBe(202);

    const human = await cli(['device', 'rotate', 'ox-1', '--grace', '0']);
    expect(human.stdout).toContain('The previous secret keeps working until');

    const revoked = await cli(['device', 'revoke', 'ox-1']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('Device ox-1 revoked');
    const refused = await postReading(rotated.secret);
    expect([401, 403]).toContain(refused.status);
    expect(refused.body.code).toMatch(/^RPM_ERR_AUTH_/);
  });

  it('lists devices with paging, and a device’s rejected readings', async () => {
    const all = json<{ devices: { id: string }[]; next: string | null }>(await cli(['device', 'list', '--json']));
    expect(all.devices.map((d) => d.id)).toEqual(expect.arrayContaining(['cuff-1', 'scale-1', 'ox-1']));
    const page = json<{ devices: unknown[]; next: string | null }>(await cli(['device', 'list', '--limit', '1', '--json']));
    expect(page.devices).toHaveLength(1);
    expect(page.next).not.toBeNull();
    expect((await cli(['device', 'list'])).stdout).toMatch(/^ID +KIND +STATUS/);

    const { secret } = json<{ secret: string }>(await cli(['device', 'add', 'scale-2', '--kind', 'scale', '--json']));
    await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [{ kind: 'body-weight', value: 2000, unit: 'kg', measuredAt: isoMinutesAgo(5) }] } });
    const rej = json<{ rejections: { code: string; path: string }[] }>(await cli(['device', 'rejections', 'scale-2', '--json']));
    expect(rej.rejections[0]).toMatchObject({ code: 'RPM_ERR_READING_IMPLAUSIBLE', path: '/readings/0/value' });
    expect((await cli(['device', 'rejections', 'scale-2'])).stdout).toContain('RPM_ERR_READING_IMPLAUSIBLE');
  });

  it('registers an organization and staff accounts; a generated password is printed once and signs in', async () => {
    const org = await cli(['org', 'add', 'clinic-x', '--name', 'Clinic X']);
    expect(org).toMatchObject({ code: 0, stderr: '' });
    expect(org.stdout).toContain('Organization clinic-x (Clinic X) registered.');

    const nurse = json<{ email: string; role: string; organizationId: string; password: string }>(
      await cli(['staff', 'add', 'Nina@Clinic-X.example', '--role', 'nurse', '--org', 'clinic-x', '--name', 'Nina', '--json']),
    );
    expect(nurse).toMatchObject({ email: 'nina@clinic-x.example', role: 'nurse', organizationId: 'clinic-x' });
    expect(nurse.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const login = await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'nina@clinic-x.example', password: nurse.password } });
    expect(login.status).toBe(200);
    expect(typeof login.body.token).toBe('string');

    const human = await cli(['staff', 'add', 'carl@clinic-x.example', '--role', 'nurse', '--org', 'clinic-x', '--charge-nurse', '--phone', '+15551230000']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Password: {2}[A-Za-z0-9_-]{24}/);
    expect(human.stdout).toContain('shown ONLY ONCE');

    // A chosen password, from standard input (never on the command line, where `ps` shows it).
    const chosen = await rpm(['staff', 'add', 'phil@clinic-x.example', '--role', 'physician', '--org', 'clinic-x', '--password-stdin', '--json'], {
      env: { RPM_URL: t.baseUrl, RPM_ADMIN_TOKEN: ADMIN_TOKEN },
      stdin: 'a long physician passphrase\n',
    });
    const phil = json<Record<string, unknown>>(chosen);
    expect(phil).toMatchObject({ role: 'physician' });
    expect(phil).not.toHaveProperty('password');
    expect((await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'phil@clinic-x.example', password: 'a long physician passphrase' } })).status).toBe(200);

    const short = await rpm(['staff', 'add', 'x@clinic-x.example', '--role', 'nurse', '--org', 'clinic-x', '--password-stdin'], {
      env: { RPM_URL: t.baseUrl, RPM_ADMIN_TOKEN: ADMIN_TOKEN },
      stdin: 'short\n',
    });
    expect(short.code).toBe(64);
    expect(short.stderr).toContain('password (stdin)');

    const dup = await cli(['staff', 'add', 'nina@clinic-x.example', '--role', 'nurse', '--org', 'clinic-x']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/error RPM_ERR_\w+/);
    const noOrg = await cli(['staff', 'add', 'z@nowhere.example', '--role', 'nurse', '--org', 'nowhere']);
    expect(noOrg.code).toBe(1);
    const badRole = await cli(['staff', 'add', 'y@clinic-x.example', '--role', 'janitor', '--org', 'clinic-x']);
    expect(badRole.code).toBe(64);
    expect(badRole.stderr).toContain('--role');
  });

  it('validates arguments with core’s schemas before sending anything', async () => {
    // A closed port: had the CLI sent the request, it would fail as unreachable (69), not as usage (64).
    const env = { RPM_URL: `http://127.0.0.1:${await freePort()}`, RPM_ADMIN_TOKEN: ADMIN_TOKEN };
    const badKind = await rpm(['device', 'add', 'x-1', '--kind', 'toaster'], { env });
    expect(badKind.code).toBe(64);
    expect(badKind.stderr).toContain('RPM_ERR_REQUEST_INVALID');
    expect(badKind.stderr).toContain('--kind');

    const badFrom = await rpm(['device', 'assign', 'cuff-1', 'p-2', '--from', '2025-03-01 08:00'], { env });
    expect(badFrom.code).toBe(64);
    expect(badFrom.stderr).toContain('--from');

    const badId = await rpm(['patient', 'add', 'has space'], { env });
    expect(badId.code).toBe(64);
    expect(badId.stderr).toContain('<id>');

    const missingKind = await rpm(['device', 'add', 'x-1'], { env });
    expect(missingKind.code).toBe(64);
    expect(missingKind.stderr).toContain("required option '--kind <kind>'");
  });

  it('says clearly when the gateway is not reachable', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await rpm(['device', 'list'], { env: { RPM_URL: url, RPM_ADMIN_TOKEN: ADMIN_TOKEN } });
    expect(run.code).toBe(69);
    expect(run.stderr).toContain('RPM_CLI_UNREACHABLE');
    expect(run.stderr).toContain(`cannot reach the gateway at ${url}: connection refused`);
  });

  it('runs through the launcher as installed (compiled build when present, else tsx)', async () => {
    const run = await rpm(['--help'], { fromSource: false });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: rpm');
    expect(run.stdout).toContain('device');
  });
});

describe('rpm CLI finding the admin token', { timeout: 60_000 }, () => {
  let home: string;
  let t: TestGateway;

  beforeAll(async () => {
    home = tempDir('rpm-cli-');
    // No RPM_ADMIN_TOKEN: the gateway generates one into <data dir>/admin-token.
    t = await startTestGateway({ RPM_ADMIN_TOKEN: '' }, { dataDir: path.join(home, 'data') });
  });
  afterAll(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('reads ./data/admin-token from the working directory by default', async () => {
    const run = await rpm(['patient', 'add', 'p-file'], { env: { RPM_URL: t.baseUrl }, cwd: home });
    expect(run).toMatchObject({ code: 0, stderr: '' });
  });

  it('reads <RPM_DATA_DIR>/admin-token', async () => {
    const run = await rpm(['patient', 'show', 'p-file', '--json'], { env: { RPM_URL: t.baseUrl, RPM_DATA_DIR: t.dataDir } });
    expect(json(run)).toMatchObject({ id: 'p-file' });
  });

  it('explains where it looked when there is no token', async () => {
    const empty = path.join(home, 'elsewhere');
    mkdirSync(empty);
    const run = await rpm(['device', 'list'], { env: { RPM_URL: t.baseUrl }, cwd: empty });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('RPM_CLI_NO_TOKEN');
    expect(run.stderr).toContain(path.join(empty, 'data', 'admin-token'));
  });
});

describe('rpm fhir destination: EHR destinations from the command line', { timeout: 90_000 }, () => {
  let t: TestGateway;
  let ehr: FhirTestServer;
  let home: string;
  let secret: string;
  let fhirCli: (args: readonly string[], stdin?: string) => Promise<CliRun>;
  let minute = 300;
  const send = (n: number) =>
    request(`${t.baseUrl}/v1/readings`, {
      token: secret,
      json: { readings: Array.from({ length: n }, () => ({ kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(minute--) })) },
    });
  const status = async () => json<{ enabled: boolean; deliveries: { pending: number; delivered: number } }>(await fhirCli(['fhir', 'destination', 'show', 'ehr-1', '--json']));

  beforeAll(async () => {
    ehr = await FhirTestServer.start();
    t = await startTestGateway(FAST_FORWARDING_ENV);
    home = tempDir('rpm-cli-fhir-');
    await t.admin.createOrganization('org-f');
    await t.admin.createPatient('p-f', { organizationId: 'org-f' });
    secret = await t.admin.createDevice({ id: 'hrm-f', kind: 'heart-rate-monitor', patientId: 'p-f' });
    fhirCli = (args, stdin) => rpm(args, { env: { RPM_URL: t.baseUrl, RPM_ADMIN_TOKEN: ADMIN_TOKEN }, ...(stdin === undefined ? {} : { stdin }) });
  });
  afterAll(async () => {
    await t.close();
    await ehr.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('adds a destination with its secret from a file or stdin, never echoing it; lists and shows it', async () => {
    // A reading from before the destination: not sent until a backfill.
    expect((await send(1)).body.accepted).toBe(1);
    const tokenFile = path.join(home, 'ehr-token');
    writeFileSync(tokenFile, 'bearer-token-from-a-file\n', { mode: 0o600 });
    const added = await fhirCli(['fhir', 'destination', 'add', 'ehr-1', '--org', 'org-f', '--base-url', ehr.baseUrl, '--auth', 'bearer', '--secret-file', tokenFile, '--kinds', 'heart-rate,spo2', '--batch-size', '5']);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toContain('FHIR destination ehr-1 added for organization org-f.');
    expect(added.stdout).toContain('backfill');
    expect(added.stdout).not.toContain('bearer-token-from-a-file');
    const basic = json<{ auth: Record<string, unknown>; patientMapping: unknown; enabled: boolean }>(
      await fhirCli(['fhir', 'destination', 'add', 'ehr-2', '--org', 'org-f', '--base-url', ehr.baseUrl, '--auth', 'basic', '--username', 'rpm', '--secret-file', '-', '--patients', 'search:urn:oid:2.16.840.1.113883.19.5', '--paused', '--json'], 'basic-password\n'),
    );
    expect(basic).toMatchObject({ auth: { type: 'basic', username: 'rpm' }, patientMapping: { type: 'search', system: 'urn:oid:2.16.840.1.113883.19.5' }, enabled: false });
    expect(JSON.stringify(basic)).not.toContain('basic-password');

    const listed = await fhirCli(['fhir', 'destination', 'list', '--org', 'org-f']);
    expect(listed.stdout).toMatch(/^ID +ORGANIZATION +STATE +PATIENTS +KINDS +BASE URL$/m);
    expect(listed.stdout).toMatch(/^ehr-1 +org-f +active +reference +heart-rate,spo2 /m);
    expect(listed.stdout).toMatch(/^ehr-2 +org-f +paused +search +all /m);
    const shown = await fhirCli(['fhir', 'destination', 'show', 'ehr-1']);
    expect(shown.stdout).toMatch(/^Deliveries +0 pending, 0 failed \(retrying\), 0 delivered, 0 dead$/m);
    expect(shown.stdout).toMatch(/^Batch size +5$/m);
  });

  it('pauses (queueing, not dropping), resumes, and backfills what came before, each reading once', async () => {
    expect((await fhirCli(['fhir', 'destination', 'pause', 'ehr-1'])).stdout).toContain('paused: readings are queued, not sent');
    expect((await send(2)).body.accepted).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(await status()).toMatchObject({ enabled: false, deliveries: { pending: 2, delivered: 0 } });
    expect((await fhirCli(['fhir', 'destination', 'show', 'ehr-1'])).stdout).toMatch(/^State +PAUSED/m);
    expect((await fhirCli(['fhir', 'destination', 'resume', 'ehr-1'])).code).toBe(0);
    await eventually('the queued readings', async () => ((await status()).deliveries.delivered === 2 ? true : undefined));

    const since = new Date(Date.now() - 24 * 3_600_000).toISOString();
    const backfill = await fhirCli(['fhir', 'destination', 'backfill', 'ehr-1', '--since', since]);
    expect(backfill).toMatchObject({ code: 0, stderr: '' });
    expect(backfill.stdout).toContain('1 reading(s) (heart-rate, spo2) queued for ehr-1');
    await eventually('the backfilled reading', async () => ((await status()).deliveries.delivered === 3 ? true : undefined));
    expect(json(await fhirCli(['fhir', 'destination', 'backfill', 'ehr-1', '--since', since, '--json']))).toEqual({ queued: 0, kinds: ['heart-rate', 'spo2'] });
    const counts = await ehr.countByIdentifier('Observation', READING_SYSTEM);
    expect([...counts.values()]).toEqual([1, 1, 1]);
  });

  it('refuses bad arguments before sending, naming the flag, and reports the gateway’s codes', async () => {
    const env = { RPM_URL: `http://127.0.0.1:${await freePort()}`, RPM_ADMIN_TOKEN: ADMIN_TOKEN };
    const badMapping = await rpm(['fhir', 'destination', 'add', 'x', '--org', 'org-f', '--base-url', 'https://ehr.test/fhir', '--patients', 'search'], { env });
    expect(badMapping.code).toBe(64);
    expect(badMapping.stderr).toContain('--patients');
    const noSecret = await rpm(['fhir', 'destination', 'add', 'x', '--org', 'org-f', '--base-url', 'https://ehr.test/fhir', '--auth', 'bearer'], { env });
    expect(noSecret.code).toBe(64);
    expect(noSecret.stderr).toContain('--secret-file');
    const badSince = await rpm(['fhir', 'destination', 'backfill', 'ehr-1', '--since', 'last week'], { env });
    expect(badSince.code).toBe(64);
    expect(badSince.stderr).toContain('--since');
    const unknown = await fhirCli(['fhir', 'destination', 'pause', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('RPM_ERR_FHIR_DESTINATION_NOT_FOUND');
    const notTaken = await fhirCli(['fhir', 'destination', 'backfill', 'ehr-1', '--since', new Date(0).toISOString(), '--kinds', 'body-weight']);
    expect(notTaken.code).toBe(1);
    expect(notTaken.stderr).toContain('does not take body-weight');
  });
});

describe('rpm audit: the tamper-evident audit log, verified here rather than by the gateway', { timeout: 90_000 }, () => {
  let t: TestGateway;
  let cli: (args: readonly string[]) => Promise<CliRun>;

  beforeAll(async () => {
    t = await startTestGateway();
    cli = (args) => rpm(args, { env: { RPM_URL: t.baseUrl, RPM_ADMIN_TOKEN: ADMIN_TOKEN } });
    await t.admin.createOrganization('org-audit');
    for (let i = 0; i < 5; i++) await t.admin.createPatient(`p-audit-${i}`, { organizationId: 'org-audit' });
    await t.admin.createDevice({ id: 'cuff-audit', kind: 'bp-cuff', patientId: 'p-audit-1' });
    await t.admin.get('/v1/admin/devices/cuff-audit');
  });
  afterAll(async () => t.close());

  it('verifies the chain, prints the head as an anchor, and exports FHIR AuditEvents one per line', async () => {
    const ok = await cli(['audit', 'verify']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^Audit log intact: \d+ entries, head \d+:[0-9a-f]{64}\.$/m);
    const anchor = (await cli(['audit', 'head'])).stdout.trim();
    expect(anchor).toMatch(/^\d+:[0-9a-f]{64}$/);
    expect(json(await cli(['audit', 'verify', '--anchor', anchor, '--json']))).toMatchObject({ ok: true });

    const lines = (await cli(['audit', 'export', '--fhir'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(7);
    expect(lines.every((r) => r.resourceType === 'AuditEvent')).toBe(true);
    const deviceRead = lines.find((r) => r.subtype[0].code === 'device.read');
    expect(deviceRead).toMatchObject({ action: 'R', outcome: '0', agent: [{ who: { identifier: { value: 'admin' } }, requestor: true }] });
    expect(deviceRead.entity).toEqual(expect.arrayContaining([expect.objectContaining({ what: { reference: 'Patient/p-audit-1' } })]));
    const plain = (await cli(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(plain.map((e) => e.seq)).toEqual(plain.map((_, i) => i + 1));
  });

  it('names the first broken link when the database was edited behind the gateway’s back (exit 1)', async () => {
    const anchor = (await cli(['audit', 'head'])).stdout.trim();
    const db = new Database(path.join(t.dataDir, 'rpm.sqlite'));
    try {
      // What someone with the file can do: drop the append-only trigger, edit an entry, restore it.
      const trigger = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'audit_log_no_update'").get() as { sql: string };
      db.exec('DROP TRIGGER audit_log_no_update');
      db.prepare("UPDATE audit_log SET actor = 'staff:someone-else' WHERE seq = 3").run();
      db.exec(trigger.sql);
    } finally {
      db.close();
    }
    const broken = await cli(['audit', 'verify']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe('');
    expect(broken.stderr).toContain('RPM_CLI_AUDIT_CHAIN_BROKEN');
    expect(broken.stderr).toContain('broken at entry 3 (content-hash-mismatch)');
    expect(broken.stderr).toContain('2 entries before it verified');
    expect((await cli(['audit', 'verify', '--anchor', anchor])).code).toBe(1);
    // The gateway's own check agrees.
    expect((await t.admin.get('/v1/admin/audit/verify')).body).toMatchObject({ ok: false, brokenAt: 3, reason: 'content-hash-mismatch' });
  });
});
