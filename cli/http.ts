import type { z } from 'zod';
import { problem } from './api-schemas.js';
import type { Connection } from './connection.js';
import { CliError, EXIT } from './errors.js';

// A hung gateway must not hang a script that calls the CLI.
const TIMEOUT_MS = 30_000;

/** The errno-style code of a failed fetch; undici nests it in `cause`, and in `errors` when several addresses were tried. */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined;
  if ('code' in err && typeof err.code === 'string' && err.code !== 'UND_ERR_SOCKET') return err.code;
  if ('errors' in err && Array.isArray(err.errors)) {
    for (const e of err.errors) {
      const code = networkCode(e, depth + 1);
      if (code !== undefined) return code;
    }
  }
  return 'cause' in err ? networkCode(err.cause, depth + 1) : undefined;
}

// When no errno code is there (e.g. fetch refusing a blocked port), the innermost message says most.
function innermostMessage(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

function unreachable(url: string, err: unknown): CliError {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return new CliError('RPM_CLI_UNREACHABLE', `the gateway at ${url} did not answer within ${TIMEOUT_MS / 1000} s`, EXIT.unavailable);
  }
  const code = networkCode(err);
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused; is the gateway running?'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host not found'
        : (code ?? innermostMessage(err));
  return new CliError('RPM_CLI_UNREACHABLE', `cannot reach the gateway at ${url}: ${why} (set --url or RPM_URL)`, EXIT.unavailable);
}

// Undefined when the body is not JSON (or broke off): callers then report a bad response.
async function readJson(res: Response): Promise<unknown> {
  try {
    const text = await res.text();
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface HttpCall<S extends z.ZodType> {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly answer: S;
  readonly body?: unknown;
}

/** One authenticated JSON request; a problem+json answer becomes a CliError carrying the gateway's code. */
export async function call<S extends z.ZodType>(conn: Connection, req: HttpCall<S>): Promise<z.output<S>> {
  const headers: Record<string, string> = { authorization: `Bearer ${conn.token}`, accept: 'application/json' };
  // The gateway refuses an empty body declared as JSON, so bodiless POSTs send no content-type.
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${conn.url}${req.path}`, {
      method: req.method,
      headers,
      signal: AbortSignal.timeout(TIMEOUT_MS),
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
    });
  } catch (err) {
    throw unreachable(conn.url, err);
  }
  const json = await readJson(res);
  if (!res.ok) {
    const p = problem.safeParse(json);
    if (p.success) throw new CliError(p.data.code, p.data.detail ?? p.data.title ?? `HTTP ${res.status}`, EXIT.refused, res.status);
    throw new CliError('RPM_CLI_BAD_RESPONSE', `HTTP ${res.status} from ${conn.url} without a problem answer; is --url an RPM gateway?`, EXIT.unavailable, res.status);
  }
  const parsed = req.answer.safeParse(json);
  if (!parsed.success) {
    throw new CliError('RPM_CLI_BAD_RESPONSE', `unexpected answer from ${conn.url}${req.path}; is --url an RPM gateway of a compatible version?`, EXIT.unavailable, res.status);
  }
  return parsed.data;
}
