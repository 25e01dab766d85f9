/**
 * The Withings public API, as the gateway uses it: OAuth 2 token refresh and the `getmeas`
 * measures of one user. The adapter (connectors/withings) speaks Withings' wire format:
 * form-encoded POSTs, `{"status": 0, "body": …}` answers (HTTP 200 even for errors), bearer
 * access tokens. Failures are thrown as our coded errors, never the HTTP client's:
 * RPM_ERR_UPSTREAM_VENDOR_AUTH when Withings refuses the token (status 401, invalid_token, a
 * refused refresh), RPM_ERR_UPSTREAM_VENDOR for the rest (unreachable, timeout, 5xx, 429 or
 * Withings' 601 "too many requests", a garbled answer), with `retryAfterSeconds` when known.
 */
export interface WithingsApi {
  /** `POST {base}/v2/oauth2 action=requesttoken grant_type=refresh_token`: Withings rotates the refresh token. */
  refreshToken(app: WithingsApp, refreshToken: string): Promise<WithingsTokens>;
  /** `POST {base}/measure action=getmeas` with `Authorization: Bearer`: one page of measure groups. */
  getMeasures(app: WithingsApp, accessToken: string, query: MeasureQuery): Promise<MeasurePage>;
}

/** The developer application the patient authorized, and where its API is. */
export interface WithingsApp {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface WithingsTokens {
  readonly userId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresInSeconds: number;
}

export interface MeasureQuery {
  /** Epoch seconds, inclusive. */
  readonly startdate: number;
  readonly enddate: number;
  readonly meastypes: readonly number[];
  /** Paging: the `offset` of the previous page when it said `more`. */
  readonly offset?: number;
}

export interface MeasurePage {
  /** The raw answer text: its SHA-256 is kept with every reading it yields. */
  readonly raw: string;
  /** The `body` member of the answer (measuregrps, timezone, more, offset), unvalidated. */
  readonly body: unknown;
}
