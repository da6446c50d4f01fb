import { render } from 'preact';
import { useEffect, useState, useErrorBoundary } from 'preact/hooks';
import { html } from 'htm/preact';

import { get, post, onSignedOut } from './api.js';
import { navigate, usePath, Link } from './router.js';
import { SignIn } from './pages/signin.js';
import { ChatPage } from './pages/chat.js';
import { DocumentsPage } from './pages/documents.js';
import { CostsPage } from './pages/costs.js';
import { QualityPage } from './pages/quality.js';
import { ProvidersPage } from './pages/providers.js';
import { SettingsPage } from './pages/settings.js';
import './style.css';

// Routes: path prefix → page, and who sees it.
const PAGES = [
  { path: '/chat', label: 'Chat', page: ChatPage },
  { path: '/documents', label: 'Documents', page: DocumentsPage },
  { path: '/costs', label: 'Costs', page: CostsPage },
  { path: '/quality', label: 'Quality', page: QualityPage, admin: true },
  { path: '/providers', label: 'Providers', page: ProvidersPage, admin: true },
  { path: '/settings', label: 'Settings', page: SettingsPage },
];

// Guard shows a page's crash in words instead of a blank screen.
function Guard({ children }) {
  const [error, reset] = useErrorBoundary();
  if (error) {
    return html`<div class="panel error" role="alert">
      <h2>This page failed</h2>
      <p>${String(error.message || error)}</p>
      <button onClick=${reset}>Try again</button>
    </div>`;
  }
  return children;
}

function App() {
  const [user, setUser] = useState(undefined); // undefined: still asking
  const path = usePath();

  useEffect(() => {
    onSignedOut(() => setUser(null));
    get('/api/auth/me')
      .then(setUser)
      .catch(() => setUser(null));
  }, []);

  if (user === undefined) return html`<div class="loading" aria-busy="true">Loading…</div>`;
  if (user === null) {
    return html`<${SignIn} onSignedIn=${(u) => { setUser(u); if (!path.startsWith('/chat')) navigate('/chat'); }} />`;
  }

  const isAdmin = user.role === 'admin';
  const pages = PAGES.filter((p) => !p.admin || isAdmin);
  const current = pages.find((p) => path === p.path || path.startsWith(p.path + '/'));
  if (!current) {
    navigate('/chat');
    return null;
  }
  const signOut = async () => {
    await post('/api/auth/logout', {}).catch(() => {});
    setUser(null);
    navigate('/chat');
  };
  const Page = current.page;
  return html`
    <header class="top">
      <a class="brand" href="/chat" onClick=${(e) => { e.preventDefault(); navigate('/chat'); }}>penny</a>
      <nav aria-label="main">
        ${pages.map((p) => html`<${Link} href=${p.path} class=${current === p ? 'active' : ''} aria-current=${current === p ? 'page' : undefined}>${p.label}<//>`)}
      </nav>
      <div class="who">
        <span title=${user.role}>${user.email}</span>
        <button class="link" onClick=${signOut}>Sign out</button>
      </div>
    </header>
    <main id="main">
      <${Guard} key=${current.path}><${Page} user=${user} path=${path} /><//>
    </main>
  `;
}

render(html`<${App} />`, document.getElementById('app'));
