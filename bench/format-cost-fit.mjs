// Fits each format's step cost, t(µs) = fixed + input·M·K + output·M·N + mac·M·K·N + weight·K·N,
// to bench/format-shape-grid.tsv (bench/format-shape-grid.mjs's output) by least squares on the
// relative error (every shape counts alike, small or large), with every coefficient >= 0 (a term
// that would go negative is dropped and the rest fitted again). Prints the table that
// src/model/format-cost.ts holds, and each format's median and worst relative error over the grid.
//   node bench/format-cost-fit.mjs [bench/format-shape-grid.tsv]
import { readFileSync } from 'node:fs';
const file = process.argv[2] ?? new URL('./format-shape-grid.tsv', import.meta.url);
const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('format'))
  .map((l) => l.split('\t')).map(([f, m, k, n, us]) => ({ f, m: +m, k: +k, n: +n, us: +us }));
const TERMS = ['fixed', 'input', 'output', 'mac', 'weight'];
const features = ({ m, k, n }) => [1, m * k, m * n, m * k * n, k * n];

/** least squares on the columns in `use`, each row divided by its time (relative error) */
function solve(data, use) {
  const p = use.length, a = Array.from({ length: p }, () => new Float64Array(p)), b = new Float64Array(p);
  for (const r of data) {
    const x = features(r).map((v) => v / r.us), xs = use.map((j) => x[j]);
    for (let i = 0; i < p; i++) {
      b[i] += xs[i];
      for (let j = 0; j < p; j++) a[i][j] += xs[i] * xs[j];
    }
  }
  // Gaussian elimination with partial pivoting (p <= 5)
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) piv = r;
    [a[c], a[piv]] = [a[piv], a[c]];
    [b[c], b[piv]] = [b[piv], b[c]];
    for (let r = c + 1; r < p; r++) {
      const f = a[r][c] / a[c][c];
      for (let j = c; j < p; j++) a[r][j] -= f * a[c][j];
      b[r] -= f * b[c];
    }
  }
  const x = new Float64Array(p);
  for (let c = p - 1; c >= 0; c--) {
    let s = b[c];
    for (let j = c + 1; j < p; j++) s -= a[c][j] * x[j];
    x[c] = s / a[c][c];
  }
  return x;
}

const out = {};
for (const f of [...new Set(rows.map((r) => r.f))]) {
  const data = rows.filter((r) => r.f === f);
  let use = TERMS.map((_, j) => j), x;
  for (;;) {
    x = solve(data, use);
    const neg = [...x].findIndex((v) => v < 0);
    if (neg < 0) break;
    use = use.filter((_, i) => i !== neg);
  }
  const c = Object.fromEntries(TERMS.map((t) => [t, 0]));
  use.forEach((j, i) => (c[TERMS[j]] = Number(x[i].toPrecision(3))));
  const err = data.map((r) => Math.abs(features(r).reduce((s, v, j) => s + v * c[TERMS[j]], 0) / r.us - 1)).sort((p, q) => p - q);
  out[f] = c;
  console.error(`${f}: median relative error ${(err[err.length >> 1] * 100).toFixed(0)}%, worst ${(err.at(-1) * 100).toFixed(0)}% over ${data.length} shapes`);
}
for (const [f, c] of Object.entries(out)) console.log(`  ${JSON.stringify(f)}: { ${TERMS.map((t) => `${t}: ${c[t]}`).join(', ')} },`);
