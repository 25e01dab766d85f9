import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { envSchema } from '../core/config/schema.js';
import { CliError, EXIT } from './errors.js';

export interface Connection {
  readonly url: string;
  readonly token: string;
}

export interface ConnectionFlags {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

// An empty variable counts as unset, as it does for the gateway's own config loader.
const fromEnv = (env: Env, name: string): string | undefined => {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
};

// Parsed with the gateway's own schema, so the CLI's defaults and limits cannot drift from it.
function gatewaySetting<T>(schema: z.ZodType<T>, env: Env, name: string): T {
  const parsed = schema.safeParse(fromEnv(env, name));
  if (!parsed.success) throw new CliError('RPM_CLI_CONFIG_INVALID', `${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, EXIT.config);
  return parsed.data;
}

const httpPort = (env: Env): number => gatewaySetting(envSchema.shape.RPM_HTTP_PORT, env, 'RPM_HTTP_PORT');
const dataDir = (env: Env): string => gatewaySetting(envSchema.shape.RPM_DATA_DIR, env, 'RPM_DATA_DIR');

export function resolveUrl(flag: string | undefined, env: Env): string {
  const raw = flag ?? fromEnv(env, 'RPM_URL') ?? `http://127.0.0.1:${httpPort(env)}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('RPM_CLI_CONFIG_INVALID', `gateway URL '${raw}' is not a URL (expected e.g. http://127.0.0.1:8080)`, EXIT.config);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('RPM_CLI_CONFIG_INVALID', `gateway URL '${raw}' must be http:// or https://`, EXIT.config);
  }
  return url.href.replace(/\/+$/, '');
}

/** The gateway writes this file when started without RPM_ADMIN_TOKEN (connectors/files/admin-token-file.ts). */
export function adminTokenFile(env: Env, cwd: string): string {
  return path.resolve(cwd, dataDir(env), 'admin-token');
}

export function resolveToken(flag: string | undefined, env: Env, cwd: string): string {
  const given = flag ?? fromEnv(env, 'RPM_ADMIN_TOKEN');
  if (given !== undefined) return given;
  const file = adminTokenFile(env, cwd);
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CliError(
        'RPM_CLI_NO_TOKEN',
        `no admin token: pass --token, set RPM_ADMIN_TOKEN, or set RPM_DATA_DIR to the gateway's data directory (looked for ${file})`,
        EXIT.config,
      );
    }
    if (code === 'EACCES') {
      throw new CliError('RPM_CLI_NO_TOKEN', `cannot read ${file}: permission denied (run as the gateway's user, or pass --token)`, EXIT.config);
    }
    throw new CliError('RPM_CLI_NO_TOKEN', `cannot read ${file}: ${(err as Error).message}`, EXIT.config);
  }
  if (token === '') throw new CliError('RPM_CLI_NO_TOKEN', `${file} is empty; pass --token or set RPM_ADMIN_TOKEN`, EXIT.config);
  return token;
}

export function resolveConnection(flags: ConnectionFlags, env: Env = process.env, cwd: string = process.cwd()): Connection {
  return { url: resolveUrl(flags.url, env), token: resolveToken(flags.token, env, cwd) };
}
