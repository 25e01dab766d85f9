import type { VideoProviderKind, VisitRole } from '../model/visit.js';

/** An ICE server as RTCPeerConnection takes it (STUN, or TURN with credentials). */
export interface IceServer {
  readonly urls: readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/** Who may enter which room, until when. Names are what the other side sees: never the patient's name. */
export interface VideoRoomGrant {
  readonly room: string;
  /** Opaque and stable per participant: `staff-<id>`, or `patient-<visit id>`. */
  readonly identity: string;
  readonly displayName: string;
  readonly role: VisitRole;
  /** The credential's end (the provider refuses it afterwards). */
  readonly expiresAtMs: number;
}

/** What a browser needs to enter the room. */
export type VideoJoin =
  /** One-to-one WebRTC, signaled by the gateway's WebSocket (`signalingPath`). */
  | { readonly provider: 'embedded'; readonly signalingPath: string; readonly iceServers: readonly IceServer[]; readonly iceTransportPolicy: 'all' | 'relay' }
  /** A LiveKit room: the server URL and an access token (JWT) the LiveKit client connects with. */
  | { readonly provider: 'livekit'; readonly serverUrl: string; readonly token: string; readonly joinUrl: string | null }
  /** A Jitsi Meet room: the meeting URL carrying the signed JWT (`?jwt=`). */
  | { readonly provider: 'jitsi'; readonly joinUrl: string; readonly token: string };

/**
 * A video provider (config `RPM_VIDEO_PROVIDER`): the embedded one-to-one WebRTC (the gateway
 * signals, browsers connect directly or through TURN), or a hosted service whose room tokens are
 * minted locally with its server SDK. Adapters in connectors/video.
 */
export interface VideoProvider {
  readonly kind: VideoProviderKind;
  join(grant: VideoRoomGrant, nowMs: number): Promise<VideoJoin>;
  /**
   * How presence is known for a hosted room: `events` when the provider reports who entered and
   * left (`receiveEvent`, e.g. LiveKit webhooks), `token` when only a token issued is known (it
   * counts as entering). Absent: the embedded provider, whose signaling sees presence itself.
   */
  readonly presence?: 'token' | 'events';
  /**
   * A provider's signed event (webhook): verified here (a bad signature throws
   * RPM_ERR_VIDEO_WEBHOOK_SIGNATURE), answered as what happened in which room.
   */
  receiveEvent?(body: string, authorization: string | undefined): Promise<VideoRoomEvent>;
}

/** What a hosted provider reported: someone entered or left a room, or the room closed. */
export interface VideoRoomEvent {
  readonly kind: 'participant-joined' | 'participant-left' | 'room-finished' | 'other';
  /** The provider's event id (a redelivery has the same). */
  readonly id: string;
  readonly room: string;
  /** The participant's identity from the grant (`staff-<id>`, `patient-<visit id>`), for participant events. */
  readonly identity: string | null;
  readonly atMs: number;
}
