/**
 * One-to-one WebRTC through the gateway's signaling WebSocket (the embedded video provider),
 * shared by the nurse's call view and the patient's page. The staff side makes the offer whenever
 * both are in (also after the other side reconnects); the patient's side answers. Credentials go
 * in the first message, never in the URL.
 */

export type CallRole = 'staff' | 'patient';

/** What the person sees: each state has one sentence (callStateText). */
export type CallState = 'starting' | 'waiting' | 'connecting' | 'connected' | 'reconnecting' | 'ended' | 'refused' | 'replaced' | 'media-error' | 'disconnected';

export interface CallOptions {
  readonly signalingPath: string;
  readonly visitId: string;
  readonly role: CallRole;
  /** Staff: the session token; patient: the visit session. */
  readonly token: string;
  readonly iceServers: readonly { readonly urls: readonly string[]; readonly username?: string; readonly credential?: string }[];
  /** relay: only through the TURN server (neither side learns the other's address). */
  readonly iceTransportPolicy: 'all' | 'relay';
  readonly audioOnly: boolean;
  readonly localVideo: HTMLVideoElement;
  readonly remoteVideo: HTMLVideoElement;
  readonly onState: (state: CallState) => void;
}

type Signal = { description?: RTCSessionDescriptionInit; candidate?: RTCIceCandidateInit };

export class VideoCall {
  private ws: WebSocket | null = null;
  private pc: RTCPeerConnection | null = null;
  private local: MediaStream | null = null;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private state: CallState = 'starting';
  private closed = false;
  private pingTimer = 0;
  private inbox: Promise<void> = Promise.resolve();

  constructor(private readonly options: CallOptions) {}

  get current(): CallState {
    return this.state;
  }

  async start(): Promise<void> {
    try {
      this.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: !this.options.audioOnly });
    } catch {
      this.set('media-error');
      return;
    }
    this.options.localVideo.srcObject = this.local;
    this.options.localVideo.muted = true;
    this.connect();
  }

  /** Microphone on or off; answers whether it is now on. */
  toggleAudio(): boolean {
    return this.toggle(this.local?.getAudioTracks() ?? []);
  }

  /** Camera on or off; answers whether it is now on. */
  toggleVideo(): boolean {
    return this.toggle(this.local?.getVideoTracks() ?? []);
  }

  hasVideo(): boolean {
    return (this.local?.getVideoTracks().length ?? 0) > 0;
  }

  /** Leaves the room (the visit itself is ended by the staff side through the API). */
  hangUp(): void {
    this.closed = true;
    window.clearInterval(this.pingTimer);
    this.ws?.close(1000, 'left');
    this.ws = null;
    this.closePeer();
    for (const t of this.local?.getTracks() ?? []) t.stop();
    this.local = null;
    this.options.localVideo.srcObject = null;
  }

  private toggle(tracks: MediaStreamTrack[]): boolean {
    const on = !tracks.every((t) => t.enabled);
    for (const t of tracks) t.enabled = on;
    return on;
  }

  private set(state: CallState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState(state);
  }

  private connect(): void {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${this.options.signalingPath}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', visitId: this.options.visitId, role: this.options.role, token: this.options.token }));
    // One message at a time, in order: an offer's handling must finish before the candidates that follow it.
    ws.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data)) as { type: string; peerPresent?: boolean; present?: boolean; data?: Signal };
      this.inbox = this.inbox.then(() => this.onMessage(m)).catch(() => undefined);
    };
    ws.onclose = (ev) => {
      window.clearInterval(this.pingTimer);
      if (this.ws !== ws || this.closed) return;
      this.ws = null;
      this.closePeer();
      if (ev.code === 4000) this.finish('ended');
      else if (ev.code === 4401 || ev.code === 4404) this.finish('refused');
      else if (ev.code === 4409) this.finish('replaced');
      else {
        // The network dropped: try again (the room keeps her place; the other side is told).
        this.set('disconnected');
        window.setTimeout(() => {
          if (!this.closed) this.connect();
        }, 2000);
      }
    };
    // Keeps proxies from closing an idle socket while the call runs peer to peer.
    this.pingTimer = window.setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
    }, 25_000);
  }

  private finish(state: CallState): void {
    this.hangUp();
    this.set(state);
  }

  private async onMessage(m: { type: string; peerPresent?: boolean; present?: boolean; data?: Signal }): Promise<void> {
    switch (m.type) {
      case 'welcome':
        if (m.peerPresent === true) await this.peerArrived();
        else this.set('waiting');
        return;
      case 'peer':
        if (m.present === true) await this.peerArrived();
        else {
          this.closePeer();
          this.set('waiting');
        }
        return;
      case 'signal':
        if (m.data !== undefined) await this.onSignal(m.data);
        return;
      case 'ended':
        this.finish('ended');
        return;
      default:
        return;
    }
  }

  private async peerArrived(): Promise<void> {
    this.set('connecting');
    // A fresh connection each time both are in: the other side may have reloaded.
    this.closePeer();
    const pc = this.newPeer();
    if (this.options.role === 'staff') {
      await pc.setLocalDescription(await pc.createOffer());
      this.send({ description: pc.localDescription?.toJSON() });
    }
  }

  private async onSignal(signal: Signal): Promise<void> {
    const description = signal.description;
    if (description !== undefined) {
      if (description.type === 'offer') {
        this.closePeer();
        const pc = this.newPeer();
        await pc.setRemoteDescription(description);
        await this.flushCandidates(pc);
        await pc.setLocalDescription(await pc.createAnswer());
        this.send({ description: pc.localDescription?.toJSON() });
      } else if (description.type === 'answer' && this.pc !== null && this.pc.signalingState === 'have-local-offer') {
        await this.pc.setRemoteDescription(description);
        await this.flushCandidates(this.pc);
      }
    }
    const candidate = signal.candidate;
    if (candidate !== undefined) {
      if (this.pc === null || this.pc.remoteDescription === null) this.pendingCandidates.push(candidate);
      else await this.pc.addIceCandidate(candidate).catch(() => undefined);
    }
  }

  private async flushCandidates(pc: RTCPeerConnection): Promise<void> {
    const waiting = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of waiting) await pc.addIceCandidate(c).catch(() => undefined);
  }

  private newPeer(): RTCPeerConnection {
    const pc = new RTCPeerConnection({ iceServers: this.options.iceServers.map((s) => ({ ...s, urls: [...s.urls] })), iceTransportPolicy: this.options.iceTransportPolicy });
    this.pc = pc;
    for (const track of this.local?.getTracks() ?? []) pc.addTrack(track, this.local as MediaStream);
    pc.onicecandidate = (ev) => {
      if (ev.candidate !== null) this.send({ candidate: ev.candidate.toJSON() });
    };
    pc.ontrack = (ev) => {
      const stream = ev.streams[0] ?? new MediaStream([ev.track]);
      if (this.options.remoteVideo.srcObject !== stream) this.options.remoteVideo.srcObject = stream;
      void this.options.remoteVideo.play().catch(() => undefined);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      if (pc.connectionState === 'connected') this.set('connected');
      else if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed') this.set('reconnecting');
    };
    return pc;
  }

  private closePeer(): void {
    this.pendingCandidates = [];
    if (this.pc !== null) {
      this.pc.onconnectionstatechange = null;
      this.pc.close();
      this.pc = null;
    }
    this.options.remoteVideo.srcObject = null;
  }

  private send(data: Signal): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'signal', data }));
  }
}

/** The sentence for each state, from the point of view of `role`. */
export function callStateText(state: CallState, role: CallRole): string {
  const other = role === 'staff' ? 'the patient' : 'your care team';
  switch (state) {
    case 'starting':
      return 'Starting your camera and microphone…';
    case 'waiting':
      return `Waiting for ${other} to join.`;
    case 'connecting':
      return `Connecting to ${other}…`;
    case 'connected':
      return `Connected with ${other}.`;
    case 'reconnecting':
      return `The connection to ${other} was interrupted; reconnecting…`;
    case 'disconnected':
      return 'The connection was lost; trying again…';
    case 'ended':
      return 'The visit has ended.';
    case 'refused':
      return role === 'staff' ? 'You cannot join this visit: it has ended or is not in your care.' : 'This visit is over or the link is not valid.';
    case 'replaced':
      return 'You joined this visit from another window; this one has left it.';
    case 'media-error':
      return 'The camera or microphone could not be started. Allow access to them in your browser and try again.';
  }
}
