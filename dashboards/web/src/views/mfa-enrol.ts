import { type Api, ApiError } from '../api.js';
import { h } from '../dom.js';

interface Enrollment {
  readonly secret: string;
  readonly otpauthUri: string;
  readonly qrSvg: string;
}

/** The server's QR code (an SVG it generated) as a node: parsed as SVG, never as HTML. */
function svgNode(markup: string): Node {
  const doc = new DOMParser().parseFromString(markup, 'image/svg+xml');
  const svg = doc.documentElement;
  if (svg.nodeName !== 'svg') return h('span', null, '');
  for (const s of svg.querySelectorAll('script, foreignObject')) s.remove();
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'QR code of the authenticator secret');
  svg.setAttribute('width', '220');
  svg.setAttribute('height', '220');
  return document.importNode(svg, true);
}

/**
 * Enrolment of an authenticator app when the organization requires a second factor (the
 * session opens nothing else until it is done): the QR code and the secret, a code to prove the
 * app has it, then the recovery codes, shown once.
 */
export async function renderMfaEnrolment(root: HTMLElement, api: Api, onDone: () => void, onSignOut: () => void): Promise<void> {
  const main = h('main', { id: 'main', class: 'login', tabindex: -1 }, h('h1', null, 'Set up two-step sign-in'));
  root.replaceChildren(main);
  let enrollment: Enrollment;
  try {
    enrollment = await api.post<Enrollment>('/v1/auth/mfa/totp');
  } catch (err) {
    main.append(h('p', { class: 'error', role: 'alert' }, `Could not start: ${err instanceof Error ? err.message : String(err)}`));
    return;
  }
  const code = h('input', { id: 'enrol-otp', name: 'otp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, pattern: '[0-9]{6}' });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Turn on');
  const form = h('form', { class: 'login-form' }, h('div', { class: 'field' }, h('label', { for: 'enrol-otp' }, 'Code from the app'), code), submit, error);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    api
      .post<{ recoveryCodes: string[] }>('/v1/auth/mfa/totp/activate', { otp: code.value.replace(/\s/g, '') })
      .then((res) => {
        main.replaceChildren(
          h('h1', null, 'Two-step sign-in is on'),
          h('p', null, 'Keep these recovery codes somewhere safe (not on this computer). Each one signs you in once if you lose your phone. They are shown only now.'),
          h('ol', { class: 'recovery-codes' }, res.recoveryCodes.map((c) => h('li', null, h('code', null, c)))),
          h('button', { type: 'button', class: 'primary', onclick: onDone }, 'I have saved them: continue'),
        );
      })
      .catch((err: unknown) => {
        error.textContent = err instanceof ApiError && err.code === 'RPM_ERR_AUTH_MFA_INVALID' ? 'That code does not match. Check the time on your phone and try the next code.' : `Could not turn it on: ${err instanceof Error ? err.message : String(err)}`;
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  main.append(
    h('p', { class: 'lede' }, 'Your organization asks for a code from an authenticator app at every sign-in. Scan this code with the app, then enter the 6-digit code it shows.'),
    svgNode(enrollment.qrSvg),
    h('p', null, 'Cannot scan? Enter this key in the app: ', h('code', { class: 'secret' }, enrollment.secret)),
    form,
    h('p', null, h('button', { type: 'button', onclick: onSignOut }, 'Sign out')),
  );
  code.focus();
}
