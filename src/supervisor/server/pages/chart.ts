import type { GenerationRecord } from "../../../../schemas/generation-record.ts";
import { totalTokens } from "../../../shared/events.ts";
import { html, raw, type SafeHtml } from "../../../shared/web/html.ts";
import { fitnessOf, formatFitness } from "./format.ts";

const W = 640;
const H = 270;
const M = { top: 28, right: 46, bottom: 34, left: 56 };

/** 1, 2 or 5 times a power of ten, at least `v`: axis maxima a reader can divide in their head. */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fixed = (n: number): string => (Math.round(n * 10) / 10).toString();

/** Axis labels: 0, 250, 12.5k, 1.5M. */
function axisTokens(n: number): string {
  if (n >= 1_000_000) return `${Number((n / 1_000_000).toFixed(2))}M`;
  if (n >= 1000) return `${Number((n / 1000).toFixed(1))}k`;
  return String(Math.round(n));
}

/**
 * Tokens (bars, coloured by outcome) and fitness (points joined by a line) per generation, as inline
 * SVG drawn from the records. Every bar and point carries data-generation so tests and links find it.
 */
export function renderChart(records: readonly GenerationRecord[]): SafeHtml {
  const rs = [...records].sort((a, b) => a.generation - b.generation);
  if (rs.length === 0) {
    return html`<p class="muted" id="chart-empty">The chart appears with the first generation.</p>`;
  }
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const band = pw / rs.length;
  const barW = Math.max(2, Math.min(28, band * 0.64));
  const tokenMax = niceCeil(Math.max(1000, ...rs.map((r) => totalTokens(r.tokens))));
  const fits = rs.map(fitnessOf).filter((f): f is number => f !== null);
  const fMin = Math.min(0, ...fits);
  const fMax = Math.max(1, ...fits);
  const xOf = (i: number) => M.left + band * (i + 0.5);
  const yTok = (t: number) => M.top + ph - (t / tokenMax) * ph;
  const yFit = (f: number) => M.top + ph - ((f - fMin) / (fMax - fMin)) * ph;

  const grid = [0, 0.25, 0.5, 0.75, 1].map((q) => {
    const y = fixed(M.top + ph - q * ph);
    return html`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}"/>
<text class="axis" x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${axisTokens(q * tokenMax)}</text>
<text class="axis fit" x="${W - M.right + 6}" y="${y}" dominant-baseline="middle">${formatFitness(fMin + q * (fMax - fMin))}</text>`;
  });
  const every = Math.ceil(rs.length / 16);
  const bars = rs.map((r, i) => {
    const t = totalTokens(r.tokens);
    // A hairline even at zero tokens, so every generation is visibly there.
    const y = Math.min(yTok(t), M.top + ph - 1.5);
    const label =
      i % every === 0 || i === rs.length - 1
        ? html`<text class="axis" x="${fixed(xOf(i))}" y="${H - M.bottom + 14}" text-anchor="middle">${r.generation}</text>`
        : "";
    return html`<a href="/generations/${r.generation}"><rect class="bar o-${r.outcome}" data-generation="${r.generation}" x="${fixed(xOf(i) - barW / 2)}" y="${fixed(y)}" width="${fixed(barW)}" height="${fixed(M.top + ph - y)}"><title>gen-${r.generation} (${r.outcome}): ${t.toLocaleString("en-US")} tokens</title></rect></a>${label}`;
  });
  const points = rs.flatMap((r, i) => {
    const f = fitnessOf(r);
    return f === null ? [] : [{ x: xOf(i), y: yFit(f), f, n: r.generation }];
  });
  const line =
    points.length > 1
      ? html`<polyline class="fit-line" points="${points.map((p) => `${fixed(p.x)},${fixed(p.y)}`).join(" ")}"/>`
      : "";
  const dots = points.map(
    (p) =>
      html`<circle class="fit-point" data-generation="${p.n}" cx="${fixed(p.x)}" cy="${fixed(p.y)}" r="4"><title>gen-${p.n}: fitness ${formatFitness(p.f)}</title></circle>`,
  );
  return html`<svg id="chart-svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="Tokens and fitness per generation">
${grid}
<text class="axis-title" x="${M.left - 6}" y="${M.top - 16}" text-anchor="end">tokens</text>
<text class="axis-title fit" x="${W - M.right + 6}" y="${M.top - 16}">fitness</text>
${bars}${line}${dots}
<text class="axis-title" x="${M.left + pw / 2}" y="${H - 4}" text-anchor="middle">generation</text>
</svg>
<p class="legend muted"><span class="key bar-key"></span>tokens, coloured by outcome <span class="key fit-key"></span>fitness</p>`;
}

export const CHART_CSS = raw(`
#chart-svg{width:100%;height:auto;display:block}
#chart-svg .grid{stroke:var(--line);stroke-width:1}
#chart-svg .axis{fill:var(--muted);font-size:10.5px}
#chart-svg .axis-title{fill:var(--muted);font-size:10.5px;font-weight:600}
#chart-svg .fit{fill:var(--accent)}
#chart-svg .bar{fill:currentColor;fill-opacity:.55;stroke:currentColor;stroke-width:1}
#chart-svg a:hover .bar,#chart-svg a:focus .bar{fill-opacity:.9}
#chart-svg .fit-line{fill:none;stroke:var(--accent);stroke-width:2}
#chart-svg .fit-point{fill:var(--panel);stroke:var(--accent);stroke-width:2}
.legend{font-size:12px;margin:6px 0 0}
.key{display:inline-block;width:12px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
.bar-key{background:var(--ok);opacity:.6}.fit-key{height:3px;background:var(--accent)}
`).value;
