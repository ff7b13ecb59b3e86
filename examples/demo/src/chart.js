// The per-layer error chart: one bar per weight layer in execution order, its height the SQNR (dB)
// of the int8 layer's output against float32's, coloured by band. Plain SVG, drawn here.

/** The bands (the same as the CLI's HTML report) */
export const BANDS = [
  { below: 20, color: '#d9534f', label: 'below 20 dB: visible loss' },
  { below: 30, color: '#f0ad4e', label: '20–30 dB: noticeable' },
  { below: Infinity, color: '#5cb85c', label: '30 dB and up: close to float32' },
];
const color = (db) => BANDS.find((b) => db < b.below).color;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** a layer whose output is exactly float32's (a float layer before any int8 one) is drawn at the top */
const shown = (l) => (Number.isFinite(l.sqnrDb) ? l.sqnrDb : 99);

/** SVG markup for `layers` (LayerError[] from compareModels). */
export function layerChart(layers) {
  const values = layers.map(shown);
  const top = Math.max(40, Math.ceil(Math.max(...values.filter((v) => v < 99), 0) / 10) * 10);
  const left = 34, right = 8, h = 200, pad = 8, bw = 12, gap = 3;
  const width = left + layers.length * (bw + gap) + right;
  const y = (v) => pad + h - (Math.min(Math.max(v, 0), top) / top) * h;
  const grid = [];
  for (let t = 0; t <= top; t += 10) {
    grid.push(`<line x1="${left}" x2="${width - right}" y1="${y(t)}" y2="${y(t)}" stroke="#e3e3e3"/>`,
      `<text x="${left - 5}" y="${y(t) + 3.5}" text-anchor="end">${t}</text>`);
  }
  const bars = layers.map((l, i) => {
    const v = values[i], x = left + i * (bw + gap);
    const db = Number.isFinite(l.sqnrDb) ? `${l.sqnrDb.toFixed(1)} dB` : 'exact';
    const tip = `#${i + 1} ${l.kind}${l.name ? ` (${l.name})` : ''}, ${l.scheme}: ${db}, cosine ${l.cosine.toFixed(5)}`;
    // a layer that runs in float32 (depthwise convolutions) only carries the error of those before it: drawn pale
    const look = l.scheme === 'float32' ? `fill-opacity="0.35" stroke="${color(v)}"` : '';
    return `<rect x="${x}" y="${y(v).toFixed(1)}" width="${bw}" height="${(pad + h - y(v)).toFixed(1)}" fill="${color(v)}" ${look}><title>${esc(tip)}</title></rect>`;
  });
  const ticks = layers.map((_, i) => ((i + 1) % 5 === 0 || i === 0 ? `<text x="${left + i * (bw + gap) + bw / 2}" y="${pad + h + 14}" text-anchor="middle">${i + 1}</text>` : ''));
  return `<svg viewBox="0 0 ${width} ${pad + h + 34}" width="${width}" role="img" aria-label="per-layer SQNR of int8 against float32" font-size="10" font-family="system-ui, sans-serif">
${grid.join('')}${bars.join('')}${ticks.join('')}
<text x="${left}" y="${pad + h + 30}">layer, in execution order (hover a bar for its name) · SQNR in dB against float32, higher is closer</text>
<text transform="translate(10 ${pad + h / 2}) rotate(-90)" text-anchor="middle">dB</text></svg>`;
}

/** The `count` layers furthest from float32, as text. */
export const worstLayers = (layers, count = 3) =>
  layers.map((l, i) => ({ ...l, i })).filter((l) => Number.isFinite(l.sqnrDb)).sort((a, b) => a.sqnrDb - b.sqnrDb).slice(0, count)
    .map((l) => `#${l.i + 1} ${l.kind} (${l.name}, ${l.scheme}): ${l.sqnrDb.toFixed(1)} dB`);
