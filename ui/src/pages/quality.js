import { useEffect, useState } from 'preact/hooks';
import { html } from 'htm/preact';

import { get } from '../api.js';
import { usd, percent, ms } from '../format.js';

// QualityPage: per provider, model and arm, how answers fared — thumbs,
// groundedness (share of sentences their citations support), errors,
// latency and cost per answer, each with its sample count.
export function QualityPage() {
  const [report, setReport] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    get('/api/quality/report').then(setReport).catch((e) => setError(e.message));
  }, []);
  return html`
    <div class="page quality">
      <h1>Quality</h1>
      <p class="hint">This month's answers by provider, model and arm (cheap: routed by penny; control: the OpenAI-only reference users; shadow: background comparisons). Compare rows with enough samples.</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${report && report.rows.length === 0 && html`<div class="empty"><h2>No answers yet</h2><p>Rows appear as people ask questions and rate answers.</p></div>`}
      ${report && report.rows.length > 0 && html`
        <div class="table-wrap panel"><table>
          <thead><tr><th>Provider / model</th><th>Arm</th><th class="num">Answers</th><th class="num">Errors</th>
            <th class="num">Good / bad</th><th class="num">Satisfaction</th><th class="num">Groundedness</th><th class="num">p50 / p95</th><th class="num">Cost / answer</th></tr></thead>
          <tbody>
            ${report.rows.map((r) => html`<tr key=${r.provider + r.model + r.arm}>
              <td>${r.provider}<br /><span class="hint">${r.model}</span></td>
              <td><span class="badge">${r.arm}</span></td>
              <td class="num">${r.answers}</td>
              <td class="num">${r.errors} <span class="hint">(${percent(r.errorRate, 1)})</span></td>
              <td class="num">${r.up} / ${r.down}</td>
              <td class="num">${r.satisfaction == null ? html`<span class="hint">no ratings</span>` : html`${percent(r.satisfaction)} <span class="hint">n=${r.rated}</span>`}</td>
              <td class="num">${r.groundedness == null ? html`<span class="hint">–</span>` : html`${percent(r.groundedness)} <span class="hint">n=${r.groundednessSamples}</span>`}</td>
              <td class="num">${ms(r.latencyP50Ms)} / ${ms(r.latencyP95Ms)}</td>
              <td class="num">${usd(r.costPerAnswerMicros, { precise: true })}</td>
            </tr>`)}
          </tbody>
        </table></div>`}
    </div>
  `;
}
