import { type Api, ApiError } from '../api.js';
import { h } from '../dom.js';
import type { LoginResponse } from '../types.js';

/** The sign-in page: a labelled form; errors in a role="alert" paragraph next to it. */
export function renderLogin(root: HTMLElement, api: Api, message: string | null, onSignedIn: (res: LoginResponse) => void): void {
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'login-form', 'aria-describedby': 'login-error' },
    h('div', { class: 'field' }, h('label', { for: 'email' }, 'Email'), email),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    submit,
    error,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    api
      .post<LoginResponse>('/v1/auth/login', { email: email.value, password: password.value })
      .then((res) => {
        password.value = '';
        onSignedIn(res);
      })
      .catch((err: unknown) => {
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
    ),
  );
  email.focus();
}
