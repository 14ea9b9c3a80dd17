// The training report: one self-contained HTML file (inline CSS and SVG, no
// scripts, no external assets) so it can be mailed, archived or opened from a
// CI artifact years later and still render the same.

import type { History } from '../callbacks.js';

export interface ReportInput {
  title: string;
  createdAt: Date;
  history: History;
  /** Final metrics, in display order. */
  metrics: [label: string, value: string][];
  /** Run settings, in display order. */
  settings: [label: string, value: string][];
  /** counts[true][predicted], with what it was computed on. */
  confusion?: { matrix: number[][]; classNames: string[]; on: string };
  /** A regression's outputs against the targets, with what they were computed on and the target's name. */
  regression?: { actual: ArrayLike<number>; predicted: ArrayLike<number>; on: string; target: string };
}

const COLORS = { train: '#1f77b4', validation: '#d62728' };

export function renderReport(r: ReportInput): string {
  const h = r.history;
  const charts = [
    lineChart('Loss', [
      { name: 'training', color: COLORS.train, values: h.loss },
      { name: 'validation', color: COLORS.validation, values: h.valLoss ?? [] },
    ], false),
  ];
  if (h.accuracy || h.valAccuracy) {
    charts.push(lineChart('Accuracy', [
      { name: 'training', color: COLORS.train, values: h.accuracy ?? [] },
      { name: 'validation', color: COLORS.validation, values: h.valAccuracy ?? [] },
    ], true));
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #222; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #666; margin-bottom: 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card .k { color: #666; font-size: 12px; } .card .v { font-size: 20px; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: #444; }
table { border-collapse: collapse; }
td, th { padding: 3px 8px; }
table.kv td:first-child { color: #666; }
table.epochs td, table.epochs th { text-align: right; border-bottom: 1px solid #eee; }
table.cm td { text-align: center; min-width: 42px; border: 1px solid #fff; font-variant-numeric: tabular-nums; }
table.cm th { font-weight: normal; font-size: 12px; color: #444; }
table.cm th.rot { height: 90px; vertical-align: bottom; white-space: nowrap; }
table.cm th.rot div { writing-mode: vertical-rl; transform: rotate(180deg); }
table.cm td.sum { color: #555; background: #f6f6f6; }
.note { color: #666; font-size: 12px; }
</style>
</head>
<body>
<h1>${esc(r.title)}</h1>
<div class="sub">layerwise training report · ${esc(r.createdAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</div>
<div class="cards">
${r.metrics.map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join('\n')}
</div>
<h2>Training curves</h2>
<div class="charts">
${charts.join('\n')}
</div>
${r.confusion ? confusionTable(r.confusion) : ''}
${r.regression ? regressionPlots(r.regression) : ''}
<h2>Epochs</h2>
${epochTable(h)}
<h2>Settings</h2>
<table class="kv">
${r.settings.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('\n')}
</table>
</body>
</html>
`;
}

interface Series {
  name: string;
  color: string;
  values: number[];
}

/** An SVG line chart of per-epoch values (epochs from 1 on the x axis). */
export function lineChart(title: string, all: Series[], isFraction: boolean): string {
  const series = all.filter((s) => s.values.some(Number.isFinite));
  const W = 520, H = 300, left = 56, right = 16, top = 34, bottom = 40;
  const pw = W - left - right, ph = H - top - bottom;
  const epochs = Math.max(1, ...series.map((s) => s.values.length));
  const finite = series.flatMap((s) => s.values.filter(Number.isFinite));
  let lo = finite.length ? Math.min(...finite) : 0;
  let hi = finite.length ? Math.max(...finite) : 1;
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.05 * (Math.abs(lo) || 1), hi + 0.05 * (Math.abs(hi) || 1)];
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  if (isFraction) [lo, hi] = [Math.max(0, lo), Math.min(1, hi)];
  else lo = Math.max(0, lo);
  const ticks = niceTicks(lo, hi, 5);
  [lo, hi] = [Math.min(lo, ticks[0]), Math.max(hi, ticks[ticks.length - 1])];
  const x = (i: number): number => left + (epochs === 1 ? pw / 2 : (i * pw) / (epochs - 1));
  const y = (v: number): number => top + ph - ((v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)} per epoch">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="18" style="font-size:13px;font-weight:600;fill:#222">${esc(title)}</text>`);
  for (const t of ticks) {
    const yy = y(t).toFixed(1);
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${esc(formatTick(t, isFraction))}</text>`);
  }
  const step = Math.max(1, Math.ceil(epochs / 10));
  for (let e = 1; e <= epochs; e += step) {
    parts.push(`<text x="${x(e - 1).toFixed(1)}" y="${top + ph + 16}" text-anchor="middle">${e}</text>`);
  }
  parts.push(`<text x="${left + pw / 2}" y="${H - 6}" text-anchor="middle">epoch</text>`);
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + ph}" stroke="#999"/>`);
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${top + ph}" y2="${top + ph}" stroke="#999"/>`);
  for (const s of series) {
    const pts = s.values.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
  }
  // Legend, top right.
  series.forEach((s, i) => {
    const lx = W - right - 190 + i * 95;
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="14" y2="14" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 22}" y="14" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  if (series.length === 0) parts.push(`<text x="${left + pw / 2}" y="${top + ph / 2}" text-anchor="middle">no data</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** Predicted against actual (with the y = x line) and residuals against predicted, as two SVG scatter plots. */
function regressionPlots(r: NonNullable<ReportInput['regression']>): string {
  const actual = Array.from(r.actual);
  const predicted = Array.from(r.predicted);
  const residuals = predicted.map((p, i) => actual[i] - p);
  return `<h2>Regression: ${esc(r.target)} (${esc(r.on)})</h2>
<div class="charts">
${scatterChart('Predicted vs actual', predicted, actual, `predicted ${r.target}`, `actual ${r.target}`, 'diagonal')}
${scatterChart('Residuals (actual − predicted)', predicted, residuals, `predicted ${r.target}`, 'residual', 'zero')}
</div>`;
}

/** An SVG scatter plot, at most 2000 points (evenly sampled), with a reference line. */
export function scatterChart(title: string, xs: number[], ys: number[], xLabel: string, yLabel: string, reference: 'diagonal' | 'zero'): string {
  const W = 520, H = 320, left = 60, right = 16, top = 34, bottom = 44;
  const pw = W - left - right, ph = H - top - bottom;
  const every = Math.max(1, Math.ceil(xs.length / 2000));
  const points = xs.map((x, i) => [x, ys[i]]).filter((p, i) => i % every === 0 && p.every(Number.isFinite));
  const range = (values: number[]): [number, number] => {
    let lo = values.length ? Math.min(...values) : 0;
    let hi = values.length ? Math.max(...values) : 1;
    if (hi - lo < 1e-9) [lo, hi] = [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.06;
    return [lo - pad, hi + pad];
  };
  let [xlo, xhi] = range(points.map((p) => p[0]));
  let [ylo, yhi] = range(points.map((p) => p[1]));
  if (reference === 'diagonal') [xlo, xhi, ylo, yhi] = [Math.min(xlo, ylo), Math.max(xhi, yhi), Math.min(xlo, ylo), Math.max(xhi, yhi)];
  const X = (v: number): number => left + ((v - xlo) / (xhi - xlo)) * pw;
  const Y = (v: number): number => top + ph - ((v - ylo) / (yhi - ylo)) * ph;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`];
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="18" style="font-size:13px;font-weight:600;fill:#222">${esc(title)}</text>`);
  for (const t of niceTicks(ylo, yhi, 5).filter((t) => t >= ylo && t <= yhi)) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${Y(t).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${esc(formatTick(t, false))}</text>`);
  }
  for (const t of niceTicks(xlo, xhi, 5).filter((t) => t >= xlo && t <= xhi)) {
    parts.push(`<text x="${X(t).toFixed(1)}" y="${top + ph + 16}" text-anchor="middle">${esc(formatTick(t, false))}</text>`);
  }
  parts.push(`<text x="${left + pw / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text x="14" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + ph / 2})">${esc(yLabel)}</text>`);
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + ph}" stroke="#999"/>`);
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${top + ph}" y2="${top + ph}" stroke="#999"/>`);
  if (reference === 'diagonal') {
    parts.push(`<line x1="${X(xlo).toFixed(1)}" y1="${Y(xlo).toFixed(1)}" x2="${X(xhi).toFixed(1)}" y2="${Y(xhi).toFixed(1)}" stroke="#999" stroke-dasharray="4 3"/>`);
  } else if (ylo < 0 && yhi > 0) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${Y(0).toFixed(1)}" y2="${Y(0).toFixed(1)}" stroke="#999" stroke-dasharray="4 3"/>`);
  }
  for (const [x, y] of points) parts.push(`<circle class="point" cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${COLORS.train}" fill-opacity="0.6"/>`);
  if (points.length === 0) parts.push(`<text x="${left + pw / 2}" y="${top + ph / 2}" text-anchor="middle">no data</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks.length >= 2 ? ticks : [lo, hi];
}

function formatTick(t: number, isFraction: boolean): string {
  if (isFraction) return `${Number((100 * t).toPrecision(6))}%`;
  return String(Number(t.toPrecision(6)));
}

/** Rows are true classes, columns predictions; each cell shaded by its share of the row. */
function confusionTable(c: NonNullable<ReportInput['confusion']>): string {
  const k = c.matrix.length;
  const name = (i: number): string => c.classNames[i] ?? String(i);
  const colTotals = Array.from({ length: k }, (_, j) => c.matrix.reduce((s, row) => s + row[j], 0));
  const rows = c.matrix.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    const cells = row.map((count, j) => {
      const share = total === 0 ? 0 : count / total;
      // Diagonal (right) in blue, mistakes in red, both by share of the row.
      const hue = i === j ? '31, 119, 180' : '214, 39, 40';
      const alpha = count === 0 ? 0 : 0.08 + 0.92 * share;
      const ink = alpha > 0.55 ? '#fff' : '#222';
      return `<td style="background: rgba(${hue}, ${alpha.toFixed(3)}); color: ${ink}" title="true ${esc(name(i))}, predicted ${esc(name(j))}: ${count} (${(100 * share).toFixed(1)}% of the row)">${count}</td>`;
    });
    const recall = total === 0 ? '–' : `${((100 * row[i]) / total).toFixed(1)}%`;
    return `<tr><th style="text-align:right">${esc(name(i))}</th>${cells.join('')}<td class="sum">${recall}</td></tr>`;
  });
  const precision = colTotals.map((t, j) => `<td class="sum">${t === 0 ? '–' : `${((100 * c.matrix[j][j]) / t).toFixed(1)}%`}</td>`);
  const correct = c.matrix.reduce((s, row, i) => s + row[i], 0);
  const all = colTotals.reduce((a, b) => a + b, 0);
  return `<h2>Confusion matrix</h2>
<div class="note">${esc(c.on)}: ${all} samples, ${correct} classified correctly. Rows: true class; columns: predicted class. Blue: right, red: wrong, darker = larger share of the row.</div>
<table class="cm">
<tr><th style="text-align:right">true \\ predicted</th>${Array.from({ length: k }, (_, j) => `<th class="rot"><div>${esc(name(j))}</div></th>`).join('')}<th class="rot"><div>recall</div></th></tr>
${rows.join('\n')}
<tr><th style="text-align:right">precision</th>${precision.join('')}<td></td></tr>
</table>`;
}

function epochTable(h: History): string {
  const cols: [string, number[] | undefined, (v: number) => string][] = [
    ['loss', h.loss, (v) => v.toFixed(4)],
    ['accuracy', h.accuracy, (v) => `${(100 * v).toFixed(2)}%`],
    ['val loss', h.valLoss, (v) => v.toFixed(4)],
    ['val accuracy', h.valAccuracy, (v) => `${(100 * v).toFixed(2)}%`],
    ['seconds', h.seconds, (v) => v.toFixed(1)],
  ];
  const present = cols.filter(([, values]) => values && values.length > 0);
  const head = `<tr><th>epoch</th>${present.map(([n]) => `<th>${n}</th>`).join('')}</tr>`;
  const body = h.loss.map((_, i) => `<tr><td>${i + 1}</td>${present.map(([, v, f]) => `<td>${v![i] === undefined ? '' : f(v![i])}</td>`).join('')}</tr>`);
  return `<table class="epochs">\n${head}\n${body.join('\n')}\n</table>`;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
