import { randomUUID } from 'node:crypto';
import { importJWK, importPKCS8, type JWK, SignJWT } from 'jose';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { DestinationAuth } from '../../core/model/destination.js';

/** Authorization headers for one destination. */
export interface AuthProvider {
  headers(signal: AbortSignal): Promise<Record<string, string>>;
  /** A token was refused: fetch a fresh one next time. */
  invalidate(): void;
  /** Whether `invalidate` can cure a 401 (a new token may be issued). */
  readonly refreshable: boolean;
}

export function authProvider(auth: DestinationAuth, baseUrl: string): AuthProvider {
  switch (auth.type) {
    case 'none':
      return staticHeaders({});
    case 'basic':
      return staticHeaders({ authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` });
    case 'bearer':
      return staticHeaders({ authorization: `Bearer ${auth.token}` });
    case 'smart-backend':
      return new SmartBackendAuth(auth, baseUrl);
  }
}

function staticHeaders(headers: Record<string, string>): AuthProvider {
  return { headers: async () => headers, invalidate: () => undefined, refreshable: false };
}

const tokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'token_type must be bearer'),
  expires_in: z.number().positive().optional(),
});
const smartConfiguration = z.looseObject({ token_endpoint: z.url() });
const oauthError = z.looseObject({ error: z.string() });

/** Renew this long before the server's expiry, so a token never dies in flight. */
const EXPIRY_MARGIN_MS = 30_000;

/**
 * SMART Backend Services (client-credentials grant with a signed JWT client assertion,
 * RFC 7523): the assertion is signed with our private key (RS384 or ES384), lives five minutes
 * and carries a fresh `jti`; the access token is cached until shortly before it expires.
 */
export class SmartBackendAuth implements AuthProvider {
  readonly refreshable = true;
  private token: { value: string; expiresAtMs: number } | undefined;
  private pending: Promise<string> | undefined;
  private tokenUrl: string | undefined;

  constructor(
    private readonly auth: Extract<DestinationAuth, { type: 'smart-backend' }>,
    private readonly baseUrl: string,
  ) {
    this.tokenUrl = auth.tokenUrl;
  }

  async headers(signal: AbortSignal): Promise<Record<string, string>> {
    const now = Date.now();
    if (this.token !== undefined && this.token.expiresAtMs - EXPIRY_MARGIN_MS > now) return { authorization: `Bearer ${this.token.value}` };
    this.pending ??= this.fetchToken(signal).finally(() => (this.pending = undefined));
    return { authorization: `Bearer ${await this.pending}` };
  }

  invalidate(): void {
    this.token = undefined;
  }

  private async endpoint(signal: AbortSignal): Promise<string> {
    if (this.tokenUrl !== undefined) return this.tokenUrl;
    const url = `${this.baseUrl.replace(/\/+$/, '')}/.well-known/smart-configuration`;
    const res = await this.send(() => fetch(url, { headers: { accept: 'application/json' }, signal }), 'SMART configuration discovery');
    const parsed = smartConfiguration.safeParse(await res.json().catch(() => null));
    if (!res.ok || !parsed.success) {
      throw new RpmError('RPM_ERR_UPSTREAM_FHIR_AUTH', `no token_endpoint in the server's SMART configuration (status ${res.status})`, { details: { status: res.status } });
    }
    this.tokenUrl = parsed.data.token_endpoint;
    return this.tokenUrl;
  }

  private async assertion(tokenUrl: string): Promise<string> {
    const key =
      typeof this.auth.privateKey === 'string'
        ? await importPKCS8(this.auth.privateKey, this.auth.alg)
        : await importJWK(this.auth.privateKey as JWK, this.auth.alg);
    return new SignJWT({})
      .setProtectedHeader({ alg: this.auth.alg, typ: 'JWT', ...(this.auth.keyId === undefined ? {} : { kid: this.auth.keyId }) })
      .setIssuer(this.auth.clientId)
      .setSubject(this.auth.clientId)
      .setAudience(tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  }

  private async fetchToken(signal: AbortSignal): Promise<string> {
    const tokenUrl = await this.endpoint(signal);
    let assertion: string;
    try {
      assertion = await this.assertion(tokenUrl);
    } catch (err) {
      // A key that does not import or sign is a configuration error; retrying cannot cure it
      // until an operator replaces the key, but it is reported with the same code.
      throw new RpmError('RPM_ERR_UPSTREAM_FHIR_AUTH', `cannot sign the SMART client assertion: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: this.auth.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    const res = await this.send(
      () => fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form, signal }),
      'the SMART token request',
    );
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const error = oauthError.safeParse(body);
      const code = res.status >= 500 || res.status === 429 ? 'RPM_ERR_UPSTREAM_FHIR' : 'RPM_ERR_UPSTREAM_FHIR_AUTH';
      throw new RpmError(code, `the token endpoint answered ${res.status}${error.success ? ` (${error.data.error})` : ''}`, { details: { status: res.status } });
    }
    const parsed = tokenResponse.safeParse(body);
    if (!parsed.success) throw new RpmError('RPM_ERR_UPSTREAM_FHIR_AUTH', 'the token endpoint answered without a bearer access_token');
    const lifetimeMs = (parsed.data.expires_in ?? 300) * 1000;
    this.token = { value: parsed.data.access_token, expiresAtMs: Date.now() + lifetimeMs };
    return parsed.data.access_token;
  }

  private async send(request: () => Promise<Response>, what: string): Promise<Response> {
    try {
      return await request();
    } catch (err) {
      const reason = err instanceof Error ? (err.name === 'TimeoutError' || err.name === 'AbortError' ? 'timed out' : err.message) : String(err);
      throw new RpmError('RPM_ERR_UPSTREAM_FHIR', `could not complete ${what}: ${reason}`, { cause: err });
    }
  }
}
