import { createHash } from 'node:crypto';
import { AccessToken, WebhookEvent } from 'livekit-server-sdk';

/**
 * A LiveKit webhook exactly as a LiveKit server sends one (livekit/livekit pkg/service webhook
 * notifier → protocol/webhook): the body is the protobuf-JSON of a WebhookEvent, posted as
 * `application/webhook+json` with `Authorization: <JWT>`, an access token under the API key and
 * secret whose `sha256` claim is the base64 SHA-256 of the body. Built here with the SDK's own
 * WebhookEvent and AccessToken, so the wire format is LiveKit's, not ours.
 */
export async function livekitWebhook(
  apiKey: string,
  apiSecret: string,
  event: { event: 'participant_joined' | 'participant_left' | 'room_finished' | 'room_started'; room: string; identity?: string; atMs: number; id?: string },
): Promise<{ body: string; headers: Record<string, string> }> {
  const message = new WebhookEvent({
    id: event.id ?? `EV_${createHash('sha256').update(JSON.stringify(event)).digest('hex').slice(0, 12)}`,
    createdAt: BigInt(Math.floor(event.atMs / 1000)),
    room: { sid: `RM_${event.room.slice(-8)}`, name: event.room },
    ...(event.identity === undefined ? {} : { participant: { sid: `PA_${event.identity.slice(-8)}`, identity: event.identity } }),
  });
  // The SDK's subclass resets `event` in its constructor: set it afterwards.
  message.event = event.event;
  const body = message.toJsonString();
  const token = new AccessToken(apiKey, apiSecret, { ttl: '5m' });
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return { body, headers: { 'content-type': 'application/webhook+json', authorization: await token.toJwt() } };
}
