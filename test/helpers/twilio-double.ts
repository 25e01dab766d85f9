import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One message the double accepted, as Twilio received it. */
export interface SentSms {
  readonly sid: string;
  readonly accountSid: string;
  readonly form: URLSearchParams;
  readonly authorization: string;
  readonly idempotencyToken: string | undefined;
  readonly userAgent: string;
}

export interface TwilioDouble {
  readonly url: string;
  readonly messages: SentSms[];
  /** The next n sends answer 503 with Twilio's error body. */
  readonly failNext: { n: number };
  /**
   * The next n sends are accepted (recorded, as Twilio would send them) but never answered: the
   * sender dies or times out not knowing it was sent.
   */
  readonly stallNext: { n: number };
  /** Requests received, repeats with a known idempotency token included. */
  readonly requests: { count: number };
  close(): Promise<void>;
}

/**
 * Twilio is a SaaS we cannot reach from tests, so this double speaks its REST wire format:
 * `POST /2010-04-01/Accounts/{Sid}/Messages.json`, form-encoded, HTTP basic auth (the account
 * SID and auth token), answering 201 with a Message resource, or 4xx/5xx with Twilio's error body
 * (`code`, `message`, `more_info`, `status`). A repeated `I-Twilio-Idempotency-Token` answers the
 * first message again without sending another, as Twilio does.
 */
export function startTwilioDouble(credentials: { accountSid: string; authToken: string }): Promise<TwilioDouble> {
  const messages: SentSms[] = [];
  const byToken = new Map<string, SentSms>();
  const failNext = { n: 0 };
  const stallNext = { n: 0 };
  const requests = { count: 0 };
  const expectedAuth = `Basic ${Buffer.from(`${credentials.accountSid}:${credentials.authToken}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const m = /^\/2010-04-01\/Accounts\/(AC\w+)\/Messages\.json$/.exec(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      const error = (status: number, code: number, message: string): void => {
        res.writeHead(status).end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
      };
      if (req.method !== 'POST' || m === null || !String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) return error(404, 20404, 'The requested resource was not found');
      if (req.headers.authorization !== expectedAuth || m[1] !== credentials.accountSid) return error(401, 20003, 'Authenticate');
      if (failNext.n > 0) {
        failNext.n--;
        return error(503, 20503, 'Service unavailable');
      }
      requests.count++;
      const form = new URLSearchParams(body);
      const to = form.get('To') ?? '';
      if (!/^\+[1-9]\d{6,14}$/.test(to)) return error(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      const token = req.headers['i-twilio-idempotency-token'] as string | undefined;
      const seen = token === undefined ? undefined : byToken.get(token);
      const sms: SentSms = seen ?? {
        sid: `SM${String(messages.length + 1).padStart(32, '0')}`,
        accountSid: m[1] as string,
        form,
        authorization: req.headers.authorization ?? '',
        idempotencyToken: token,
        userAgent: String(req.headers['user-agent'] ?? ''),
      };
      if (seen === undefined) {
        messages.push(sms);
        if (token !== undefined) byToken.set(token, sms);
      }
      if (stallNext.n > 0) {
        stallNext.n--;
        return;
      }
      res.writeHead(201).end(
        JSON.stringify({
          sid: sms.sid,
          account_sid: sms.accountSid,
          to: sms.form.get('To'),
          from: sms.form.get('From'),
          messaging_service_sid: sms.form.get('MessagingServiceSid'),
          body: sms.form.get('Body'),
          status: 'queued',
          num_segments: '1',
          direction: 'outbound-api',
          api_version: '2010-04-01',
          date_created: new Date().toUTCString(),
          uri: `/2010-04-01/Accounts/${sms.accountSid}/Messages/${sms.sid}.json`,
        }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        messages,
        failNext,
        stallNext,
        requests,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}

/**
 * How Twilio signs a webhook (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
 * HMAC-SHA1 under the auth token of the full URL it called followed by each POST parameter name
 * and value, sorted by name; base64. Written out here, independently of the SDK that verifies it.
 */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}
