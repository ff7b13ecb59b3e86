// The model planner: liveness-based memory reuse in the activation arena, views (Reshape & co.)
// without buffers, plans cached per input shape, outputs kept alive, repeatable runs.
// Every plan here is also checked for overlaps: two buffers whose lifetimes meet never share bytes.

import { describe, expect, it } from 'vitest';
import { loadModel, type Model, type Plan, type PlanValue } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel, type Feed } from './onnx-builder.js';

const rts = useRuntimes();

const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function X(dims: number[], seed = 1): Feed {
  return { type: 'float32', dims, data: randNormal(count(dims), rng(seed)) };
}

const rootOf = (v: PlanValue) => v.root ?? v;

/** Every arena buffer, with the steps it lives across and its bytes in the arena. */
function buffers(plan: Plan) {
  const live = new Map<PlanValue, { first: number; last: number }>();
  const touch = (v: PlanValue | null, i: number) => {
    if (!v || v.value || v.type !== 'float32') return;
    const r = rootOf(v);
    const l = live.get(r) ?? { first: i, last: i };
    l.first = Math.min(l.first, i);
    l.last = Math.max(l.last, i);
    live.set(r, l);
  };
  for (const v of plan.inputs) touch(v, -1);
  plan.steps.forEach((s, i) => [...s.ins, ...s.outs].forEach((v) => touch(v, i)));
  for (const v of [...plan.inputs, ...plan.outputs]) touch(v, Infinity);
  return live;
}

/** No two buffers (or a step's scratch and a buffer) live at the same step overlap in the arena; all fit. */
function expectNoOverlap(plan: Plan): void {
  const live = [...buffers(plan)].map(([v, l]) => ({ name: v.name, lo: v.offset, hi: v.offset + v.bytes, ...l }));
  plan.steps.forEach((s, i) => {
    if (s.scratch.bytes > 0) live.push({ name: `${s.label} scratch`, lo: s.scratch.offset, hi: s.scratch.offset + s.scratch.bytes, first: i, last: i });
  });
  for (const a of live) {
    expect(a.lo, `${a.name} offset`).toBeGreaterThanOrEqual(0);
    expect(a.hi, `${a.name} end`).toBeLessThanOrEqual(plan.arenaBytes);
  }
  for (let i = 0; i < live.length; i++) {
    for (let j = i + 1; j < live.length; j++) {
      const a = live[i], b = live[j];
      const together = a.first <= b.last && b.first <= a.last;
      const overlap = a.lo < b.hi && b.lo < a.hi;
      expect(together && overlap, `${a.name} [${a.lo}, ${a.hi}) steps ${a.first}…${a.last} and ${b.name} [${b.lo}, ${b.hi}) steps ${b.first}…${b.last}`).toBe(false);
    }
  }
  // views have their root's offset
  for (const s of plan.steps) for (const v of [...s.ins, ...s.outs]) if (v?.root && !v.value) expect(v.offset).toBe(v.root.offset);
  for (const v of plan.outputs) if (v.root) expect(v.offset).toBe(v.root.offset);
}

/** The most bytes any one step needs at once: its distinct arena inputs and outputs. */
function stepPeak(plan: Plan): number {
  let peak = 0;
  for (const s of plan.steps) {
    const roots = new Set([...s.ins, ...s.outs].flatMap((v) => (v && !v.value && v.type === 'float32' ? [rootOf(v)] : [])));
    peak = Math.max(peak, [...roots].reduce((a, v) => a + v.bytes, 0) + s.scratch.bytes);
  }
  return peak;
}

/** Runs the model in lowbit and in onnxruntime-web, and compares. */
async function runBoth(model: Model, bytes: Uint8Array, feeds: Record<string, Feed>, tol = 1e-5) {
  const got = await model.run(feeds);
  const want = await runOrtModel(bytes, feeds);
  for (const [name, w] of Object.entries(want)) {
    expect(got[name].dims, name).toEqual(w.dims);
    let diff = 0, scale = 1;
    for (let i = 0; i < w.data.length; i++) {
      diff = Math.max(diff, Math.abs(got[name].data[i] - w.data[i]));
      scale = Math.max(scale, Math.abs(w.data[i]));
    }
    expect(diff, `${name}: max |lowbit - ort|`).toBeLessThanOrEqual(tol * scale);
  }
  return got;
}

const UNARY_CHAIN = ['Relu', 'Tanh', 'Neg', 'Abs', 'Sigmoid', 'Exp', 'Neg', 'Tanh', 'Abs', 'Sigmoid', 'Neg', 'Relu'];

describe(`model plans (${SIMD} build)`, () => {
  it('a chain of 12 elementwise ops reuses memory: arena = input + output + 2 ping-pong buffers, far below the sum', async () => {
    const dims = [1, 16, 32, 32], bytes = count(dims) * 4;
    const b = new OnnxBuilder(13).input('x', dims).output('y');
    UNARY_CHAIN.forEach((op, i) => b.node(op, [i ? `t${i - 1}` : 'x'], i === UNARY_CHAIN.length - 1 ? 'y' : `t${i}`));
    const onnx = b.build();
    const model = loadModel(rts.one, onnx);
    try {
      const plan = model.plan({ x: dims });
      expect(plan.steps.length).toBe(12);
      expect(plan.unsharedBytes).toBe(13 * bytes);
      expect(plan.arenaBytes).toBeLessThan(plan.unsharedBytes);
      expect(plan.arenaBytes).toBeGreaterThanOrEqual(2 * bytes); // a step's input and output
      expect(plan.arenaBytes).toBeLessThanOrEqual(4 * bytes);
      expectNoOverlap(plan);
      await runBoth(model, onnx, { x: X(dims, 1) });
    } finally {
      model.dispose();
    }
  });

  it('a conv network (im2col scratch, depthwise, 1x1, layout conversions, residual Add) fits below the sum and never overlaps', async () => {
    const dims = [1, 3, 24, 20];
    const b = new OnnxBuilder(13).input('x', dims).output('y');
    const conv = (x: string, y: string, cin: number, cout: number, k: number, group = 1, stride = 1, seed = 1) => {
      b.init(`${y}.w`, [cout, cin / group, k, k], Array.from(randNormal(cout * (cin / group) * k * k, rng(seed), 1 / Math.sqrt((cin / group) * k * k))));
      b.init(`${y}.b`, [cout], Array.from(randNormal(cout, rng(seed + 100), 0.1)));
      const p = (k - 1) >> 1;
      b.node('Conv', [x, `${y}.w`, `${y}.b`], y, { kernel_shape: [k, k], pads: [p, p, p, p], strides: [stride, stride], group });
    };
    conv('x', 'c1', 3, 8, 3, 1, 2, 1);
    b.node('Relu', ['c1'], 'r1');
    conv('r1', 'c2', 8, 8, 3, 8, 1, 2);
    b.node('Relu', ['c2'], 'r2');
    conv('r2', 'c3', 8, 8, 1, 1, 1, 3);
    b.node('Add', ['c3', 'r1'], 'a3');
    conv('a3', 'c4', 8, 16, 3, 1, 2, 4);
    b.node('Sigmoid', ['c4'], 's4');
    b.node('Softmax', ['s4'], 'sm', { axis: 1 });
    b.node('ReduceMean', ['sm'], 'rm', { axes: [2], keepdims: 0 });
    b.node('Transpose', ['rm'], 'y', { perm: [0, 2, 1] });
    const onnx = b.build();
    const model = loadModel(rts.one, onnx);
    try {
      const plan = model.plan({ x: dims });
      expect(plan.steps.length).toBeGreaterThanOrEqual(10);
      expect(plan.steps.some((s) => s.scratch.bytes > 0)).toBe(true);
      expect(plan.steps.filter((s) => s.op === 'layout').length).toBeGreaterThanOrEqual(2); // x -> NHWC, s4 -> NCHW
      expect(plan.arenaBytes).toBeLessThan(plan.unsharedBytes);
      expect(plan.arenaBytes).toBeGreaterThanOrEqual(stepPeak(plan));
      expectNoOverlap(plan);
      await runBoth(model, onnx, { x: X(dims, 2) });
    } finally {
      model.dispose();
    }
  });

  it('Reshape, Flatten, Squeeze and Unsqueeze are views: no step, no buffer, same offset', async () => {
    const dims = [2, 3, 4, 5];
    const b = new OnnxBuilder(13).input('x', dims).output('y');
    b.ints('s', [6, 20]).ints('ax', [0]);
    b.node('Relu', ['x'], 'r').node('Reshape', ['r', 's'], 'rs').node('Unsqueeze', ['rs', 'ax'], 'u').node('Squeeze', ['u', 'ax'], 'q');
    b.node('Flatten', ['q'], 'f', { axis: 1 }).node('Tanh', ['f'], 'y');
    const onnx = b.build();
    const model = loadModel(rts.one, onnx);
    try {
      const plan = model.plan({ x: dims });
      expect(plan.steps.map((s) => s.op)).toEqual(['Relu', 'Tanh']);
      const relu = plan.steps[0].outs[0], tanhIn = plan.steps[1].ins[0]!;
      expect(tanhIn.name).toBe('f');
      expect(tanhIn.root).toBe(relu);
      expect(tanhIn.offset).toBe(relu.offset);
      expect(plan.unsharedBytes).toBe(3 * count(dims) * 4); // x, r, y
      expectNoOverlap(plan);
      await runBoth(model, onnx, { x: X(dims, 3) });
    } finally {
      model.dispose();
    }
  });

  it('a view that is a graph output reads its root buffer; two views of one buffer read by one step', async () => {
    const dims = [2, 3, 4];
    const b = new OnnxBuilder(13).input('x', dims).output('v').output('z');
    b.ints('s', [6, 4]).ints('t', [4, 6]);
    b.node('Relu', ['x'], 'r').node('Reshape', ['r', 's'], 'v');
    b.node('Neg', ['x'], 'n').node('Reshape', ['n', 's'], 'a').node('Flatten', ['n'], 'f').node('Reshape', ['f', 's'], 'c');
    b.node('Add', ['a', 'c'], 'ac').node('Exp', ['ac'], 'e').node('Reshape', ['e', 't'], 'z');
    const onnx = b.build();
    const model = loadModel(rts.one, onnx);
    try {
      const plan = model.plan({ x: dims });
      expect(plan.outputs.map((v) => v.root?.name)).toEqual(['r', 'e']);
      expectNoOverlap(plan);
      const got = await runBoth(model, onnx, { x: X(dims, 4) });
      expect(got.v.dims).toEqual([6, 4]);
    } finally {
      model.dispose();
    }
  });

  it('plans are cached per input shape; other widths give other plans; results repeat across interleaved runs', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 3, 'h', 'w']).output('y');
    b.init('w', [4, 3, 3, 3], Array.from(randNormal(108, rng(5), 0.3))).init('bias', [4], [0.1, -0.2, 0.3, 0]);
    b.node('Conv', ['x', 'w', 'bias'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }).node('Relu', ['c'], 'r');
    b.node('GlobalAveragePool', ['r'], 'g').node('Flatten', ['g'], 'y');
    const onnx = b.build();
    const model = loadModel(rts.one, onnx);
    try {
      const p8 = model.plan({ x: [1, 3, 8, 8] });
      expect(model.plan({ x: [1, 3, 8, 8] })).toBe(p8);
      const p16 = model.plan({ x: [1, 3, 8, 16] });
      expect(p16).not.toBe(p8);
      expect(p16.arenaBytes).toBeGreaterThan(p8.arenaBytes);
      expect(p16.inputs[0].dims).toEqual([1, 3, 8, 16]);
      const a = X([1, 3, 8, 8], 6), c = X([1, 3, 8, 16], 7);
      const first = await runBoth(model, onnx, { x: a });
      const other = await runBoth(model, onnx, { x: c });
      const again = await model.run({ x: a });
      expect(Array.from(again.y.data)).toEqual(Array.from(first.y.data));
      const again2 = await model.run({ x: c });
      expect(Array.from(again2.y.data)).toEqual(Array.from(other.y.data));
      // the caller's result is a copy: a later run does not change it
      const snapshot = Array.from(first.y.data);
      await model.run({ x: c });
      expect(Array.from(first.y.data)).toEqual(snapshot);
      // the input is not modified
      expect(Array.from(a.data)).toEqual(Array.from(X([1, 3, 8, 8], 6).data));
    } finally {
      model.dispose();
    }
  });

  it('graph outputs that later nodes also read are kept to the end (host values and channels-last conv outputs)', async () => {
    const dims = [1, 4, 8, 8];
    const b = new OnnxBuilder(13).input('x', dims).output('a').output('c').output('y');
    b.init('w', [4, 4, 1, 1], Array.from(randNormal(16, rng(8), 0.5)));
    b.node('Relu', ['x'], 'a').node('Conv', ['a', 'w'], 'c', { kernel_shape: [1, 1] });
    let prev = 'c';
    UNARY_CHAIN.forEach((op, i) => {
      b.node(op, [prev], i === UNARY_CHAIN.length - 1 ? 'y' : `t${i}`);
      prev = `t${i}`;
    });
    const onnx = b.build();
    const model = loadModel(rts.one, onnx);
    try {
      const plan = model.plan({ x: dims });
      for (const v of plan.outputs) expect(rootOf(v).lastUse).toBe(Infinity);
      expect(plan.arenaBytes).toBeLessThan(plan.unsharedBytes);
      expectNoOverlap(plan);
      const feeds = { x: X(dims, 9) };
      const got = await runBoth(model, onnx, feeds);
      expect(Array.from(got.a.data)).toEqual(Array.from(feeds.x.data, (v) => Math.max(v, 0)));
    } finally {
      model.dispose();
    }
  });

  it('shape computations and constant subgraphs fold: no steps for them', async () => {
    const dims = [2, 3, 4, 5];
    const b = new OnnxBuilder(13).input('x', dims).output('y');
    b.node('Shape', ['x'], 's').ints('i0', [0], []).node('Gather', ['s', 'i0'], 'n').ints('ax', [0]).node('Unsqueeze', ['n', 'ax'], 'nu');
    b.ints('m1', [-1]).node('Concat', ['nu', 'm1'], 'shape', { axis: 0 });
    b.init('k', [3], [1, 2, 3]).init('k2', [3], [0.5, 0.5, 0.5]).node('Mul', ['k', 'k2'], 'kk').node('Exp', ['kk'], 'ke');
    b.node('Reshape', ['x', 'shape'], 'flat').node('Relu', ['flat'], 'rf');
    b.ints('s2', [2, 20, 3]).node('Reshape', ['rf', 's2'], 'r3').node('Transpose', ['r3'], 't', { perm: [0, 2, 1] }).node('Transpose', ['t'], 'u', { perm: [0, 2, 1] });
    b.node('Mul', ['u', 'ke'], 'y');
    const onnx = b.build();
    const model = loadModel(rts.one, onnx);
    try {
      const plan = model.plan({ x: dims });
      expect(plan.steps.map((s) => s.op)).toEqual(['Relu', 'Transpose', 'Transpose', 'Mul']);
      expectNoOverlap(plan);
      await runBoth(model, onnx, { x: X(dims, 10) });
    } finally {
      model.dispose();
    }
  });

  it('one layout conversion per channels-last value, shared by its standard-layout readers', async () => {
    const dims = [1, 3, 6, 6];
    const b = new OnnxBuilder(13).input('x', dims).output('y').output('z');
    b.init('w', [5, 3, 3, 3], Array.from(randNormal(135, rng(11), 0.3)));
    b.node('Conv', ['x', 'w'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    b.node('Softmax', ['c'], 'y', { axis: 1 }).node('Transpose', ['c'], 'z', { perm: [0, 2, 3, 1] });
    const onnx = b.build();
    const model = loadModel(rts.one, onnx);
    try {
      const plan = model.plan({ x: dims });
      const layouts = plan.steps.filter((s) => s.op === 'layout').map((s) => s.label);
      expect(layouts).toEqual(['x → NHWC', 'c → NCHW']);
      expectNoOverlap(plan);
      await runBoth(model, onnx, { x: X(dims, 12) });
    } finally {
      model.dispose();
    }
  });

  it('a value stored alike in both layouts (one channel, or one pixel) is converted by a view, not a step', async () => {
    // 1-channel input into a conv (silero's audio), a 1-channel conv output read as NCHW, a GAP vector through a 1x1 conv
    const dims = [1, 1, 5, 7];
    const b = new OnnxBuilder(13).input('x', dims).output('y').output('z');
    b.init('w', [4, 1, 3, 3], Array.from(randNormal(36, rng(13), 0.3))).init('w1', [1, 4, 1, 1], Array.from(randNormal(4, rng(14), 0.3)));
    b.init('w2', [3, 4, 1, 1], Array.from(randNormal(12, rng(15), 0.3)));
    b.node('Conv', ['x', 'w'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }).node('Conv', ['c', 'w1'], 'o').node('Tanh', ['o'], 'y');
    b.node('GlobalAveragePool', ['c'], 'g').node('Conv', ['g', 'w2'], 'h').node('Sigmoid', ['h'], 'z');
    const onnx = b.build();
    const model = loadModel(rts.one, onnx);
    try {
      const plan = model.plan({ x: dims });
      expect(plan.steps.filter((s) => s.op === 'layout').map((s) => s.label)).toEqual([]);
      expectNoOverlap(plan);
      await runBoth(model, onnx, { x: X(dims, 16) });
    } finally {
      model.dispose();
    }
  });

  // run() is async (layers await the worker pool) and every run uses the model's one arena, so
  // runs are queued: two in flight must not overwrite each other's activations.
  it('two runs of one model in flight at once give the same results as one after the other', async () => {
    const dims = [1, 8, 12, 12];
    const b = new OnnxBuilder(13).input('x', dims).output('y');
    let prev = 'x';
    for (let i = 0; i < 3; i++) {
      b.init(`k${i}`, [8, 8, 3, 3], Array.from(randNormal(576, rng(20 + i), 0.1)));
      b.node('Conv', [prev, `k${i}`], `c${i}`, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }).node('Tanh', [`c${i}`], `t${i}`);
      prev = `t${i}`;
    }
    b.node('Identity', [prev], 'y');
    for (const rt of [rts.one, rts.two]) {
      const model = loadModel(rt, b.build());
      try {
        const a = { x: X(dims, 30) }, c = { x: X(dims, 31) };
        const ra = await model.run(a), rc = await model.run(c);
        const [pa, pc] = await Promise.all([model.run(a), model.run(c)]);
        expect(Array.from(pa.y.data)).toEqual(Array.from(ra.y.data));
        expect(Array.from(pc.y.data)).toEqual(Array.from(rc.y.data));
      } finally {
        model.dispose();
      }
    }
  });

  // Plans hold offsets into one arena that grows to the largest plan, so a model run at many
  // widths (OCR lines) does not hold the sum of all their arenas.
  it('running at many input widths keeps activation memory near the largest plan, not the sum of all plans', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 8, 16, 'w']).output('y');
    b.init('k', [8, 8, 3, 3], Array.from(randNormal(576, rng(13), 0.1)));
    b.node('Conv', ['x', 'k'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }).node('Tanh', ['c'], 'y');
    const rt = rts.one;
    const model = loadModel(rt, b.build());
    try {
      const before = rt.memory.buffer.byteLength;
      let largest = 0;
      for (let w = 64; w < 64 + 40 * 8; w += 8) {
        largest = Math.max(largest, model.plan({ x: [1, 8, 16, w] }).arenaBytes);
        await model.run({ x: X([1, 8, 16, w], w) });
      }
      expect(rt.memory.buffer.byteLength - before).toBeLessThanOrEqual(4 * largest + (1 << 20));
    } finally {
      model.dispose();
    }
  });

  it('a wide model: peak stays near two activations however long the chain (arena < 1/4 of the sum)', async () => {
    const dims = [1, 8, 16, 16];
    const b = new OnnxBuilder(13).input('x', dims).output('y');
    let prev = 'x';
    for (let i = 0; i < 24; i++) {
      const out = i === 23 ? 'y' : `t${i}`;
      b.node(UNARY_CHAIN[i % UNARY_CHAIN.length], [prev], out);
      prev = out;
    }
    const model = loadModel(rts.one, b.build());
    try {
      const plan = model.plan({ x: dims });
      expect(plan.arenaBytes).toBeLessThan(plan.unsharedBytes / 4);
      expectNoOverlap(plan);
    } finally {
      model.dispose();
    }
  });
});
