import { it } from 'vitest';
import { obcPrune } from '../src/quant/obc.js';
import { applyMask, pruneMask } from '../src/quant/prune.js';
import { rowQuadForms } from '../src/quant/hessian.js';
import { randNormal, rng } from './helpers.js';
function randomHessian(k: number, r: () => number, mixAmt = 0.4): Float64Array {
  const rows = 3 * k, z = randNormal(rows * k, r), mix = randNormal(k * k, r);
  const x = new Float64Array(rows * k);
  for (let s = 0; s < rows; s++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) x[s * k + i] += z[s * k + j] * (mix[j * k + i] * mixAmt + (i === j ? 1 : 0));
  const h = new Float64Array(k * k);
  for (let s = 0; s < rows; s++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j] += (x[s * k + i] * x[s * k + j]) / rows;
  return h;
}
it('scratch', () => {
  for (const mixAmt of [0.1, 0.4]) for (const k of [40, 128]) {
    const n = 16, r = rng(k);
    const w = randNormal(n * k, r), h = randomHessian(k, r, mixAmt);
    const tot = (a: ArrayLike<number>) => rowQuadForms(h, k, w, a, n).reduce((s, v) => s + v, 0);
    const mag = tot(applyMask(w, pruneMask(w, n, k, { kind: 'unstructured' }, 0.5).mask));
    const ex = tot(obcPrune(w, n, k, h, { kind: 'unstructured' }, 0.5, { exactBudget: Infinity }).w);
    const res = [mixAmt, k, 'mag', mag.toFixed(1), 'exact', ex.toFixed(1)];
    for (const bs of [4, 16, 32, 128]) res.push(`bs${bs}`, tot(obcPrune(w, n, k, h, { kind: 'unstructured' }, 0.5, { exactBudget: 0, blockColumns: bs }).w).toFixed(1));
    console.log(res.join(' '));
  }
});
