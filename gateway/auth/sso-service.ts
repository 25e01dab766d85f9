import { randomBytes } from 'node:crypto';
import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { Clock } from '../../core/ports/clock.js';
import type { IdentityProvider, OidcClient } from '../../core/ports/identity-provider.js';
import type { StaffStore } from '../../core/ports/staff-store.js';
import type { StaffSecurityStore } from '../../core/ports/staff-security-store.js';
import type { AdminActor, StaffService } from '../staff-service.js';
import type { LoginOutcome, SessionService } from './session-service.js';

/** RFC 8176 methods that are a second factor (or stronger than a password alone). */
const MULTI_FACTOR = new Set(['mfa', 'otp', 'hwk', 'swk', 'sms', 'sc', 'fpt', 'face', 'iris', 'retina', 'vbm']);
/** How long a started sign-in waits for the provider's answer, and how many may wait at once. */
const PENDING_MS = 10 * 60_000;
const MAX_PENDING = 10_000;
/** How long the dashboard has to swap the hand-off code for its session. */
const HANDOFF_MS = 60_000;

const random = (): string => randomBytes(32).toString('base64url');

interface Pending {
  readonly organizationId: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  readonly expiresAtMs: number;
}

export type SsoLogin = Extract<LoginOutcome, { ok: true }>;

export interface SsoDeps {
  readonly security: StaffSecurityStore;
  readonly accounts: Pick<StaffStore, 'findLogin'>;
  readonly staff: StaffService;
  readonly sessions: SessionService;
  readonly provider: IdentityProvider;
  readonly cipher: FieldCipher;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** Whether the account has its own TOTP factor (a provider login without a second factor is then refused). */
  readonly hasOwnFactor: (staffId: string) => Promise<boolean>;
}

/**
 * OpenID Connect single sign-on per organization (HIPAA §164.312(d)): the organization's admin
 * registers its identity provider (issuer, client id, client secret, stored sealed); its staff then
 * sign in there only (password logins answer 403 RPM_ERR_AUTH_SSO_REQUIRED). The code flow uses
 * PKCE, state and nonce; the provider's verified email names the account, which an administrator
 * created beforehand (no account is created by signing in). When the organization requires MFA, or
 * the account has its own TOTP, the provider must report a second factor in `amr`.
 *
 * The browser never carries the session token in a URL: the callback redirects to the dashboard
 * with a one-time hand-off code in the fragment, swapped within a minute for the session (POST).
 * Started sign-ins and hand-offs live in this process's memory: behind several gateways, route a
 * browser's sign-in to one of them (sticky sessions).
 */
export class SsoService {
  private readonly pending = new Map<string, Pending>();
  private readonly handoffs = new Map<string, { readonly login: SsoLogin; readonly expiresAtMs: number }>();

  constructor(private readonly deps: SsoDeps) {}

  private context = (organizationId: string): string => `organization-sso-secret:${organizationId}`;

  /** The organization's provider as its admins see it (never the secret). */
  async settings(organizationId: string, by: AdminActor): Promise<{ issuer: string; clientId: string } | null> {
    await this.deps.staff.requireOrganization(organizationId, by);
    const sso = (await this.deps.security.policy(organizationId)).sso;
    return sso === null ? null : { issuer: sso.issuer, clientId: sso.clientId };
  }

  async configure(organizationId: string, input: { issuer: string; clientId: string; clientSecret: string } | null, by: AdminActor): Promise<{ issuer: string; clientId: string } | null> {
    await this.deps.staff.requireOrganization(organizationId, by);
    if (input !== null) {
      const issuer = new URL(input.issuer);
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
      if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && loopback)) {
        throw new RpmError('RPM_ERR_REQUEST_INVALID', 'the issuer must be an https URL', { path: '/issuer' });
      }
    }
    const sso = input === null ? null : { issuer: input.issuer, clientId: input.clientId, clientSecretSealed: this.deps.cipher.encrypt(input.clientSecret, this.context(organizationId)) };
    await this.deps.staff.setAccessPolicy(organizationId, { sso }, by);
    return sso === null ? null : { issuer: sso.issuer, clientId: sso.clientId };
  }

  /** Where to send the browser: the provider's authorization endpoint, with PKCE, state and nonce. */
  async start(organizationId: string, redirectUri: string): Promise<string> {
    const client = await this.client(organizationId);
    const state = random();
    const pending: Pending = { organizationId, nonce: random(), codeVerifier: random(), redirectUri, expiresAtMs: this.deps.clock.now() + PENDING_MS };
    this.sweep();
    if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
    this.pending.set(state, pending);
    return this.deps.provider.authorizationUrl(client, { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier, redirectUri });
  }

  /**
   * The provider's redirect: redeems the code, finds the account and opens a session. Answers a
   * one-time hand-off code for the dashboard. Refusals are audited and thrown as
   * RPM_ERR_SSO_FAILED / RPM_ERR_AUTH_MFA_REQUIRED.
   */
  async callback(callbackUrl: URL, source: string): Promise<string> {
    const state = callbackUrl.searchParams.get('state') ?? '';
    const pending = this.pending.get(state);
    this.pending.delete(state);
    if (pending === undefined || pending.expiresAtMs <= this.deps.clock.now()) throw new RpmError('RPM_ERR_SSO_FAILED', 'this sign-in was not started here, or took too long; start again');
    const orgId = pending.organizationId;
    const deny = async (reason: string, staffId: string | null): Promise<never> => {
      await this.deps.audit.record({
        atMs: this.deps.clock.now(),
        actor: staffId === null ? 'anonymous' : `staff:${staffId}`,
        action: 'auth.login',
        subject: staffId === null ? `organization:${orgId}` : `staff:${staffId}`,
        outcome: 'denied',
        sourceIp: source,
        details: { method: 'sso', reason },
      });
      if (reason === 'no-second-factor') throw new RpmError('RPM_ERR_AUTH_MFA_REQUIRED', 'your identity provider did not report a second factor, which your organization requires');
      throw new RpmError('RPM_ERR_SSO_FAILED', `single sign-on refused: ${reason}`);
    };
    if (callbackUrl.searchParams.has('error')) return deny(`the identity provider answered ${callbackUrl.searchParams.get('error')}`, null);
    const client = await this.client(orgId);
    let identity;
    try {
      identity = await this.deps.provider.redeem(client, callbackUrl, { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier, redirectUri: pending.redirectUri });
    } catch (err) {
      return deny(err instanceof Error ? err.message : 'the code could not be redeemed', null);
    }
    if (identity.email === null || !identity.emailVerified) return deny('the identity provider sent no verified email', null);
    const found = await this.deps.accounts.findLogin(identity.email, orgId);
    if (found === undefined || found.staff.organizationId !== orgId) return deny('no account with this email in the organization', null);
    const staff = found.staff;
    if (staff.status !== 'active') return deny('account disabled', staff.id);
    const multiFactor = identity.amr.some((m) => MULTI_FACTOR.has(m));
    const policy = await this.deps.security.policy(orgId);
    if (!multiFactor && (policy.mfaRequired || (await this.deps.hasOwnFactor(staff.id)))) return deny('no-second-factor', staff.id);
    const login = await this.deps.sessions.openSession(staff, source);
    await this.deps.audit.record({
      atMs: this.deps.clock.now(),
      actor: `staff:${staff.id}`,
      action: 'auth.login',
      subject: `staff:${staff.id}`,
      outcome: 'success',
      sourceIp: source,
      details: { method: 'sso', issuer: client.issuer, amr: identity.amr.join(' ') },
    });
    const handoff = random();
    this.handoffs.set(handoff, { login, expiresAtMs: this.deps.clock.now() + HANDOFF_MS });
    return handoff;
  }

  /** Swaps the one-time hand-off code for the session (once, within a minute). */
  exchange(code: string): SsoLogin {
    const entry = this.handoffs.get(code);
    this.handoffs.delete(code);
    if (entry === undefined || entry.expiresAtMs <= this.deps.clock.now()) throw new RpmError('RPM_ERR_SSO_FAILED', 'this sign-in code was used or expired; sign in again');
    return entry.login;
  }

  private async client(organizationId: string): Promise<OidcClient> {
    const sso = (await this.deps.security.policy(organizationId)).sso;
    if (sso === null) throw new RpmError('RPM_ERR_SSO_NOT_CONFIGURED', 'no single sign-on for this organization');
    return { issuer: sso.issuer, clientId: sso.clientId, clientSecret: this.deps.cipher.decrypt(sso.clientSecretSealed, this.context(organizationId)) };
  }

  private sweep(): void {
    const now = this.deps.clock.now();
    for (const [k, v] of this.pending) if (v.expiresAtMs <= now) this.pending.delete(k);
    for (const [k, v] of this.handoffs) if (v.expiresAtMs <= now) this.handoffs.delete(k);
  }
}
