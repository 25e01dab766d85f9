/**
 * The few gateway endpoints the simulator needs, over plain fetch: the admin API (organizations,
 * staff, patients, devices), staff login, care plans, the reading history and the worklist.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface StoredReadingRow {
  readonly clientId: string | null;
  readonly deviceId: string;
  readonly sequence: number | null;
  readonly kind: string;
  readonly measuredAtUtc: string;
}

export interface WorklistRow {
  readonly patientId: string;
  readonly priority: number;
  readonly alerts: readonly { readonly rule: string; readonly severity: string; readonly status: string; readonly measuredAt: string; readonly title: string }[];
}

export class GatewayApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** The same API with another bearer token (a staff session). */
  as(token: string): GatewayApi {
    return new GatewayApi(this.baseUrl, token);
  }

  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, okStatuses: readonly number[] = [200, 201]): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      signal: AbortSignal.timeout(30_000),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = text;
    }
    if (!okStatuses.includes(res.status)) {
      const code = (json as { code?: string } | undefined)?.code;
      const detail = (json as { detail?: string } | undefined)?.detail ?? text.slice(0, 200);
      throw new ApiError(res.status, code, `${method} ${path}: HTTP ${res.status} ${code ?? ''} ${detail}`.trim());
    }
    return { status: res.status, body: json as T };
  }

  /** Creates, or answers false when it exists already (409). */
  async createIfAbsent(path: string, body: unknown): Promise<boolean> {
    const r = await this.call('POST', path, body, [201, 409]);
    return r.status === 201;
  }

  async login(email: string, password: string): Promise<string> {
    const r = await this.call<{ token: string }>('POST', '/v1/auth/login', { email, password });
    return r.body.token;
  }

  /** Every stored reading of a patient (admin token), following the cursor. */
  async readingsOf(patientId: string): Promise<StoredReadingRow[]> {
    const out: StoredReadingRow[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `?limit=10000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const r: { body: { readings: StoredReadingRow[]; nextCursor: string | null } } = await this.call('GET', `/v1/patients/${encodeURIComponent(patientId)}/readings${q}`);
      out.push(...r.body.readings);
      cursor = r.body.nextCursor;
    } while (cursor !== null);
    return out;
  }

  async worklist(): Promise<WorklistRow[]> {
    const r = await this.call<{ patients: WorklistRow[] }>('GET', '/v1/worklist');
    return r.body.patients;
  }
}
