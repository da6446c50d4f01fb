import { useEffect, useState } from 'preact/hooks';
import { html } from 'htm/preact';

import { get, put } from '../api.js';
import { percent, ms, when } from '../format.js';

const STATUS = { healthy: 'ok', degraded: 'warn', down: 'bad', unknown: '' };

// ProvidersPage: the health of every configured model, and the routing
// switches (rollback to one provider, the traffic split, shadow traffic),
// each change confirmed before it applies to every user at once.
export function ProvidersPage() {
  const [health, setHealth] = useState(null);
  const [routing, setRouting] = useState(null);
  const [error, setError] = useState('');
  const load = () => {
    get('/api/health/providers').then(setHealth).catch((e) => setError(e.message));
    get('/api/admin/routing').then(setRouting).catch((e) => setError(e.message));
  };
  useEffect(() => {
    load();
    const t = setInterval(() => get('/api/health/providers').then(setHealth).catch(() => {}), 10000);
    return () => clearInterval(t);
  }, []);

  return html`
    <div class="page providers">
      <h1>Providers</h1>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${routing && html`<${RoutingControls} routing=${routing} onSaved=${setRouting} />`}
      ${health && html`
        <section class="panel">
          <h2>Health</h2>
          <p class="hint">Search index embeddings: ${health.embeddingModel}. Refreshed every 10 s.</p>
          <div class="table-wrap"><table>
            <thead><tr><th>Provider / model</th><th>Kind</th><th>Status</th><th>Breaker</th><th class="num">Calls</th><th class="num">Errors</th><th class="num">p50 / p95</th><th>Last error</th></tr></thead>
            <tbody>
              ${health.providers.map((p) => html`<tr key=${p.provider + p.model + p.kind}>
                <td>${p.provider}<br /><span class="hint">${p.model}</span></td>
                <td>${p.kind}${p.tiers ? html`<br /><span class="hint">${p.tiers.join(', ')}</span>` : ''}</td>
                <td><span class=${'badge ' + (STATUS[p.status] ?? '')}>${p.status}</span>
                  ${p.freeNeuronsLeft != null && html`<br /><span class="hint">${Math.round(p.freeNeuronsLeft)} free neurons left today</span>`}</td>
                <td>${p.breaker}</td>
                <td class="num">${p.calls}</td>
                <td class="num">${percent(p.errorRate, 1)}</td>
                <td class="num">${p.calls ? `${ms(p.p50Ms)} / ${ms(p.p95Ms)}` : '–'}</td>
                <td>${p.lastError ? html`${p.lastError}<br /><span class="hint">${when(p.lastErrorAt)}</span>` : p.probeError || ''}</td>
              </tr>`)}
            </tbody>
          </table></div>
        </section>`}
    </div>
  `;
}

function RoutingControls({ routing, onSaved }) {
  const [force, setForce] = useState(routing.forceProvider);
  const [cheap, setCheap] = useState(routing.cheapPercent);
  const [shadow, setShadow] = useState(routing.shadowPercent);
  const [confirming, setConfirming] = useState(null);
  const [error, setError] = useState('');
  const [saved, setSaved] = useState('');

  const describe = (change) => {
    const parts = [];
    if (change.forceProvider !== undefined) parts.push(change.forceProvider ? `every chat call goes to ${change.forceProvider} (rollback switch on)` : 'calls are routed normally again (rollback switch off)');
    if (change.cheapPercent !== undefined) parts.push(`${change.cheapPercent} % of users are routed by penny, the rest stay on the OpenAI-only reference`);
    if (change.shadowPercent !== undefined) parts.push(`${change.shadowPercent} % of reference calls are repeated on the cheap arm in the background`);
    return parts.join('; ');
  };
  const apply = async () => {
    try {
      const r = await put('/api/admin/routing', confirming);
      onSaved(r);
      setSaved('Applied to every user.');
      setConfirming(null);
    } catch (e) {
      setError(e.message);
      setConfirming(null);
    }
  };
  const ask = (change) => {
    setError('');
    setSaved('');
    setConfirming(change);
  };
  return html`
    <section class="panel routing">
      <h2>Routing</h2>
      ${routing.forceProvider && html`<p class="banner warn" role="status">Rollback switch on: every chat call goes to ${routing.forceProvider}.</p>`}
      ${routing.forcedByEnvironment && html`<p class="hint">Forced by PENNY_FORCE_PROVIDER in the environment; changes here apply once it is unset.</p>`}
      <div class="controls">
        <label>Rollback switch
          <select value=${force} onChange=${(e) => setForce(e.target.value)} aria-label="force provider">
            <option value="">Off — route every call to the cheapest good model</option>
            ${routing.providers.map((p) => html`<option value=${p}>Send everything to ${p}</option>`)}
          </select>
        </label>
        <button disabled=${force === routing.forceProvider} onClick=${() => ask({ forceProvider: force })}>Apply switch</button>
      </div>
      <div class="controls">
        <label>Users routed by penny: <strong>${cheap} %</strong>
          <input type="range" min="0" max="100" step="5" value=${cheap} onInput=${(e) => setCheap(Number(e.target.value))} aria-label="cheap percent" />
        </label>
        <label>Shadow traffic: <strong>${shadow} %</strong>
          <input type="range" min="0" max="100" step="5" value=${shadow} onInput=${(e) => setShadow(Number(e.target.value))} aria-label="shadow percent" />
        </label>
        <button disabled=${cheap === routing.cheapPercent && shadow === routing.shadowPercent}
          onClick=${() => ask({ cheapPercent: cheap, shadowPercent: shadow })}>Apply traffic split</button>
      </div>
      ${confirming && html`
        <div class="confirm" role="alertdialog" aria-label="confirm routing change">
          <p>From now on, ${describe(confirming)}. This applies to every user at once.</p>
          <button class="primary" onClick=${apply}>Confirm</button>${' '}<button onClick=${() => setConfirming(null)}>Cancel</button>
        </div>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${saved && html`<p class="ok" role="status">${saved}</p>`}
    </section>
  `;
}
