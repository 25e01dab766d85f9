import { isRpmError, RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import type { BindingCredentials, VendorPull } from '../../core/model/vendor.js';
import type { Clock } from '../../core/ports/clock.js';
import type { VendorStore } from '../../core/ports/vendor-store.js';
import type { WithingsApi, WithingsApp } from '../../core/ports/withings-api.js';
import { sha256Hex } from './translation.js';
import type { VendorService } from './vendor-service.js';
import { MEASTYPES, translateWithingsMeasures } from './withings.js';

export interface PullMetricsSink {
  vendorPull(vendor: 'withings', outcome: 'done' | 'failed' | 'dead'): void;
  vendorTokenRefresh(vendor: 'withings', outcome: 'ok' | 'refused' | 'failed'): void;
}

export interface WithingsPullerOptions {
  /** The Withings API when a connection names none (RPM_WITHINGS_API_URL). */
  readonly defaultBaseUrl: string;
  /** Retry delay after the n-th failed attempt: base·2^(n-1), capped, with jitter. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Attempts before a pull is given up (dead, waiting for an operator's backfill). */
  readonly maxAttempts: number;
  /** How often due retries are looked for when nothing wakes the puller sooner. */
  readonly pollMs: number;
}

export interface WithingsPullerDeps {
  readonly vendors: VendorService;
  readonly store: VendorStore;
  readonly api: WithingsApi;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options: WithingsPullerOptions;
  readonly metrics?: PullMetricsSink;
}

/** Refresh an access token this close to its expiry rather than have Withings refuse it. */
const REFRESH_MARGIN_MS = 60_000;
/** Pages of one pull at most (Withings pages by `offset`; a loop that never ends is a bug of someone's). */
const MAX_PAGES = 1000;
/** Errors no retry heals: they wait for an operator (a new connection, binding or authorization, then a backfill). */
const PERMANENT: ReadonlySet<string> = new Set(['RPM_ERR_VENDOR_CONNECTION_NOT_FOUND', 'RPM_ERR_VENDOR_BINDING_NOT_FOUND', 'RPM_ERR_UPSTREAM_VENDOR_AUTH']);

/**
 * Pulls Withings measures for the durable pulls a notification or a backfill queued: the user's
 * access token (refreshed, and the rotated tokens stored before use, when it is about to expire
 * or Withings refuses it), `getmeas` page by page over the pull's time range, each page through
 * the shared ingest path (its SHA-256 kept with its readings), then the pull is done. Failures are
 * retried with backoff; a refused refresh token, a missing connection or binding is given up at
 * once (dead), as retrying cannot help. One pull at a time: Withings allows 120 requests a
 * minute per application.
 */
export class WithingsPuller {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: WithingsPullerDeps) {}

  start(): void {
    this.kick();
  }

  /** New pulls were queued, or the clock moved: run what is due (calls coalesce). */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.runDue()
      .catch((err: unknown) => this.deps.log.error({ err }, 'Withings pull pass failed'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        } else this.schedule();
      });
  }

  /** Resolves when nothing is due any more (tests, shutdown). */
  async drain(): Promise<void> {
    this.kick();
    while (this.running !== null) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    while (this.running !== null) await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    void this.deps.store
      .nextPullDueAt()
      .then((at) => {
        if (this.stopped) return;
        const wait = at === undefined ? this.deps.options.pollMs : Math.max(0, Math.min(this.deps.options.pollMs, at - this.deps.clock.now()));
        this.timer = setTimeout(() => this.kick(), wait);
        this.timer.unref();
      })
      .catch((err: unknown) => this.deps.log.error({ err }, 'Withings pull schedule failed'));
  }

  private async runDue(): Promise<void> {
    for (;;) {
      const due = await this.deps.store.duePulls(this.deps.clock.now(), 20);
      if (due.length === 0 || this.stopped) return;
      for (const pull of due) {
        if (this.stopped) return;
        await this.attempt(pull);
      }
    }
  }

  private async attempt(pull: VendorPull): Promise<void> {
    const { store, clock, log } = this.deps;
    try {
      const readings = await this.pull(pull);
      await store.recordPullAttempt(pull.id, { status: 'done', atMs: clock.now(), readings });
      this.deps.metrics?.vendorPull('withings', 'done');
    } catch (err) {
      const rpm = isRpmError(err) ? err : new RpmError('RPM_ERR_INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
      const attempts = pull.attempts + 1;
      const dead = PERMANENT.has(rpm.code) || attempts >= this.deps.options.maxAttempts;
      if (dead) {
        await store.recordPullAttempt(pull.id, { status: 'dead', atMs: clock.now(), errorCode: rpm.code, errorMessage: rpm.message.slice(0, 500) });
        this.deps.metrics?.vendorPull('withings', 'dead');
        log.warn({ pull: pull.id, code: rpm.code, attempts }, 'Withings pull given up; it waits for an operator (see GET …/vendors/withings/pulls)');
        return;
      }
      const { retryBaseMs, retryMaxMs } = this.deps.options;
      const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempts - 1)) * (0.75 + Math.random() * 0.5);
      const wait = Math.max(backoff, (rpm.retryAfterSeconds ?? 0) * 1000);
      await store.recordPullAttempt(pull.id, { status: 'failed', atMs: clock.now(), nextAttemptAtMs: clock.now() + wait, errorCode: rpm.code, errorMessage: rpm.message.slice(0, 500) });
      this.deps.metrics?.vendorPull('withings', 'failed');
      log.info({ pull: pull.id, code: rpm.code, attempts, retryInMs: Math.round(wait) }, 'Withings pull failed; retrying later');
    }
  }

  /** One attempt of a pull: every page fetched and committed. Answers the readings stored or already there. */
  private async pull(pull: VendorPull): Promise<number> {
    const { vendors, api, clock } = this.deps;
    const conn = await vendors.requireConnection(pull.organizationId, 'withings');
    let binding = await vendors.requireBinding(pull.organizationId, 'withings', pull.externalId);
    const app: WithingsApp = { baseUrl: conn.settings.apiBaseUrl ?? this.deps.options.defaultBaseUrl, clientId: conn.settings.clientId, clientSecret: conn.settings.clientSecret };
    if (binding.credentials?.type !== 'withings') throw new RpmError('RPM_ERR_UPSTREAM_VENDOR_AUTH', 'the Withings binding holds no OAuth tokens');
    let creds: Extract<BindingCredentials, { type: 'withings' }> = binding.credentials;
    let refreshed = false;
    const refresh = async (): Promise<void> => {
      try {
        const t = await api.refreshToken(app, creds.refreshToken);
        creds = { type: 'withings', accessToken: t.accessToken, refreshToken: t.refreshToken, accessTokenExpiresAtMs: clock.now() + t.expiresInSeconds * 1000 };
        this.deps.metrics?.vendorTokenRefresh('withings', 'ok');
      } catch (err) {
        this.deps.metrics?.vendorTokenRefresh('withings', isRpmError(err) && err.code === 'RPM_ERR_UPSTREAM_VENDOR_AUTH' ? 'refused' : 'failed');
        throw err;
      }
      // Withings rotates the refresh token: the new one is stored before the access token is used.
      binding = await vendors.updateCredentials(binding, creds);
      refreshed = true;
    };
    if (creds.accessToken === null || (creds.accessTokenExpiresAtMs !== null && creds.accessTokenExpiresAtMs - clock.now() < REFRESH_MARGIN_MS)) await refresh();

    const query = { startdate: Math.floor(pull.fromMs / 1000), enddate: Math.ceil(pull.toMs / 1000), meastypes: MEASTYPES };
    let offset: number | undefined;
    let stored = 0;
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const q = offset === undefined ? query : { ...query, offset };
      let page;
      try {
        page = await api.getMeasures(app, creds.accessToken ?? '', q);
      } catch (err) {
        // An access token Withings no longer takes (revoked, or expired early): refresh once and try again.
        if (!(isRpmError(err) && err.code === 'RPM_ERR_UPSTREAM_VENDOR_AUTH') || refreshed) throw err;
        await refresh();
        page = await api.getMeasures(app, creds.accessToken ?? '', q);
      }
      const { translated, nextOffset } = translateWithingsMeasures(pull.externalId, page.body);
      const answer = await vendors.ingest(pull.organizationId, 'withings', sha256Hex(page.raw), translated);
      stored += answer.accepted + answer.duplicate;
      if (nextOffset === undefined) return stored;
      offset = nextOffset;
    }
    throw new RpmError('RPM_ERR_UPSTREAM_VENDOR', `Withings kept answering more pages after ${MAX_PAGES}`);
  }
}
