// Display helpers. Money arrives as integer micro-dollars.

export function usd(micros, { precise = false } = {}) {
  const v = (micros || 0) / 1e6;
  const abs = Math.abs(v);
  const digits = precise || (abs > 0 && abs < 0.01) ? 6 : 2;
  return (v < 0 ? '−$' : '$') + abs.toFixed(digits);
}

export function percent(x, digits = 0) {
  return x == null || Number.isNaN(x) ? '–' : (x * 100).toFixed(digits) + ' %';
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleDateString([], { month: 'short', day: 'numeric', year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric' });
}

export function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(1) + ' MiB';
}

export function ms(n) {
  return n >= 1000 ? (n / 1000).toFixed(1) + ' s' : Math.round(n) + ' ms';
}
