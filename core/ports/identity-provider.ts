/**
 * An organization's OpenID Connect identity provider (single sign-on for its staff), as the
 * gateway uses it: the authorization code flow with PKCE, state and nonce. The adapter
 * (connectors/oidc) discovers the provider from its issuer URL, builds the authorization URL and
 * redeems the code, validating the ID token (signature, issuer, audience, expiry, nonce).
 *
 * Issuers are https; plain http only on a loopback address (a provider on the same machine).
 */
export interface IdentityProvider {
  authorizationUrl(client: OidcClient, request: AuthorizationRequest): Promise<string>;
  /** Redeems the code in `callbackUrl` (the full URL the provider redirected to); throws on any mismatch or refusal. */
  redeem(client: OidcClient, callbackUrl: URL, checks: AuthorizationChecks): Promise<VerifiedIdentity>;
}

export interface OidcClient {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface AuthorizationChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

export interface AuthorizationRequest extends AuthorizationChecks {
  readonly scope?: string;
}

/** What the provider vouched for in its ID token (and userinfo). */
export interface VerifiedIdentity {
  readonly subject: string;
  readonly email: string | null;
  readonly emailVerified: boolean;
  /** Authentication methods (RFC 8176), e.g. `pwd`, `mfa`, `otp`, `hwk`. */
  readonly amr: readonly string[];
}
