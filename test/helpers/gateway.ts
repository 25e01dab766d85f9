import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config/load-config.js';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../core/logging.js';
import type { Clock } from '../../core/ports/clock.js';
import { type RunningGateway, startGateway } from '../../gateway/start.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** The default password of staff created by AdminClient.createStaff. */
export const STAFF_PASSWORD = 'correct horse battery';

export interface TestGateway {
  readonly gw: RunningGateway;
  readonly baseUrl: string;
  readonly mqttPort: number;
  readonly dataDir: string;
  readonly admin: AdminClient;
  close(): Promise<void>;
}

export function tempDir(prefix = 'rpm-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A real gateway (real SQLite file, real HTTP and MQTT listeners on free ports). */
export async function startTestGateway(env: Record<string, string> = {}, options: { clock?: Clock; dataDir?: string; role?: 'all' | 'gateway'; logDestination?: DestinationStream } = {}): Promise<TestGateway> {
  const dataDir = options.dataDir ?? tempDir();
  const config = loadConfig({
    RPM_DATA_DIR: dataDir,
    RPM_HTTP_HOST: '127.0.0.1',
    RPM_HTTP_PORT: '0',
    RPM_MQTT_HOST: '127.0.0.1',
    RPM_MQTT_PORT: '0',
    RPM_ADMIN_TOKEN: ADMIN_TOKEN,
    RPM_LOG_LEVEL: process.env.RPM_TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const gw = await startGateway(config, {
    log: createLogger(config.logLevel, options.logDestination),
    ...(options.role === undefined ? {} : { role: options.role }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const baseUrl = `http://127.0.0.1:${gw.httpPort}`;
  return {
    gw,
    baseUrl,
    mqttPort: gw.mqttPort,
    dataDir,
    admin: new AdminClient(baseUrl),
    async close() {
      await gw.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface JsonResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export async function request<T = any>(
  url: string,
  init: { method?: string; token?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

export class AdminClient {
  constructor(private readonly baseUrl: string) {}

  async createPatient(id: string, extra: Record<string, unknown> = {}): Promise<void> {
    const res = await request(`${this.baseUrl}/v1/admin/patients`, { token: ADMIN_TOKEN, json: { id, ...extra } });
    if (res.status !== 201) throw new Error(`createPatient ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  async createDevice(body: { id: string; kind: string; patientId?: string; hubId?: string; assignedFrom?: string }): Promise<string> {
    const res = await request<{ secret: string }>(`${this.baseUrl}/v1/admin/devices`, { token: ADMIN_TOKEN, json: body });
    if (res.status !== 201) throw new Error(`createDevice ${body.id}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.secret;
  }

  async readings(patientId: string, query = ''): Promise<any[]> {
    const res = await request<{ readings: any[] }>(`${this.baseUrl}/v1/patients/${patientId}/readings${query}`, { token: ADMIN_TOKEN });
    if (res.status !== 200) throw new Error(`readings ${patientId}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.readings;
  }

  async createOrganization(id: string, name = id): Promise<void> {
    const res = await request(`${this.baseUrl}/v1/admin/organizations`, { token: ADMIN_TOKEN, json: { id, name } });
    if (res.status !== 201) throw new Error(`createOrganization ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** Creates a staff account (password `correct horse battery`) and answers its admin view. */
  async createStaff(body: { email: string; role: 'nurse' | 'physician' | 'admin'; organizationId: string; password?: string; displayName?: string; isChargeNurse?: boolean; phone?: string }): Promise<{ id: string; email: string; [k: string]: unknown }> {
    const res = await request<{ id: string; email: string }>(`${this.baseUrl}/v1/admin/staff`, { token: ADMIN_TOKEN, json: { password: STAFF_PASSWORD, ...body } });
    if (res.status !== 201) throw new Error(`createStaff: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async createCareTeam(id: string, organizationId: string, name = id): Promise<void> {
    const res = await request(`${this.baseUrl}/v1/admin/care-teams`, { token: ADMIN_TOKEN, json: { id, organizationId, name } });
    if (res.status !== 201) throw new Error(`createCareTeam ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  async addTeamMember(teamId: string, staffId: string): Promise<void> {
    const res = await request(`${this.baseUrl}/v1/admin/care-teams/${teamId}/members`, { token: ADMIN_TOKEN, json: { staffId } });
    if (res.status !== 201) throw new Error(`addTeamMember ${teamId}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  async addTeamPatient(teamId: string, patientId: string): Promise<void> {
    const res = await request(`${this.baseUrl}/v1/admin/care-teams/${teamId}/patients`, { token: ADMIN_TOKEN, json: { patientId } });
    if (res.status !== 201) throw new Error(`addTeamPatient ${teamId}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** Logs a staff member in and answers the session token. */
  async login(email: string, password = STAFF_PASSWORD): Promise<string> {
    const res = await request<{ token: string }>(`${this.baseUrl}/v1/auth/login`, { json: { email, password } });
    if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.token;
  }

  post(pathname: string, json?: unknown): Promise<JsonResponse<any>> {
    return request(`${this.baseUrl}${pathname}`, { token: ADMIN_TOKEN, method: 'POST', ...(json === undefined ? {} : { json }) });
  }

  get(pathname: string): Promise<JsonResponse<any>> {
    return request(`${this.baseUrl}${pathname}`, { token: ADMIN_TOKEN });
  }
}

/** An ISO timestamp `minutesAgo` before now, with a -05:00 offset as many US devices send. */
export function isoMinutesAgo(minutesAgo: number, offset = '-05:00'): string {
  const sign = offset.startsWith('-') ? -1 : 1;
  const [h, m] = offset.slice(1).split(':').map(Number) as [number, number];
  const offsetMs = sign * (h * 60 + m) * 60_000;
  const local = new Date(Date.now() - minutesAgo * 60_000 + offsetMs);
  return `${local.toISOString().slice(0, 19)}${offset}`;
}
