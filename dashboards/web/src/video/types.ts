/** The visit API's shapes (gateway/video/visit-routes.ts). */

export interface IceServerView {
  readonly urls: string[];
  readonly username?: string;
  readonly credential?: string;
}

export type JoinView =
  | { readonly provider: 'embedded'; readonly signalingPath: string; readonly iceServers: IceServerView[]; readonly iceTransportPolicy: 'all' | 'relay' }
  | { readonly provider: 'livekit'; readonly serverUrl: string; readonly token: string; readonly joinUrl: string | null }
  | { readonly provider: 'jitsi'; readonly joinUrl: string; readonly token: string };

export interface VisitView {
  readonly id: string;
  readonly patientId: string;
  readonly staffId: string;
  readonly alertId: string | null;
  /** The booked appointment the visit was started from. */
  readonly appointmentId: string | null;
  readonly provider: 'embedded' | 'livekit' | 'jitsi';
  readonly modality: 'video' | 'audio';
  readonly status: 'waiting' | 'in-progress' | 'ended';
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly endReason: 'ended' | 'cancelled' | 'expired' | null;
  readonly linkExpiresAt: string;
  readonly linkUsed: boolean;
  readonly minutes: number | null;
}

export interface LinkView {
  readonly url: string;
  readonly expiresAt: string;
  readonly sms: 'sent' | 'not-requested' | 'no-phone' | 'failed';
}

export interface PatientEntryView {
  readonly visitId: string;
  readonly sessionToken: string;
  readonly modality: 'video' | 'audio';
  readonly join: JoinView;
}
