import type { Logger } from '../../core/logging.js';
import type { Notifier } from '../../core/ports/notifier.js';

/** The embedded default when no SMS provider is configured: records that a message would go out. */
export class LogNotifier implements Notifier {
  constructor(private readonly log: Logger) {}

  async sendSms(to: string, body: string, idempotencyKey: string): Promise<{ providerId: string }> {
    // The number is masked: a phone number identifies a person. Links are left out: a visit link is a credential.
    this.log.warn({ to: `…${to.slice(-2)}`, body: body.replace(/https?:\/\/\S+/g, '<link>'), id: idempotencyKey }, 'SMS escalation (no SMS provider configured; set RPM_TWILIO_*)');
    return { providerId: `log:${idempotencyKey}` };
  }
}
