import './visit.css';
import { type CallState, callStateText, VideoCall } from './call.js';
import type { PatientEntryView } from './types.js';

/**
 * The patient's page (GET /visit#<token>). The token after `#` never reaches a server log or a
 * Referer; it is taken out of the address bar at once and sent once to the gateway, which answers
 * a session for this visit (kept in this tab only, so a reload rejoins). Nothing on the page names
 * the patient or says why the visit is held; a used or expired link shows one sentence.
 */

const SESSION_KEY = 'rpm.visit.session';
const main = document.getElementById('visit') as HTMLElement;
const status = document.getElementById('visit-status') as HTMLElement;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function say(text: string, state: string): void {
  status.textContent = text;
  status.dataset.state = state;
}

function invalid(): void {
  sessionStorage.removeItem(SESSION_KEY);
  say('This link is not valid. It may have been used already or expired. Please ask your care team for a new link.', 'invalid');
}

async function entry(): Promise<PatientEntryView | 'invalid' | 'offline'> {
  const token = location.hash.slice(1);
  if (token !== '') history.replaceState(null, '', location.pathname);
  const session = sessionStorage.getItem(SESSION_KEY);
  const request =
    token !== ''
      ? fetch('/v1/visit-links/redeem', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ token }), cache: 'no-store', credentials: 'omit' })
      : session !== null
        ? fetch('/v1/visit-session', { headers: { authorization: `Bearer ${session}`, accept: 'application/json' }, cache: 'no-store', credentials: 'omit' })
        : null;
  if (request === null) return 'invalid';
  try {
    const res = await request;
    if (!res.ok) return 'invalid';
    const body = (await res.json()) as PatientEntryView;
    sessionStorage.setItem(SESSION_KEY, body.sessionToken);
    return body;
  } catch {
    return 'offline';
  }
}

function ready(e: PatientEntryView): void {
  const join = e.join;
  if (join.provider !== 'embedded') {
    say('Your care team is ready. Open the visit to join.', 'ready');
    main.append(el('a', { class: 'button primary', href: join.joinUrl ?? '#', rel: 'noopener noreferrer' }, 'Open the visit'));
    return;
  }
  const audioOnly = e.modality === 'audio';
  say(audioOnly ? 'Your care team is ready for a call. Your microphone will be used.' : 'Your care team is ready. Your camera and microphone will be used.', 'ready');
  const start = el('button', { type: 'button', class: 'primary', id: 'join' }, audioOnly ? 'Join the call' : 'Join the video visit');
  main.append(start);
  start.addEventListener('click', () => {
    start.remove();
    const stage = el('div', { class: 'stage' });
    const remote = el('video', { class: 'remote-video', autoplay: '', playsinline: '', 'aria-label': 'Your care team’s video' });
    const local = el('video', { class: 'local-video', autoplay: '', playsinline: '', 'aria-label': 'Your video (preview)' });
    local.muted = true;
    stage.append(remote, local);
    const controls = el('div', { class: 'controls' });
    main.append(stage, controls);
    const call = new VideoCall({
      signalingPath: join.signalingPath,
      visitId: e.visitId,
      role: 'patient',
      token: e.sessionToken,
      iceServers: join.iceServers,
      iceTransportPolicy: join.iceTransportPolicy,
      audioOnly,
      localVideo: local,
      remoteVideo: remote,
      onState: (state: CallState) => {
        say(callStateText(state, 'patient'), state);
        if (state === 'ended' || state === 'refused' || state === 'replaced') {
          stage.remove();
          controls.remove();
          if (state !== 'replaced') sessionStorage.removeItem(SESSION_KEY);
        }
      },
    });
    const mic = el('button', { type: 'button', 'aria-pressed': 'false' }, 'Mute microphone');
    mic.addEventListener('click', () => mic.setAttribute('aria-pressed', String(!call.toggleAudio())));
    controls.append(mic);
    if (!audioOnly) {
      const cam = el('button', { type: 'button', 'aria-pressed': 'false' }, 'Turn camera off');
      cam.addEventListener('click', () => cam.setAttribute('aria-pressed', String(!call.toggleVideo())));
      controls.append(cam);
    }
    const leave = el('button', { type: 'button' }, 'Leave');
    leave.addEventListener('click', () => {
      call.hangUp();
      stage.remove();
      controls.remove();
      say('You left the visit. To join again, reload this page.', 'left');
    });
    controls.append(leave);
    void call.start();
  });
}

void entry().then((e) => {
  if (e === 'invalid') invalid();
  else if (e === 'offline') say('The connection failed. Check your internet connection and reload this page.', 'offline');
  else ready(e);
});
