import { useEffect, useState } from 'preact/hooks';
import { html } from 'htm/preact';

import { get, post, put, del } from '../api.js';
import { when } from '../format.js';

// SettingsPage: everyone manages their API keys; admins also budgets,
// accounts and invites, and see how registration and routing tiers are set.
export function SettingsPage({ user }) {
  const isAdmin = user.role === 'admin';
  return html`
    <div class="page settings">
      <h1>Settings</h1>
      <${APIKeys} />
      ${isAdmin && html`<${BudgetSettings} /><${Accounts} me=${user} /><${Tiers} />`}
    </div>
  `;
}

function useLoad(path) {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const load = () => get(path).then((d) => { setData(d); setError(''); }).catch((e) => setError(e.message));
  useEffect(() => { load(); }, [path]);
  return [data, error, load];
}

function APIKeys() {
  const [data, loadError, load] = useLoad('/api/keys');
  const [name, setName] = useState('');
  const [rpm, setRpm] = useState('');
  const [budget, setBudget] = useState('');
  const [created, setCreated] = useState(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState('');

  const create = async (e) => {
    e.preventDefault();
    setError('');
    try {
      const body = { name: name.trim() };
      if (rpm) body.rpm = Number(rpm);
      if (budget) body.monthlyBudgetUsd = Number(budget);
      const k = await post('/api/keys', body);
      setCreated(k);
      setCopied(false);
      setName('');
      setRpm('');
      setBudget('');
      load();
    } catch (err) {
      setError(err.message);
    }
  };
  const revoke = async (k) => {
    if (!confirm(`Revoke “${k.name}”? Programs using it stop working at once.`)) return;
    try {
      await del(`/api/keys/${k.id}`);
      load();
    } catch (err) {
      setError(err.message);
    }
  };
  const copy = async () => {
    if (await copyText(created.key)) setCopied(true);
    else setError('the browser refused the clipboard; select the key and copy it by hand');
  };
  return html`
    <section class="panel" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <p class="hint">Point any OpenAI client at <code>${location.origin}/v1</code> with a key; use model <code>auto</code>, or <code>rag</code> for answers from your documents.</p>
      ${created && html`
        <div class="secret" role="status">
          <p><strong>Copy the key now — it is shown only once.</strong></p>
          <code class="key" data-testid="new-key">${created.key}</code>
          <button onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
          <button class="link" onClick=${() => setCreated(null)}>Done</button>
        </div>`}
      <form class="row-form" onSubmit=${create}>
        <label>Name <input required value=${name} onInput=${(e) => setName(e.target.value)} placeholder="reporting script" /></label>
        <label>Requests / minute <input type="number" min="0" value=${rpm} onInput=${(e) => setRpm(e.target.value)} placeholder="default" /></label>
        <label>Monthly budget (USD) <input type="number" min="0" step="0.01" value=${budget} onInput=${(e) => setBudget(e.target.value)} placeholder="no cap" /></label>
        <button type="submit" class="primary">Create key</button>
      </form>
      ${(error || loadError) && html`<p class="error" role="alert">${error || loadError}</p>`}
      ${data && data.keys.length === 0 && html`<p class="hint">No keys yet.</p>`}
      ${data && data.keys.length > 0 && html`
        <div class="table-wrap"><table>
          <thead><tr><th>Name</th><th>Key</th><th class="num">RPM</th><th class="num">Budget</th><th>Created</th><th></th></tr></thead>
          <tbody>${data.keys.map((k) => html`<tr key=${k.id}>
            <td>${k.name}</td><td><code>${k.prefix}…</code></td><td class="num">${k.rpm || 'default'}</td>
            <td class="num">${k.monthlyBudgetUsd ? '$' + k.monthlyBudgetUsd : '–'}</td><td>${when(k.createdAt)}</td>
            <td><button class="link danger" onClick=${() => revoke(k)}>Revoke</button></td></tr>`)}</tbody>
        </table></div>`}
    </section>
  `;
}

// copyText copies with the selection (works on plain http and in every
// browser), falling back to the asynchronous clipboard API.
async function copyText(text) {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'sr-only';
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  if (ok) return true;
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function BudgetSettings() {
  const [data, loadError, load] = useLoad('/api/admin/budgets');
  const [form, setForm] = useState(null);
  const [error, setError] = useState('');
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (data) setForm({ globalMonthlyUsd: data.globalMonthlyUsd, userMonthlyUsd: data.userMonthlyUsd, thresholds: data.thresholds.join(', '), webhookUrl: data.webhookUrl, webhookSecret: '' });
  }, [data]);
  if (!form) return loadError ? html`<p class="error" role="alert">${loadError}</p>` : null;
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  const save = async (e) => {
    e.preventDefault();
    setError('');
    setSaved(false);
    try {
      const body = {
        globalMonthlyUsd: Number(form.globalMonthlyUsd) || 0,
        userMonthlyUsd: Number(form.userMonthlyUsd) || 0,
        thresholds: form.thresholds.split(/[\s,]+/).filter(Boolean).map(Number),
        webhookUrl: form.webhookUrl.trim(),
      };
      if (form.webhookSecret) body.webhookSecret = form.webhookSecret;
      await put('/api/admin/budgets', body);
      setSaved(true);
      load();
    } catch (err) {
      setError(err.message);
    }
  };
  return html`
    <section class="panel" aria-labelledby="budgets-title">
      <h2 id="budgets-title">Budgets</h2>
      <p class="hint">Monthly limits on paid calls (0: none). Past a threshold penny alerts (and calls the webhook); at 100 % paid models stop and free ones still answer.</p>
      <form class="row-form" onSubmit=${save}>
        <label>Whole instance (USD / month) <input type="number" min="0" step="0.01" value=${form.globalMonthlyUsd} onInput=${set('globalMonthlyUsd')} /></label>
        <label>Each user (USD / month) <input type="number" min="0" step="0.01" value=${form.userMonthlyUsd} onInput=${set('userMonthlyUsd')} /></label>
        <label>Alert at (%) <input value=${form.thresholds} onInput=${set('thresholds')} placeholder="80, 100" /></label>
        <label>Webhook URL <input type="url" value=${form.webhookUrl} onInput=${set('webhookUrl')} placeholder="https://hooks.example.com/penny" /></label>
        <label>Webhook secret <input type="password" value=${form.webhookSecret} onInput=${set('webhookSecret')} placeholder=${data.webhookSecretSet ? 'set (leave empty to keep)' : 'not set'} autocomplete="off" /></label>
        <button type="submit" class="primary">Save budgets</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${saved && html`<p class="ok" role="status">Saved; applies at once.</p>`}
    </section>
  `;
}

function Accounts({ me }) {
  const [users, loadError, load] = useLoad('/api/admin/users');
  const [options] = useLoad('/api/auth/options');
  const [invite, setInvite] = useState(null);
  const [form, setForm] = useState({ email: '', password: '', role: 'member' });
  const [error, setError] = useState('');
  const makeInvite = async (role) => {
    setError('');
    try {
      setInvite(await post('/api/admin/invites', { role }));
    } catch (err) {
      setError(err.message);
    }
  };
  const create = async (e) => {
    e.preventDefault();
    setError('');
    try {
      await post('/api/admin/users', form);
      setForm({ email: '', password: '', role: 'member' });
      load();
    } catch (err) {
      setError(err.message);
    }
  };
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  return html`
    <section class="panel" aria-labelledby="accounts-title">
      <h2 id="accounts-title">Accounts</h2>
      ${options && html`<p>Registration is <strong>${options.registration}</strong>. <span class="hint">Set PENNY_REGISTRATION to open, invite or closed and restart to change it.</span></p>`}
      <div class="controls">
        <button onClick=${() => makeInvite('member')}>New member invite</button>
        <button onClick=${() => makeInvite('admin')}>New admin invite</button>
      </div>
      ${invite && html`<div class="secret" role="status">
        <p>Send this link (single use, expires ${when(invite.expiresAt)}):</p>
        <code class="key">${location.origin}/chat?invite=${invite.invite}</code>
      </div>`}
      <form class="row-form" onSubmit=${create}>
        <label>Email <input type="email" required value=${form.email} onInput=${set('email')} /></label>
        <label>Password <input type="password" required minlength="8" value=${form.password} onInput=${set('password')} autocomplete="new-password" /></label>
        <label>Role <select value=${form.role} onChange=${set('role')}><option value="member">member</option><option value="admin">admin</option></select></label>
        <button type="submit" class="primary">Create account</button>
      </form>
      ${(error || loadError) && html`<p class="error" role="alert">${error || loadError}</p>`}
      ${users && html`<div class="table-wrap"><table>
        <thead><tr><th>Email</th><th>Role</th><th>Since</th></tr></thead>
        <tbody>${users.users.map((u) => html`<tr key=${u.id}><td>${u.email}${u.id === me.id ? ' (you)' : ''}</td><td>${u.role}</td><td>${when(u.createdAt)}</td></tr>`)}</tbody>
      </table></div>`}
    </section>
  `;
}

function Tiers() {
  const [health, error] = useLoad('/api/health/providers');
  const chat = (health?.providers || []).filter((p) => p.kind === 'chat');
  return html`
    <section class="panel" aria-labelledby="tiers-title">
      <h2 id="tiers-title">Routing tiers</h2>
      <p class="hint">Each question is sized small, medium or large; penny tries the cheapest healthy model of that tier first, then the next. Models and their tiers come from the provider keys and PENNY_* settings (docs/configuration.md).</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="table-wrap"><table>
        <thead><tr><th>Model</th><th>Small</th><th>Medium</th><th>Large</th></tr></thead>
        <tbody>${chat.map((p) => html`<tr key=${p.provider + p.model}><td>${p.provider} / ${p.model}</td>
          ${['small', 'medium', 'large'].map((t) => html`<td>${p.tiers?.includes(t) ? '✓' : ''}</td>`)}</tr>`)}</tbody>
      </table></div>
    </section>
  `;
}
