// One self-contained HTML file for people: the scheme table and a per-layer SQNR chart drawn as
// inline SVG (no scripts, no external assets).

import { writeFileSync } from 'node:fs';
import type { LayerError } from 'lowbit';

export interface HtmlReport {
  title: string;
  features: string;
  lines: number;
  rows: { scheme: string; exactMatch: number; cer: number; msPerLine: number; weightMB: number; vsFloat: number; vsOrt: number | null }[];
  layers: LayerError[];
  /** what inputs the per-layer error was measured on (e.g. '8 calibration lines') */
  layerInputs?: string;
}

/** SQNR bands of the chart and the layer table (dB against float32). */
const BANDS = [
  { below: 20, color: '#d9534f', meaning: 'below 20 dB: this layer loses visible precision; a candidate to keep at higher precision' },
  { below: 30, color: '#f0ad4e', meaning: '20–30 dB: noticeable error' },
  { below: Infinity, color: '#5cb85c', meaning: '30 dB and up: close to float32' },
];
const bandColor = (db: number) => BANDS.find((b) => db < b.below)!.color;

/** "#7 Conv 3x3 + relu (conv2d_12.w_0)": position, what ran, and the name the exporter gave its weights. */
const layerLabel = (l: LayerError, i: number) => `#${i + 1} ${l.kind}${l.name ? ` (${l.name})` : ''}`;

/** The scheme most of the reported layers ran in (the rest are float32: depthwise convolutions, outputs). */
function mainScheme(layers: LayerError[]): string {
  const n = new Map<string, number>();
  for (const l of layers) if (l.scheme !== 'float32') n.set(l.scheme, (n.get(l.scheme) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1]).map(([k]) => k).join(' / ') || 'float32';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function chart(layers: LayerError[]): string {
  const finite = layers.map((l) => (Number.isFinite(l.sqnrDb) ? l.sqnrDb : 99));
  const max = Math.max(10, ...finite);
  const bw = 14, gap = 3, h = 220, left = 40, top = 10;
  const width = left + layers.length * (bw + gap) + 10;
  const y = (v: number) => top + h - (Math.max(0, v) / max) * h;
  const bars = layers.map((l, i) => {
    const v = finite[i], x = left + i * (bw + gap);
    return `<rect x="${x}" y="${y(v).toFixed(1)}" width="${bw}" height="${(top + h - y(v)).toFixed(1)}" fill="${bandColor(v)}"><title>${esc(layerLabel(l, i))}, ${l.scheme}: ${v.toFixed(1)} dB</title></rect>`;
  });
  const ticks = [0, 10, 20, 30, 40, 50, 60].filter((t) => t <= max).map((t) => `<line x1="${left - 4}" x2="${width}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="10">${t}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h + 40}" role="img" aria-label="per-layer SQNR">${ticks.join('')}${bars.join('')}<text x="${left}" y="${h + 30}" font-size="11">layers in execution order (hover for names) · SQNR dB vs float32</text></svg>`;
}

export function renderHtmlReport(r: HtmlReport): string {
  const rows = r.rows.map((x) => `<tr><td>${esc(x.scheme)}</td><td>${(100 * x.exactMatch).toFixed(1)}%</td><td>${(100 * x.cer).toFixed(2)}%</td><td>${x.msPerLine.toFixed(1)}</td><td>${x.weightMB.toFixed(2)}</td><td>${x.vsFloat.toFixed(2)}×</td><td>${x.vsOrt === null ? '–' : `${x.vsOrt.toFixed(2)}×`}</td></tr>`);
  const layerRows = r.layers.map((l, i) => `<tr><td>#${i + 1}</td><td style="text-align:left">${esc(l.kind)}</td><td style="text-align:left">${esc(l.name)}</td><td>${l.scheme}</td><td>[${l.dims.join(', ')}]</td><td style="background:${bandColor(Number.isFinite(l.sqnrDb) ? l.sqnrDb : 99)}33">${Number.isFinite(l.sqnrDb) ? l.sqnrDb.toFixed(1) : '∞'}</td><td>${l.cosine.toFixed(5)}</td><td>${l.maxAbs.toExponential(2)}</td></tr>`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>
<h1>${esc(r.title)}</h1><p>${esc(r.features)}; ${r.lines} text lines.</p>
<table><tr><th>scheme</th><th>exact match</th><th>CER</th><th>ms/line</th><th>weights MiB</th><th>vs float32</th><th>vs ORT float</th></tr>${rows.join('')}</table>
<h2>Per-layer error: ${esc(mainScheme(r.layers))} against float32</h2>
<p>Both models run on the same inputs${r.layerInputs ? ` (${esc(r.layerInputs)})` : ''}. Each weight layer's output in the quantized model, which reads what the quantized layers before it computed (the error accumulates, as a user sees it), is held against the same layer's output in the float32 model. SQNR = 10·log10(Σ ref² / Σ (ref − quantized)²) in dB, higher is closer; cosine of the two outputs; max |err| the largest absolute difference. Layers are in execution order; the name in brackets is the weight tensor's name in the ONNX file.</p>
<p>${BANDS.map((b) => `<span style="display:inline-block;width:12px;height:12px;background:${b.color};margin-right:4px"></span>${esc(b.meaning)}`).join('<br>')}</p>
${chart(r.layers)}
<table><tr><th>#</th><th>what ran</th><th>weights</th><th>scheme</th><th>output</th><th>SQNR dB</th><th>cosine</th><th>max |err|</th></tr>${layerRows.join('')}</table>
</body></html>`;
}

export function writeHtmlReport(path: string, r: HtmlReport): void {
  writeFileSync(path, renderHtmlReport(r));
}
