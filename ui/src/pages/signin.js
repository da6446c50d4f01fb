import { useEffect, useState } from 'preact/hooks';
import { html } from 'htm/preact';

import { get, post } from '../api.js';

// SignIn offers sign-in and, as the registration mode allows, registration
// (with an invite code in invite mode; the very first account is the admin).
export function SignIn({ onSignedIn }) {
  const [options, setOptions] = useState(null);
  const [mode, setMode] = useState('signin');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [invite, setInvite] = useState(new URLSearchParams(location.search).get('invite') || '');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    get('/api/auth/options')
      .then((o) => {
        setOptions(o);
        if (o.firstUser || invite) setMode('register');
      })
      .catch((e) => setError(e.message));
  }, []);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const body = { email, password };
      if (mode === 'register' && invite) body.invite = invite.trim();
      const s = await post(mode === 'register' ? '/api/auth/register' : '/api/auth/login', body);
      onSignedIn(s.user);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };

  const canRegister = options && (options.firstUser || options.registration !== 'closed');
  const registering = mode === 'register';
  return html`
    <div class="signin">
      <form class="panel" onSubmit=${submit} aria-labelledby="signin-title">
        <h1 id="signin-title">penny</h1>
        ${options?.firstUser
          ? html`<p class="hint">Welcome. Create the first account: it becomes the admin of this penny.</p>`
          : html`<p class="hint">Answers from your documents, with sources you can check.</p>`}
        <label>Email <input type="email" name="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.target.value)} /></label>
        <label>Password
          <input type="password" name="password" required minlength=${registering ? 8 : undefined}
            autocomplete=${registering ? 'new-password' : 'current-password'} value=${password} onInput=${(e) => setPassword(e.target.value)} />
        </label>
        ${registering && !options?.firstUser && options?.registration === 'invite' &&
          html`<label>Invite code <input name="invite" required value=${invite} onInput=${(e) => setInvite(e.target.value)} /></label>
            <p class="hint">Registration needs an invite code from an admin.</p>`}
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" class="primary" disabled=${busy}>${registering ? (options?.firstUser ? 'Create admin account' : 'Create account') : 'Sign in'}</button>
        ${canRegister && !options.firstUser &&
          html`<p class="switch">
            ${registering
              ? html`Have an account? <button type="button" class="link" onClick=${() => setMode('signin')}>Sign in</button>`
              : html`New here? <button type="button" class="link" onClick=${() => setMode('register')}>Create an account</button>`}
          </p>`}
        ${options && options.registration === 'closed' && !options.firstUser &&
          html`<p class="hint">Registration is closed: ask an admin to create your account.</p>`}
      </form>
    </div>
  `;
}
