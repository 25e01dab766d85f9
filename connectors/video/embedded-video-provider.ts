import { createHmac } from 'node:crypto';
import type { VideoConfig } from '../../core/config/schema.js';
import type { IceServer, VideoJoin, VideoProvider, VideoRoomGrant } from '../../core/ports/video-provider.js';

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest-00, coturn `use-auth-secret`):
 * the username is `<expiry in Unix seconds>:<user>`, the password base64(HMAC-SHA1(secret, username)).
 * The TURN server checks both with the same secret and refuses the username after its expiry.
 */
export function turnRestCredential(secret: string, user: string, expiresAtMs: number): { username: string; credential: string } {
  const username = `${Math.floor(expiresAtMs / 1000)}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/**
 * The embedded default: one-to-one WebRTC between the two browsers, signaled over the gateway's
 * WebSocket (`signalingPath`). Media never pass through the gateway: peers connect directly, or
 * through the configured TURN server when a NAT or firewall is in the way.
 */
export class EmbeddedVideoProvider implements VideoProvider {
  readonly kind = 'embedded' as const;

  constructor(private readonly options: { readonly ice: VideoConfig['ice']; readonly signalingPath: string }) {}

  async join(grant: VideoRoomGrant, _nowMs: number): Promise<VideoJoin> {
    const { urls, turn } = this.options.ice;
    const stun = urls.filter((u) => u.startsWith('stun'));
    const relay = urls.filter((u) => u.startsWith('turn'));
    const iceServers: IceServer[] = [];
    if (stun.length > 0) iceServers.push({ urls: stun });
    if (relay.length > 0) {
      if (turn?.kind === 'rest') iceServers.push({ urls: relay, ...turnRestCredential(turn.secret, grant.identity, grant.expiresAtMs) });
      else if (turn?.kind === 'static') iceServers.push({ urls: relay, username: turn.username, credential: turn.credential });
      else iceServers.push({ urls: relay });
    }
    return { provider: 'embedded', signalingPath: this.options.signalingPath, iceServers, iceTransportPolicy: this.options.ice.transportPolicy };
  }
}
