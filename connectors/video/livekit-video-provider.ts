import { AccessToken } from 'livekit-server-sdk';
import type { VideoConfig } from '../../core/config/schema.js';
import type { VideoJoin, VideoProvider, VideoRoomGrant } from '../../core/ports/video-provider.js';

/**
 * LiveKit rooms (self-hosted or LiveKit Cloud). Access tokens are minted here with the official
 * server SDK (`livekit-server-sdk`): a JWT signed with the API secret (HS256) whose `video` grant
 * names the one room; LiveKit creates the room when the first participant joins. No call to
 * LiveKit's API is needed to join, so nothing about the patient reaches it: the room name is
 * random, the patient is `Patient`.
 */
export class LiveKitVideoProvider implements VideoProvider {
  readonly kind = 'livekit' as const;

  constructor(private readonly options: NonNullable<VideoConfig['livekit']>) {}

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
