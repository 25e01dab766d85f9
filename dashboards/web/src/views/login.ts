import { type Api, ApiError } from '../api.js';
import { h } from '../dom.js';
import type { LoginResponse } from '../types.js';

/**
 * The sign-in page: a labelled form; errors in a role="alert" paragraph next to it. An account
 * with a second factor is asked for its code once the password is right (401
 * RPM_ERR_AUTH_MFA_REQUIRED): the code field appears and the same form is sent again with it.
 */
export function renderLogin(root: HTMLElement, api: Api, message: string | null, onSignedIn: (res: LoginResponse) => void): void {
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', { id: 'otp', name: 'otp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', spellcheck: 'false', 'aria-describedby': 'otp-hint' });
  const codeField = h(
    'div',
    { class: 'field', hidden: true },
    h('label', { for: 'otp' }, 'Authentication code'),
    h('span', { class: 'hint', id: 'otp-hint' }, 'The 6-digit code from your authenticator app, or one of your recovery codes'),
    code,
  );
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'login-form', 'aria-describedby': 'login-error' },
    h('div', { class: 'field' }, h('label', { for: 'email' }, 'Email'), email),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    codeField,
    submit,
    error,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    const typed = code.value.replace(/\s/g, '');
    const factor = codeField.hidden || typed === '' ? {} : /^\d{6}$/.test(typed) ? { otp: typed } : { recoveryCode: typed };
    api
      .post<LoginResponse>('/v1/auth/login', { email: email.value, password: password.value, ...factor })
      .then((res) => {
        password.value = '';
        code.value = '';
        onSignedIn(res);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && (err.code === 'RPM_ERR_AUTH_MFA_REQUIRED' || err.code === 'RPM_ERR_AUTH_MFA_INVALID')) {
          codeField.hidden = false;
          code.required = true;
          error.textContent = err.code === 'RPM_ERR_AUTH_MFA_REQUIRED' ? 'Enter the code from your authenticator app.' : 'Wrong or already used code. Wait for the next code and try again.';
          code.value = '';
          code.focus();
          return;
        }
        error.textContent =
          err instanceof ApiError && err.status === 401
            ? 'Wrong email or password.'
            : err instanceof ApiError && err.status === 429
              ? 'Too many attempts. Wait a minute, then try again.'
              : `Could not sign in: ${err instanceof Error ? err.message : String(err)}`;
        password.focus();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  root.replaceChildren(
    h(
      'main',
      { id: 'main', class: 'login', tabindex: -1 },
      h('h1', null, 'RPM nurse dashboard'),
      h('p', { class: 'lede' }, 'Sign in with your staff account.'),
      message === null ? null : h('p', { class: 'notice', role: 'status' }, message),
      form,
      ssoForm(),
    ),
  );
  email.focus();
}

/**
 * Single sign-on: the organization's identity provider signs her in (OpenID Connect). The
 * gateway answers 302 to the provider for an organization that has one; the page checks that
 * first (a manual-redirect fetch) so that an organization without SSO gets a sentence, not JSON.
 */
function ssoForm(): HTMLElement {
  const org = h('input', { id: 'sso-org', name: 'organization', type: 'text', autocomplete: 'organization', spellcheck: 'false', required: true });
  // role="alert" only while it says something: the password form's alert stays the page's one.
  const error = h('p', { class: 'error', id: 'sso-error' });
  const say = (text: string): void => {
    error.setAttribute('role', 'alert');
    error.textContent = text;
  };
  const submit = h('button', { type: 'submit' }, 'Continue with single sign-on');
  const form = h(
    'form',
    { class: 'login-form sso-form', 'aria-labelledby': 'sso-heading', 'aria-describedby': 'sso-error' },
    h('h2', { id: 'sso-heading' }, 'Single sign-on'),
    h('div', { class: 'field' }, h('label', { for: 'sso-org' }, 'Organization id'), org),
    submit,
    error,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    error.removeAttribute('role');
    const url = `/v1/auth/sso/${encodeURIComponent(org.value.trim())}/start`;
    submit.disabled = true;
    fetch(url, { redirect: 'manual', cache: 'no-store', credentials: 'omit' })
      .then((res) => {
        if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400)) window.location.assign(url);
        else say('This organization does not use single sign-on here. Sign in with your email and password.');
      })
      .catch(() => {
        say('The gateway cannot be reached. Check the network connection and try again.');
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  return form;
}
