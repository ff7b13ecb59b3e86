// lowbit measurements for one shape: INT8 with int32 output (MatMulInteger) and with uint8 output
// (QLinearMatMul), float32, and on the relaxed build the 7-bit 'c4' and full-range 'c2' layouts.
// Each measured call includes copying A into linear memory and the result out, as a caller sees it.

import { packQs8, runQs8, packF32, runF32 } from '../dist/kernels.js';
import { activationsU8, activationsF32, weightsI8, weightsF32, hashOf, qparams } from './data.mjs';
import { timeAsync } from './timing.mjs';

/**
 * How many copies of the weights to rotate through so that they can't stay in cache between
 * calls: enough to cover `rotateBytes` for weight-streaming shapes, one (hot) for the others.
 */
export function copiesFor(shape, bytesPerCopy, rotateBytes) {
  return shape.stream ? Math.max(1, Math.ceil(rotateBytes / bytesPerCopy)) : 1;
}

/** Times `run(copy)` over the copies in turn; returns the median seconds and the first output. */
async function timeRotating(name, copies, run, opts) {
  const first = await run(copies[0]);
  let i = 0;
  const t = await timeAsync(name, () => run(copies[i++ % copies.length]), opts);
  return { ...t, copies: copies.length, output: first };
}

function packI8Copies(rt, shape, w, count, options) {
  const zb = new Int8Array(shape.n); // symmetric weights: zero point 0
  return Array.from({ length: count }, () => packQs8(rt, w, shape.k, shape.n, zb, options));
}

function disposeAll(packs) {
  for (const p of packs) p.dispose();
}

/** Baseline build: int8 (int32 and uint8 output) and f32. */
export async function measureBaseline(rt, shape, opts, rotateBytes) {
  const { m, k, n } = shape;
  const q = qparams(shape);
  const a = activationsU8(shape);
  const packs = packI8Copies(rt, shape, weightsI8(shape), copiesFor(shape, k * n, rotateBytes));
  const u8Out = { kind: 'uint8', multiplier: new Float32Array(n).fill(q.multiplier), zeroPoint: q.yZero };
  const i32 = await timeRotating('lowbit int8', packs, (p) => runQs8(rt, a, m, q.aZero, p, { kind: 'int32' }), opts);
  const u8 = await timeRotating('lowbit int8 u8-out', packs, (p) => runQs8(rt, a, m, q.aZero, p, u8Out), opts);
  const layout = packs[0].layout;
  disposeAll(packs);

  const af = activationsF32(shape);
  const wf = weightsF32(shape);
  const fpacks = Array.from({ length: copiesFor(shape, k * n * 4, rotateBytes) }, () => packF32(rt, wf, k, n));
  const f32 = await timeRotating('lowbit f32', fpacks, (p) => runF32(rt, af, m, p), opts);
  disposeAll(fpacks);
  return { layout, i32, u8, f32, i32Hash: hashOf(i32.output) };
}

/** Relaxed build: 7-bit weights (layout c4), full-range weights (falls back to c2), and f32. */
export async function measureRelaxed(rt, shape, opts, rotateBytes) {
  const { m, k, n } = shape;
  const q = qparams(shape);
  const a = activationsU8(shape);
  const run = (p) => runQs8(rt, a, m, q.aZero, p, { kind: 'int32' });
  const copies = copiesFor(shape, k * n, rotateBytes);

  const w7 = weightsI8(shape, true);
  const packs7 = packI8Copies(rt, shape, w7, copies);
  const seven = await timeRotating('lowbit relaxed 7-bit', packs7, run, opts);
  const sevenLayout = packs7[0].layout;
  disposeAll(packs7);
  // the same 7-bit weights through the c2 layout must give the same int32 result
  const [c2of7] = packI8Copies(rt, shape, w7, 1, { allowSevenBit: false });
  const ref7 = await run(c2of7);
  c2of7.dispose();
  const sevenExact = equalArrays(seven.output, ref7);

  const packs8 = packI8Copies(rt, shape, weightsI8(shape), copies);
  const full = await timeRotating('lowbit relaxed full-range', packs8, run, opts);
  const fullLayout = packs8[0].layout;
  disposeAll(packs8);

  const af = activationsF32(shape);
  const wf = weightsF32(shape);
  const fpacks = Array.from({ length: copiesFor(shape, k * n * 4, rotateBytes) }, () => packF32(rt, wf, k, n));
  const f32 = await timeRotating('lowbit relaxed f32', fpacks, (p) => runF32(rt, af, m, p), opts);
  disposeAll(fpacks);
  return { seven, sevenLayout, sevenExact, full, fullLayout, fullHash: hashOf(full.output), f32 };
}

export function equalArrays(x, y) {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
