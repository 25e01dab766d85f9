/**
 * Outbound short messages (SMS) to staff. Adapters: Twilio (connectors/twilio), and a logging
 * notifier for the embedded default. Bodies never carry PHI: they say that something waits in
 * the worklist, not about whom.
 */
export interface Notifier {
  sendSms(to: string, body: string, idempotencyKey: string): Promise<{ readonly providerId: string }>;
}
