// A thin Preact wrapper around uPlot: daily series as stacked bars.
import { useEffect, useRef } from 'preact/hooks';
import { html } from 'htm/preact';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export const PALETTE = ['#b87333', '#2f6f9f', '#4f8f4a', '#8a5a9f', '#c0504d', '#6b7280', '#d4a017'];

// stack turns per-series values into cumulative ones (the bars' tops).
function stack(series) {
  const out = [];
  let below = series[0] ? series[0].map(() => 0) : [];
  for (const s of series) {
    below = s.map((v, i) => below[i] + (v || 0));
    out.push(below);
  }
  return out;
}

// DailyBars draws days (unix seconds) × named series (dollars) as stacked
// bars, with a legend; the aria-label carries the totals for screen readers.
export function DailyBars({ days, series, label }) {
  const el = useRef(null);
  useEffect(() => {
    if (!el.current || days.length === 0) return;
    const stacked = stack(series.map((s) => s.values));
    const bars = uPlot.paths.bars({ size: [0.7, 40] });
    const opts = {
      width: el.current.clientWidth || 600,
      height: 240,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [{}, { values: (u, ticks) => ticks.map((t) => '$' + t.toFixed(t < 1 ? 3 : 2)), size: 70 }],
      series: [
        {},
        // Drawn top-down so each bar's lower part covers the one above it.
        ...series.map((s, i) => ({
          label: s.name,
          stroke: PALETTE[i % PALETTE.length],
          fill: PALETTE[i % PALETTE.length],
          paths: bars,
          points: { show: false },
          value: (u, v, si, di) => (di == null ? '' : '$' + (series[i].values[di] || 0).toFixed(4)),
        })),
      ],
    };
    const data = [days, ...stacked];
    // Draw the biggest stack first so the smaller ones sit on top of it.
    opts.series = [opts.series[0], ...opts.series.slice(1).reverse()];
    const plot = new uPlot(opts, [data[0], ...data.slice(1).reverse()], el.current);
    const resize = () => plot.setSize({ width: el.current.clientWidth, height: 240 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [days, series]);
  const totals = series.map((s) => `${s.name} $${s.values.reduce((a, b) => a + (b || 0), 0).toFixed(2)}`).join(', ');
  return html`<figure class="chart" role="img" aria-label=${`${label}: ${totals}`}><div ref=${el}></div></figure>`;
}
