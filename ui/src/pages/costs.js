import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from 'htm/preact';

import { get } from '../api.js';
import { usd, percent } from '../format.js';
import { DailyBars } from '../chart.js';

const PERIODS = [
  { id: 'month', label: 'This month' },
  { id: '7', label: 'Last 7 days' },
  { id: '30', label: 'Last 30 days' },
];

function fromOf(period) {
  const now = new Date();
  if (period === 'month') return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  d.setUTCDate(d.getUTCDate() - Number(period) + 1);
  return d;
}

// series builds, from "day|name" groups, one value per day for each name.
function series(groups, days) {
  const index = new Map(days.map((d, i) => [d, i]));
  const byName = new Map();
  for (const g of groups || []) {
    const [day, name] = g.key.split('|');
    if (!byName.has(name)) byName.set(name, new Array(days.length).fill(0));
    const i = index.get(day);
    if (i !== undefined) byName.get(name)[i] += g.costMicros / 1e6;
  }
  return [...byName.entries()]
    .map(([name, values]) => ({ name, values, total: values.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total);
}

// CostsPage: what penny spent, what OpenAI alone would have cost, where the
// money went, and the budgets. Members see their own spend.
export function CostsPage({ user }) {
  const isAdmin = user.role === 'admin';
  const [period, setPeriod] = useState('month');
  const [m, setM] = useState(null);
  const [budgets, setBudgets] = useState(null);
  const [emails, setEmails] = useState({});
  const [error, setError] = useState('');

  useEffect(() => {
    const from = fromOf(period);
    const groupBy = ['day:provider', 'day:service', 'provider', 'service', ...(isAdmin ? ['user'] : [])].join(',');
    setM(null);
    get(`/api/costs/metrics?from=${from.toISOString().slice(0, 10)}&groupBy=${groupBy}`)
      .then(setM)
      .catch((e) => setError(e.message));
  }, [period]);
  useEffect(() => {
    get('/api/costs/budgets').then(setBudgets).catch((e) => setError(e.message));
    if (isAdmin) get('/api/admin/users').then((r) => setEmails(Object.fromEntries(r.users.map((u) => [u.id, u.email])))).catch(() => {});
  }, []);

  const days = useMemo(() => {
    if (!m) return [];
    const out = [];
    for (let d = new Date(m.from); d < new Date(m.to); d.setUTCDate(d.getUTCDate() + 1)) out.push(d.toISOString().slice(0, 10));
    return out;
  }, [m]);
  const byProvider = useMemo(() => series(m?.groups['day:provider'], days), [m, days]);
  const byService = useMemo(() => series(m?.groups['day:service'], days), [m, days]);
  const unix = useMemo(() => days.map((d) => Date.parse(d + 'T00:00:00Z') / 1000), [days]);

  const month = new Date().toISOString().slice(0, 7);
  const t = m?.total;
  return html`
    <div class="page costs">
      <div class="page-head">
        <h1>Costs</h1>
        <div class="segmented" role="group" aria-label="period">
          ${PERIODS.map((p) => html`<button key=${p.id} aria-pressed=${period === p.id} class=${period === p.id ? 'on' : ''} onClick=${() => setPeriod(p.id)}>${p.label}</button>`)}
        </div>
      </div>
      ${!isAdmin && html`<p class="hint">Your own spend. Admins see the whole instance.</p>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${budgets?.banner && html`<p class="banner warn" role="status">${budgets.banner}</p>`}
      ${!m && !error && html`<p class="hint">Adding up the ledger…</p>`}
      ${m && html`
        <div class="cards">
          <div class="card"><span class="label">Spent</span><span class="value" data-testid="spent">${usd(t.costMicros)}</span><span class="hint">${t.calls} calls${t.errors ? `, ${t.errors} failed` : ''}</span></div>
          <div class="card"><span class="label">OpenAI only would have cost</span><span class="value">${usd(t.baselineMicros)}</span><span class="hint">the same tokens on gpt-4o-mini / text-embedding-3-small</span></div>
          <div class="card good"><span class="label">Saved</span><span class="value" data-testid="saved">${usd(t.savingsMicros)}</span><span class="hint">${t.baselineMicros > 0 ? percent(t.savingsMicros / t.baselineMicros) + ' of the OpenAI-only bill' : 'nothing to compare yet'}</span></div>
          <div class="card"><span class="label">Projected this month</span><span class="value">${usd(m.projectedMonthMicros)}</span><span class="hint">vs ${usd(m.projectedMonthBaselineMicros)} OpenAI only</span></div>
          <div class="card"><span class="label">Cache saved</span><span class="value">${usd(t.cacheSavingsMicros)}</span><span class="hint">${t.cacheHits} hits, ${percent(m.cacheHitRate)} of calls${t.wasteMicros ? ` · failover waste ${usd(t.wasteMicros)}` : ''}</span></div>
        </div>
        ${t.calls === 0 && html`<div class="empty"><h2>Nothing spent yet</h2><p>Every model call is booked here with its cost and what OpenAI alone would have charged. Ask something on the Chat page or call /v1 with an API key.</p></div>`}
        ${t.calls > 0 && html`
          <div class="grid2">
            <section class="panel"><h2>Spend per day by provider</h2><${DailyBars} days=${unix} series=${byProvider} label="spend per day by provider" /></section>
            <section class="panel"><h2>Spend per day by service</h2><${DailyBars} days=${unix} series=${byService} label="spend per day by service" /></section>
          </div>
          <div class="grid2">
            <${GroupTable} title="By provider" rows=${m.groups.provider} />
            <${GroupTable} title="By service" rows=${m.groups.service} />
          </div>
          ${isAdmin && html`<${GroupTable} title="Top users" rows=${(m.groups.user || []).slice(0, 10)} name=${(k) => emails[k] || k} />`}`}
      `}
      ${budgets && html`<${Budgets} status=${budgets} emails=${emails} />`}
      <section class="panel">
        <h2>Export</h2>
        <p>The ${month} savings report, from the ledger only:${' '}
          <a href=${`/api/costs/report?month=${month}&format=md`} download>Markdown</a>${' · '}
          <a href=${`/api/costs/report?month=${month}&format=csv`} download>CSV</a>${' · '}
          <a href=${`/api/costs/statement?month=${month}`} download>usage statement (CSV)</a></p>
      </section>
    </div>
  `;
}

function GroupTable({ title, rows, name = (k) => k }) {
  return html`
    <section class="panel">
      <h2>${title}</h2>
      <div class="table-wrap"><table>
        <thead><tr><th></th><th class="num">Calls</th><th class="num">Spent</th><th class="num">OpenAI only</th><th class="num">Saved</th></tr></thead>
        <tbody>
          ${(rows || []).map((g) => html`<tr key=${g.key}>
            <td>${name(g.key)}</td><td class="num">${g.calls}</td><td class="num">${usd(g.costMicros)}</td>
            <td class="num">${usd(g.baselineMicros)}</td><td class=${'num ' + (g.savingsMicros < 0 ? 'neg' : 'pos')}>${usd(g.savingsMicros)}</td></tr>`)}
        </tbody>
      </table></div>
    </section>
  `;
}

function Budgets({ status, emails }) {
  const scopeName = (s) => {
    if (s === 'global') return 'Whole instance';
    const [kind, id] = s.split(':');
    return kind === 'user' ? emails[id] || 'You' : `API key ${id}`;
  };
  return html`
    <section class="panel budgets">
      <h2>Budgets for ${status.month}</h2>
      ${status.budgets.length === 0 && html`<p class="hint">No budget is set. Admins set monthly limits on the Settings page; at 80 % penny warns, at 100 % it stops paid calls and answers from free models.</p>`}
      ${status.budgets.map((b) => html`
        <div class=${'budget ' + b.state} key=${b.scope}>
          <div class="row"><span>${scopeName(b.scope)}</span><span>${usd(b.spentMicros)} of ${usd(b.limitMicros)} (${b.percent.toFixed(0)} %)</span></div>
          <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${Math.min(100, b.percent)} aria-label=${scopeName(b.scope) + ' budget'}>
            <span style=${{ width: Math.min(100, b.percent) + '%' }}></span>
          </div>
          ${b.state === 'exceeded' && html`<p class="error">Spent: paid models are off until next month; free models still answer.</p>`}
          ${b.state === 'warning' && html`<p class="warn">Past the warning threshold.</p>`}
        </div>`)}
    </section>
  `;
}
