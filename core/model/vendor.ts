import { z } from 'zod';
import { entityId } from './registry.js';

/**
 * Vendor integrations: the RPM device vendors and platforms whose own formats the gateway takes
 * in (shared/reference/device-formats.md). Each organization configures its own connection per
 * vendor (credentials stored encrypted) and binds the vendor's device, user or site identifiers
 * to devices registered here; readings then belong to whoever that device is assigned to.
 */

export const VENDORS = ['tenovi', 'withings', 'bodytrace', 'open-mhealth', 'validic', 'nightscout'] as const;
export type VendorName = (typeof VENDORS)[number];

/** What the vendor's identifier in a binding names: Tenovi and BodyTrace devices, Withings and Validic users, Nightscout sites. */
export const VENDOR_EXTERNAL_ID: Readonly<Record<VendorName, string>> = {
  tenovi: '`hwi_device_id` (never the gateway `hardware_uuid`, which changes when a gateway is replaced)',
  withings: 'the Withings `userid`',
  bodytrace: '`deviceId` (the IMEI without its last digit)',
  'open-mhealth': 'the user or source id in the request path',
  validic: 'the Validic user `uid` (the id you provisioned the user with)',
  nightscout: 'the site name in the upload URL',
};

const secret = (min: number) => z.string().min(min).max(4096);
const httpUrl = z.url({ protocol: /^https?$/ });
/** An HTTP header name (RFC 9110 token). */
const headerName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'an HTTP header name');

/**
 * Per vendor, what the organization's connection holds. Everything in here is stored encrypted
 * (FieldCipher) and the admin API shows only the fields `vendorConnectionView` names.
 */
export const tenoviConnection = z.object({
  /** Tenovi's webhook `auth_header`: the header Tenovi sends `auth_key` in. */
  authHeader: headerName.default('Authorization'),
  /** Tenovi's webhook `auth_key`, compared in constant time. */
  authKey: secret(16),
  /**
   * Tenovi documents the units of its BP cuff, oximeter and glucometer metrics but not of
   * `weight` and `temperature`: until these say what your Tenovi scales and thermometers report,
   * such measurements are refused (RPM_ERR_READING_UNIT_UNSUPPORTED), never guessed.
   */
  weightUnit: z.enum(['lb', 'kg']).optional(),
  temperatureUnit: z.enum(['[degF]', 'Cel']).optional(),
});
export const withingsConnection = z.object({
  /** The Withings developer application (Partner Hub) the patients authorized. */
  clientId: z.string().min(1).max(256),
  clientSecret: secret(1),
  /** Part of the callback URL given to Withings (`/vendors/withings/{org}/notify/{callbackToken}`): Withings does not sign notifications. */
  callbackToken: z
    .string()
    .min(24)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - (it goes into the callback URL)'),
  /** Where the Withings API is; default RPM_WITHINGS_API_URL (https://wbsapi.withings.net). */
  apiBaseUrl: httpUrl.optional(),
});
export const bodytraceConnection = z.object({
  /** HTTP basic credentials BodyTrace is configured to send. */
  username: z.string().min(1).max(256).regex(/^[^:]+$/, 'no colon (HTTP basic)'),
  password: secret(12),
});
export const openMhealthConnection = z.object({
  /** Bearer token the sending platform presents (IEEE 1752.1 defines no transport security). */
  token: secret(24),
});
export const validicConnection = z.object({
  /** The Organization Access Token and the Application Secret of Validic's signature (HMAC-SHA1). */
  organizationAccessToken: secret(8),
  applicationSecret: secret(6),
  /** How far X-Validic-Timestamp may lie from our clock (replay window), seconds. */
  replayWindowSeconds: z.number().int().min(30).max(3600).default(300),
});
/** Nightscout sites authenticate per site (the binding's API secret); the connection holds nothing. */
export const nightscoutConnection = z.object({});

export const VENDOR_CONNECTION_SCHEMAS = {
  tenovi: tenoviConnection,
  withings: withingsConnection,
  bodytrace: bodytraceConnection,
  'open-mhealth': openMhealthConnection,
  validic: validicConnection,
  nightscout: nightscoutConnection,
} as const satisfies Record<VendorName, z.ZodType>;

export type VendorConfig =
  | { readonly vendor: 'tenovi'; readonly settings: z.infer<typeof tenoviConnection> }
  | { readonly vendor: 'withings'; readonly settings: z.infer<typeof withingsConnection> }
  | { readonly vendor: 'bodytrace'; readonly settings: z.infer<typeof bodytraceConnection> }
  | { readonly vendor: 'open-mhealth'; readonly settings: z.infer<typeof openMhealthConnection> }
  | { readonly vendor: 'validic'; readonly settings: z.infer<typeof validicConnection> }
  | { readonly vendor: 'nightscout'; readonly settings: z.infer<typeof nightscoutConnection> };

export type SettingsOf<V extends VendorName> = Extract<VendorConfig, { vendor: V }>['settings'];

/** An organization's connection to one vendor. */
export type VendorConnection<V extends VendorName = VendorName> = V extends VendorName
  ? {
      readonly organizationId: string;
      readonly vendor: V;
      readonly settings: SettingsOf<V>;
      readonly enabled: boolean;
      readonly createdAtMs: number;
      readonly updatedAtMs: number;
    }
  : never;

/** Validates a connection body for a vendor; the error names the first bad field. */
export function parseVendorSettings<V extends VendorName>(vendor: V, body: unknown): { ok: true; settings: SettingsOf<V> } | { ok: false; path: string; message: string } {
  const parsed = VENDOR_CONNECTION_SCHEMAS[vendor].safeParse(body);
  if (parsed.success) return { ok: true, settings: parsed.data as SettingsOf<V> };
  const issue = parsed.error.issues[0];
  return { ok: false, path: `/${(issue?.path ?? []).map(String).join('/')}`, message: issue?.message ?? 'invalid' };
}

/** Per-binding credentials: a Nightscout site's API secret; a Withings user's OAuth 2 tokens. */
export type BindingCredentials =
  | { readonly type: 'nightscout'; readonly apiSecret: string }
  | { readonly type: 'withings'; readonly accessToken: string | null; readonly refreshToken: string; readonly accessTokenExpiresAtMs: number | null };

/** The vendor's device, user or site identifier, bound to one of our devices. */
export interface VendorBinding {
  readonly organizationId: string;
  readonly vendor: VendorName;
  readonly externalId: string;
  readonly deviceId: string;
  readonly credentials: BindingCredentials | null;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** Vendor identifiers: as our ids (some travel in URL paths, and name unbound senders in rejections). */
export const externalId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - (no slashes, spaces, + or #)');

export const createBindingInput = z.object({
  externalId,
  deviceId: entityId.describe('A device registered here (POST /v1/admin/devices); its assignments decide whose readings these are'),
  nightscout: z
    .object({ apiSecret: z.string().min(12).max(1024).describe("The site's API_SECRET (Nightscout requires 12 characters or more); uploaders send its SHA-1 as `api-secret`") })
    .optional(),
  withings: z
    .object({
      refreshToken: z.string().min(1).max(2048),
      accessToken: z.string().min(1).max(2048).optional(),
      accessTokenExpiresAt: z.iso.datetime({ offset: true }).optional(),
    })
    .optional()
    .describe('The OAuth 2 tokens the Withings user granted your application (requesttoken); refreshed and rotated here from now on'),
});
export type CreateBindingInput = z.infer<typeof createBindingInput>;

export const PULL_STATUSES = ['pending', 'failed', 'done', 'dead'] as const;
export type PullStatus = (typeof PULL_STATUSES)[number];

/**
 * A pull of a vendor's measures over a time range (Withings: after a data-update notification,
 * or an operator's backfill), kept durably until it has committed what it fetched.
 */
export interface VendorPull {
  readonly id: number;
  readonly organizationId: string;
  readonly vendor: VendorName;
  readonly externalId: string;
  /** Measurement times covered, epoch ms, inclusive. */
  readonly fromMs: number;
  readonly toMs: number;
  readonly reason: 'notification' | 'backfill';
  readonly status: PullStatus;
  readonly attempts: number;
  readonly createdAtMs: number;
  readonly nextAttemptAtMs: number;
  readonly lastAttemptAtMs: number | null;
  /** Readings the last successful attempt handed to ingest (accepted + duplicate). */
  readonly readings: number | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
}

export const backfillPullInput = z.object({
  from: z.iso.datetime({ offset: true }).describe('Measurements taken at or after this instant'),
  to: z.iso.datetime({ offset: true }).optional().describe('... and at or before this one; default now'),
});
