import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { GatewayContext } from '../context.js';

/** The path Twilio is configured to call for incoming SMS (Messaging webhook, HTTP POST). */
export const SMS_INBOUND_PATH = '/v1/sms/inbound';

/**
 * Patients' SMS replies to visit reminders, as Twilio delivers them: a form-encoded POST signed
 * with `X-Twilio-Signature` over the public URL it called (RPM_PUBLIC_URL + the path) and the
 * parameters, under the account's auth token. A request that does not verify is refused (403)
 * and audited; a verified one is answered with TwiML (`<Response><Message>`), text without PHI.
 * Neither the number nor the text is logged.
 */
export async function smsWebhookRoutes(scope: FastifyInstance, ctx: GatewayContext, verify: (signature: string | undefined, url: string, params: Record<string, string>) => boolean): Promise<void> {
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  scope.post(
    SMS_INBOUND_PATH,
    {
      schema: {
        summary: "Twilio's webhook for incoming SMS: a patient's reply to a reminder (C confirm, R reschedule)",
        description: 'Form-encoded, as Twilio sends it; refused with 403 unless X-Twilio-Signature verifies against RPM_PUBLIC_URL. Answers TwiML.',
        tags: ['scheduling'],
        produces: ['text/xml'],
      },
    },
    async (req, reply) => {
      const publicUrl = ctx.config.scheduling.publicUrl;
      const params = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, string>;
      const signature = req.headers['x-twilio-signature'];
      const url = `${publicUrl ?? ''}${req.url}`;
      if (publicUrl === undefined || !verify(typeof signature === 'string' ? signature : undefined, url, params)) {
        await ctx.audit.record({ atMs: ctx.clock.now(), actor: 'twilio', action: 'sms.inbound', subject: 'webhook:twilio', outcome: 'denied', sourceIp: req.ip, details: { reason: publicUrl === undefined ? 'RPM_PUBLIC_URL not set' : 'signature' } });
        throw new RpmError('RPM_ERR_WEBHOOK_SIGNATURE_INVALID', 'X-Twilio-Signature does not verify');
      }
      const result = await ctx.scheduling.patientReply(params.From ?? '', params.Body ?? '');
      const twiml = new twilio.twiml.MessagingResponse();
      twiml.message(result.text);
      return reply.header('content-type', 'text/xml; charset=utf-8').send(twiml.toString());
    },
  );
}
