import { RpmError } from '../../core/errors/rpm-error.js';
import type { Notifier } from '../../core/ports/notifier.js';

export interface TwilioSmsOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** A Twilio number (E.164) or a Messaging Service SID (MG…). */
  readonly from: string;
  /** https://api.twilio.com unless pointed elsewhere (tests, regional edge). */
  readonly baseUrl: string;
  readonly timeoutMs?: number;
}

/**
 * SMS through Twilio's Programmable Messaging REST API (`POST /2010-04-01/Accounts/{Sid}/
 * Messages.json`, form-encoded, HTTP basic auth). Plain fetch: the SDK would add a large
 * dependency for one call. Errors become UpstreamError-style RpmErrors carrying Twilio's code.
 */
export class TwilioSmsNotifier implements Notifier {
  constructor(private readonly options: TwilioSmsOptions) {}

  async sendSms(to: string, body: string, idempotencyKey: string): Promise<{ providerId: string }> {
    const { accountSid, authToken, from, baseUrl } = this.options;
    const form = new URLSearchParams({ To: to, Body: body });
    if (from.startsWith('MG')) form.set('MessagingServiceSid', from);
    else form.set('From', from);
    const res = await fetch(`${baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        // Lets Twilio drop a retried request it already processed.
        'i-twilio-idempotency-token': idempotencyKey,
      },
      body: form,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    const payload = (await res.json().catch(() => ({}))) as { sid?: string; code?: number; message?: string };
    if (!res.ok || typeof payload.sid !== 'string') {
      throw new RpmError('RPM_ERR_UPSTREAM_SMS', `Twilio answered ${res.status}${payload.code === undefined ? '' : ` (code ${payload.code})`}: ${payload.message ?? 'no message'}`, {
        details: { status: res.status, twilioCode: payload.code ?? null },
      });
    }
    return { providerId: payload.sid };
  }
}
