import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import type { VideoConfig } from '../../core/config/schema.js';
import type { VideoJoin, VideoProvider, VideoRoomGrant } from '../../core/ports/video-provider.js';

type JitsiConfig = NonNullable<VideoConfig['jitsi']>;

/**
 * Jitsi Meet rooms entered with a signed JWT (`?jwt=`), minted here with `jose`:
 *
 * - self-hosted Jitsi with prosody token auth (`app_id` / `app_secret`): HS256, `iss` = app id,
 *   `sub` = the meeting host, `aud` = `jitsi`, `room` = the room;
 * - 8x8 Jitsi as a Service (JaaS): RS256 with the API key's id as `kid`, `iss` = `chat`,
 *   `sub` = the app id (`vpaas-magic-cookie-…`), rooms under `/<app id>/`.
 *
 * Staff enter as moderators; the patient as `Patient`. Recording and live streaming are off.
 */
export class JitsiVideoProvider implements VideoProvider {
  readonly kind = 'jitsi' as const;
  private readonly key: Promise<Uint8Array | CryptoKey>;

  constructor(private readonly options: JitsiConfig) {
    const signing = options.signing;
    this.key = signing.kind === 'hs256' ? Promise.resolve(new TextEncoder().encode(signing.secret)) : importPKCS8(readFileSync(signing.privateKeyFile, 'utf8'), 'RS256');
    // A key file that cannot be read stops the start, not the first visit.
    this.key.catch(() => undefined);
  }

  /** Resolves once the signing key is loaded (rejects when the key file is not a PKCS#8 RSA key). */
  ready(): Promise<unknown> {
    return this.key;
  }

  async join(grant: VideoRoomGrant, nowMs: number): Promise<VideoJoin> {
    const { url, appId, signing } = this.options;
    const jaas = signing.kind === 'rs256';
    const nowS = Math.floor(nowMs / 1000);
    const token = await new SignJWT({
      room: grant.room,
      context: {
        user: { id: grant.identity, name: grant.displayName, moderator: grant.role === 'staff' ? 'true' : 'false' },
        features: { recording: 'false', livestreaming: 'false', transcription: 'false', 'outbound-call': 'false' },
      },
    })
      .setProtectedHeader(jaas ? { alg: 'RS256', typ: 'JWT', kid: signing.kid } : { alg: 'HS256', typ: 'JWT' })
      .setIssuer(jaas ? 'chat' : appId)
      .setSubject(jaas ? appId : new URL(url).hostname)
      .setAudience('jitsi')
      .setIssuedAt(nowS)
      .setNotBefore(nowS - 10)
      .setExpirationTime(Math.ceil(grant.expiresAtMs / 1000))
      .sign(await this.key);
    const roomPath = jaas ? `${encodeURIComponent(appId)}/${encodeURIComponent(grant.room)}` : encodeURIComponent(grant.room);
    return { provider: 'jitsi', joinUrl: `${url}/${roomPath}?jwt=${token}`, token };
  }
}
