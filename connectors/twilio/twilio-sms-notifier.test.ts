import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwilioDouble, type TwilioDouble, twilioSignature } from '../../test/helpers/twilio-double.js';
import { TwilioSmsNotifier, validTwilioSignature } from './twilio-sms-notifier.js';

const accountSid = 'AC0123456789abcdef0123456789abcdef';
const authToken = 'twilio-auth-token-for-tests';

describe('TwilioSmsNotifier (the twilio package against a local double of the REST API)', () => {
  let double: TwilioDouble;
  beforeAll(async () => {
    double = await startTwilioDouble({ accountSid, authToken });
  });
  afterAll(async () => double.close());

  it('sends through the SDK to the configured base URL, with Basic auth, From or a Messaging Service, and the idempotency token', async () => {
    const sms = new TwilioSmsNotifier({ accountSid, authToken, from: '+15550001111', baseUrl: double.url });
    const first = await sms.sendSms('+15557654321', 'Reminder body', 'key-1');
    expect(first.providerId).toMatch(/^SM/);
    const got = double.messages.at(-1)!;
    expect(got.form.get('To')).toBe('+15557654321');
    expect(got.form.get('From')).toBe('+15550001111');
    expect(got.form.get('Body')).toBe('Reminder body');
    expect(got.idempotencyToken).toBe('key-1');
    expect(got.userAgent).toMatch(/^twilio-node\//);
    // A retry with the same key is recognised by Twilio: same message, nothing sent twice.
    expect((await sms.sendSms('+15557654321', 'Reminder body', 'key-1')).providerId).toBe(first.providerId);
    expect(double.messages.filter((m) => m.idempotencyToken === 'key-1')).toHaveLength(1);

    const service = new TwilioSmsNotifier({ accountSid, authToken, from: 'MG0123456789abcdef0123456789abcdef', baseUrl: `${double.url}/` });
    await service.sendSms('+15557654321', 'x', 'key-2');
    expect(double.messages.at(-1)!.form.get('MessagingServiceSid')).toBe('MG0123456789abcdef0123456789abcdef');
  });

  it("turns Twilio's errors into RPM_ERR_UPSTREAM_SMS with its status and code, never the number or the body", async () => {
    const sms = new TwilioSmsNotifier({ accountSid, authToken, from: '+15550001111', baseUrl: double.url });
    const bad = await sms.sendSms('not-a-number', 'secret body', 'key-3').catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'RPM_ERR_UPSTREAM_SMS', details: { status: 400, twilioCode: 21211 } });
    double.failNext.n = 1;
    expect(await sms.sendSms('+15557654321', 'secret body', 'key-4').catch((e: unknown) => e)).toMatchObject({ code: 'RPM_ERR_UPSTREAM_SMS', details: { status: 503, twilioCode: 20503 } });
    const wrongToken = new TwilioSmsNotifier({ accountSid, authToken: 'wrong', from: '+15550001111', baseUrl: double.url });
    const denied = await wrongToken.sendSms('+15557654321', 'secret body', 'key-5').catch((e: unknown) => e);
    expect(denied).toMatchObject({ details: { status: 401, twilioCode: 20003 } });
    expect(JSON.stringify(denied) + String((denied as Error).message)).not.toContain('secret body');
  });

  it('verifies X-Twilio-Signature with the SDK against a signature computed as Twilio documents it', () => {
    const url = 'https://gw.example.org/v1/scheduling/sms/inbound';
    const params = { From: '+15557654321', To: '+15550001111', Body: 'C', MessageSid: 'SM1', AccountSid: accountSid };
    const signature = twilioSignature(authToken, url, params);
    expect(validTwilioSignature(authToken, signature, url, params)).toBe(true);
    expect(validTwilioSignature(authToken, signature, url, { ...params, Body: 'R' })).toBe(false);
    expect(validTwilioSignature(authToken, signature, `${url}?x=1`, params)).toBe(false);
    expect(validTwilioSignature('other-token', signature, url, params)).toBe(false);
    expect(validTwilioSignature(authToken, undefined, url, params)).toBe(false);
  });
});
