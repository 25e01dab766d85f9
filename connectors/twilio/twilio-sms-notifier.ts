import { AsyncLocalStorage } from 'node:async_hooks';
import twilio from 'twilio';
import type RequestClientBase from 'twilio/lib/base/RequestClient.js';
type TwilioResponse<T> = Awaited<ReturnType<RequestClientBase['request']>> & { body: T };

type RequestOptions<T> = RequestClientBase.RequestOptions<T>;
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Notifier } from '../../core/ports/notifier.js';

export interface TwilioSmsOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** A Twilio number (E.164) or a Messaging Service SID (MG…). */
  readonly from: string;
  /** https://api.twilio.com unless pointed elsewhere (tests: a local double speaking Twilio's REST wire format). */
  readonly baseUrl: string;
  readonly timeoutMs?: number;
}


const TWILIO_API = 'https://api.twilio.com';

/**
 * The SDK's own HTTP client (twilio.RequestClient: axios, Basic auth, form encoding, Twilio's
 * error bodies), passed as the documented `httpClient` option ("custom HTTP client"), with two
 * additions: requests to api.twilio.com go to `baseUrl` when one is configured (the SDK's
 * `edge`/`region` only choose among Twilio's own hosts), and the idempotency token of the send in
 * progress rides as `I-Twilio-Idempotency-Token`, so Twilio drops a retried request it already
 * processed.
 */
class RoutedRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: string,
    private readonly idempotency: AsyncLocalStorage<string>,
    timeoutMs: number,
  ) {
    super({ timeout: timeoutMs });
  }

  override request<TData>(opts: RequestOptions<TData>): Promise<TwilioResponse<TData>> {
    let uri = opts.uri;
    if (this.baseUrl !== TWILIO_API && uri.startsWith(TWILIO_API)) uri = this.baseUrl + uri.slice(TWILIO_API.length);
    const key = this.idempotency.getStore();
    const headers = key === undefined ? opts.headers : { ...opts.headers, 'I-Twilio-Idempotency-Token': key };
    return super.request<TData>({ ...opts, uri, ...(headers === undefined ? {} : { headers }) });
  }
}

/**
 * SMS through Twilio's Programmable Messaging API with the official `twilio` package
 * (`messages.create`). Errors become RPM_ERR_UPSTREAM_SMS carrying Twilio's status and code,
 * never the phone number or the body.
 */
export class TwilioSmsNotifier implements Notifier {
  private readonly client: twilio.Twilio;
  private readonly idempotency = new AsyncLocalStorage<string>();

  constructor(private readonly options: TwilioSmsOptions) {
    this.client = twilio(options.accountSid, options.authToken, {
      httpClient: new RoutedRequestClient(options.baseUrl.replace(/\/$/, ''), this.idempotency, options.timeoutMs ?? 10_000),
      // Keep the SDK from reading TWILIO_* from the environment: the configuration is ours.
      env: {},
    });
  }

  async sendSms(to: string, body: string, idempotencyKey: string): Promise<{ providerId: string }> {
    const { from } = this.options;
    try {
      const message = await this.idempotency.run(idempotencyKey, () =>
        this.client.messages.create({ to, body, ...(from.startsWith('MG') ? { messagingServiceSid: from } : { from }) }),
      );
      return { providerId: message.sid };
    } catch (err) {
      const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : null;
      const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' ? err.code : null;
      const message = err instanceof twilio.RestException ? err.message : 'no answer';
      throw new RpmError('RPM_ERR_UPSTREAM_SMS', `Twilio answered ${status ?? 'nothing'}${code === null ? '' : ` (code ${code})`}: ${message}`, {
        details: { status, twilioCode: code },
      });
    }
  }
}

/**
 * Whether a webhook request really comes from Twilio: `X-Twilio-Signature` checked by the SDK's
 * `validateRequest` (HMAC-SHA1 of the public URL Twilio called and the sorted form parameters,
 * under the account's auth token).
 */
export function validTwilioSignature(authToken: string, signature: string | undefined, publicUrl: string, params: Record<string, string>): boolean {
  if (signature === undefined || signature === '') return false;
  return twilio.validateRequest(authToken, signature, publicUrl, params);
}
