import type { Problem } from './types.js';

/** A failed API call, carrying the problem+json the gateway answered (or a network failure as status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }

  get code(): string | undefined {
    return this.problem.code;
  }

  /** The session is gone (idle expiry, logout elsewhere, disabled account): sign out. */
  get sessionEnded(): boolean {
    return this.status === 401;
  }

  get conflict(): boolean {
    return this.status === 409;
  }
}

export interface ApiHooks {
  /** The bearer token, or null before sign-in. */
  token(): string | null;
  /** Called on every request: requests move the server's idle expiry. */
  onRequest(): void;
  /** Called on any 401 from an authenticated call. */
  onSessionEnded(err: ApiError): void;
}

type Query = Record<string, string | number | boolean | undefined>;

/**
 * Same-origin JSON calls to the gateway. `cache: 'no-store'` keeps patient data out of the
 * browser's HTTP cache: the only thing this app leaves in the browser is the session token.
 */
export class Api {
  constructor(private readonly hooks: ApiHooks) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', withQuery(path, query));
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, body ?? {});
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }

  del<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  /** A non-JSON answer (the billing CSV), as a Blob with its type. */
  async blob(path: string, query?: Query): Promise<Blob> {
    const token = this.hooks.token();
    this.hooks.onRequest();
    const res = await fetch(withQuery(path, query), { headers: token === null ? {} : { authorization: `Bearer ${token}` }, cache: 'no-store', credentials: 'omit' }).catch(() => {
      throw new ApiError(0, { status: 0, title: 'The gateway cannot be reached. Check the network connection and try again.' });
    });
    if (!res.ok) {
      const problem = (safeJson(await res.text()) as Problem | undefined) ?? { status: res.status, title: res.statusText };
      const err = new ApiError(res.status, problem);
      if (err.sessionEnded && token !== null) this.hooks.onSessionEnded(err);
      throw err;
    }
    return res.blob();
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.hooks.token();
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    this.hooks.onRequest();
    let res: Response;
    try {
      res = await fetch(path, { method, headers, cache: 'no-store', credentials: 'omit', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch {
      throw new ApiError(0, { status: 0, title: 'The gateway cannot be reached. Check the network connection and try again.' });
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const parsed: unknown = text === '' ? undefined : safeJson(text);
    if (!res.ok) {
      const problem: Problem = typeof parsed === 'object' && parsed !== null ? (parsed as Problem) : { status: res.status, title: res.statusText };
      const err = new ApiError(res.status, problem);
      if (err.sessionEnded && token !== null) this.hooks.onSessionEnded(err);
      throw err;
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function withQuery(path: string, query: Query | undefined): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs === '' ? path : `${path}?${qs}`;
}

/** Path segment for an opaque id (ids are [A-Za-z0-9._:-], but never trust that in a URL). */
export const seg = (id: string): string => encodeURIComponent(id);
