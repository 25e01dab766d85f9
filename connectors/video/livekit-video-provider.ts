import { AccessToken, WebhookReceiver } from 'livekit-server-sdk';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { VideoConfig } from '../../core/config/schema.js';
import type { VideoJoin, VideoProvider, VideoRoomEvent, VideoRoomGrant } from '../../core/ports/video-provider.js';

/**
 * LiveKit rooms (self-hosted or LiveKit Cloud). Access tokens are minted here with the official
 * server SDK (`livekit-server-sdk`): a JWT signed with the API secret (HS256) whose `video` grant
 * names the one room; LiveKit creates the room when the first participant joins. No call to
 * LiveKit's API is needed to join, so nothing about the patient reaches it: the room name is
 * random, the patient is `Patient`.
 */
export class LiveKitVideoProvider implements VideoProvider {
  readonly kind = 'livekit' as const;
  readonly presence: 'token' | 'events';
  private readonly receiver: WebhookReceiver;

  constructor(private readonly options: NonNullable<VideoConfig['livekit']>) {
    this.presence = options.webhooks ? 'events' : 'token';
    this.receiver = new WebhookReceiver(options.apiKey, options.apiSecret);
  }

  /**
   * A LiveKit webhook (POST, `application/webhook+json`, `Authorization: <JWT>`): the SDK's
   * WebhookReceiver checks the JWT (HS256 under our API secret, issuer = our API key, not expired)
   * and that its `sha256` claim is the body's SHA-256; anything else is refused.
   */
  async receiveEvent(body: string, authorization: string | undefined): Promise<VideoRoomEvent> {
    let event;
    try {
      event = await this.receiver.receive(body, authorization?.replace(/^Bearer\s+/i, ''));
    } catch (err) {
      throw new RpmError('RPM_ERR_WEBHOOK_SIGNATURE_INVALID', 'the LiveKit webhook signature does not verify', { cause: err });
    }
    const kind =
      event.event === 'participant_joined'
        ? 'participant-joined'
        : event.event === 'participant_left' || event.event === 'participant_connection_aborted'
          ? 'participant-left'
          : event.event === 'room_finished'
            ? 'room-finished'
            : 'other';
    return { kind, id: event.id, room: event.room?.name ?? '', identity: event.participant?.identity ?? null, atMs: Number(event.createdAt) * 1000 };
  }

  async join(grant: VideoRoomGrant, nowMs: number): Promise<VideoJoin> {
    const ttlS = Math.max(60, Math.ceil((grant.expiresAtMs - nowMs) / 1000));
    const at = new AccessToken(this.options.apiKey, this.options.apiSecret, {
      identity: grant.identity,
      name: grant.displayName,
      ttl: ttlS,
      attributes: { role: grant.role },
    });
    at.addGrant({
      room: grant.room,
      roomJoin: true,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      // Staff may mute or remove a participant; the patient may not.
      roomAdmin: grant.role === 'staff',
    });
    const token = await at.toJwt();
    const joinUrl =
      this.options.joinUrl === undefined
        ? null
        : `${this.options.joinUrl}${this.options.joinUrl.includes('?') ? '&' : '?'}liveKitUrl=${encodeURIComponent(this.options.url)}&token=${encodeURIComponent(token)}`;
    return { provider: 'livekit', serverUrl: this.options.url, token, joinUrl };
  }
}
