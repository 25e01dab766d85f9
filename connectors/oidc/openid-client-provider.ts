import * as client from 'openid-client';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { AuthorizationChecks, AuthorizationRequest, IdentityProvider, OidcClient, VerifiedIdentity } from '../../core/ports/identity-provider.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const DISCOVERY_TTL_MS = 10 * 60_000;

/** IdentityProvider on openid-client: discovery (cached per issuer and client), code flow with PKCE. */
export class OpenIdClientProvider implements IdentityProvider {
  private readonly configs = new Map<string, { config: Promise<client.Configuration>; atMs: number }>();

  async authorizationUrl(c: OidcClient, request: AuthorizationRequest): Promise<string> {
    const config = await this.configuration(c);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: request.redirectUri,
      scope: request.scope ?? 'openid email',
      state: request.state,
      nonce: request.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
      code_challenge_method: 'S256',
    });
    return url.href;
  }

  async redeem(c: OidcClient, callbackUrl: URL, checks: AuthorizationChecks): Promise<VerifiedIdentity> {
    const config = await this.configuration(c);
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      }, { redirect_uri: checks.redirectUri });
    } catch (err) {
      throw new RpmError('RPM_ERR_AUTH_INVALID', `the identity provider's answer was refused: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const claims = tokens.claims();
    if (claims === undefined) throw new RpmError('RPM_ERR_AUTH_INVALID', 'the identity provider sent no ID token');
    let email = typeof claims.email === 'string' ? claims.email : null;
    let emailVerified = claims.email_verified === true;
    if (email === null) {
      // Some providers put the email in userinfo only.
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub).catch(() => undefined);
      if (info !== undefined && typeof info.email === 'string') {
        email = info.email;
        emailVerified = info.email_verified === true;
      }
    }
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [];
    return { subject: claims.sub, email, emailVerified, amr };
  }

  private configuration(c: OidcClient): Promise<client.Configuration> {
    const key = `${c.issuer}\n${c.clientId}\n${c.clientSecret}`;
    const cached = this.configs.get(key);
    if (cached !== undefined && Date.now() - cached.atMs < DISCOVERY_TTL_MS) return cached.config;
    const issuer = new URL(c.issuer);
    const insecure = issuer.protocol === 'http:';
    if (insecure && !LOOPBACK.has(issuer.hostname)) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'the identity provider must be https (plain http only on loopback)');
    const config = client.discovery(issuer, c.clientId, c.clientSecret, undefined, insecure ? { execute: [client.allowInsecureRequests] } : undefined);
    config.catch(() => this.configs.delete(key));
    this.configs.set(key, { config, atMs: Date.now() });
    return config;
  }
}
