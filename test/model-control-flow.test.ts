// If and Loop with subgraphs that read outer-scope values, against onnxruntime-web on generated
// graphs and ONNX's own conformance cases: an If whose condition is known when planning is inlined
// (no step of its own); otherwise its branches, and a Loop's body, run as sub-plans.

import fs from 'node:fs';
import path from 'node:path';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { ModelError, ShapeError, UnsupportedOperatorError } from '../src/errors.js';
import { loadModel, loadQuantized, quantizeModel, saveQuantized, type Model, type ModelInputs } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { X, withModel as withModelOn } from './model-ort-check.js';
import { OnnxBuilder, g, runOrtModel, type Feed, type IntFeed } from './onnx-builder.js';

const { onnx } = onnxproto;
const rts = useRuntimes();

const I64 = (data: number[], dims: number[] = []): IntFeed => ({ type: 'int64', dims, data });

const withModel = <T>(bytes: Uint8Array, fn: (m: Model) => Promise<T>): Promise<T> => withModelOn(rts.one, bytes, fn);

/** lowbit's outputs against onnxruntime-web's on the same bytes and feeds */
async function expectOrt(m: Model, bytes: Uint8Array, feeds: Record<string, Feed | IntFeed>, tol = 1e-5): Promise<void> {
  const ours = await m.run(feeds as unknown as ModelInputs);
  const ref = await runOrtModel(bytes, feeds);
  for (const [name, r] of Object.entries(ref)) {
    expect(ours[name].dims, name).toEqual(r.dims);
    const scale = Math.max(1, ...r.data.map(Math.abs));
    ours[name].data.forEach((v, i) => expect(Math.abs(v - r.data[i]), `${name}[${i}]`).toBeLessThanOrEqual(tol * scale));
  }
}

const stepOps = (m: Model, dims: Record<string, number[]>, values = {}) => m.plan(dims, values).steps.map((s) => s.op);

/** a branch: y = MatMul(x, w) + b  (x and w from the outer scope, b its own initializer) */
function linearBranch(b: number[], out: string): OnnxBuilder {
  return new OnnxBuilder(13).init(`bias_${out}`, [b.length], b).output(out).node('MatMul', ['x', 'w'], `mm_${out}`).node('Add', [`mm_${out}`, `bias_${out}`], out);
}

describe(`If and Loop (${SIMD} build)`, () => {
  it('If on a plan-time condition (a Constant): the chosen branch is inlined, reading outer values (its MatMul a layer)', async () => {
    for (const c of [1, 0]) {
      const b = new OnnxBuilder(13).input('x', [2, 4]).output('y');
      b.init('w', [4, 3], Array.from(randNormal(12, rng(3)))).constant('c', [], [c], 'bool');
      b.node('If', ['c'], 'y', { then_branch: g(linearBranch([1, 2, 3], 't')), else_branch: g(linearBranch([-1, -2, -3], 'e')) }, 'if1');
      const bytes = b.build();
      await withModel(bytes, async (m) => {
        expect(stepOps(m, { x: [2, 4] })).not.toContain('If');
        await expectOrt(m, bytes, { x: X([2, 4]) });
      });
    }
  });

  it('If on a runtime condition: both branches planned, the taken one runs (same plan, both ways)', async () => {
    // cond = ReduceSum(x) > 0
    const b = new OnnxBuilder(13).input('x', [2, 4]).output('y');
    b.init('w', [4, 3], Array.from(randNormal(12, rng(3)))).init('zero', [], [0]);
    b.node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Greater', ['s', 'zero'], 'c');
    b.node('If', ['c'], 'y', { then_branch: g(linearBranch([1, 2, 3], 't')), else_branch: g(linearBranch([-1, -2, -3], 'e')) }, 'if1');
    const bytes = b.build();
    await withModel(bytes, async (m) => {
      expect(stepOps(m, { x: [2, 4] })).toContain('If');
      for (const sign of [1, -1]) {
        const x = X([2, 4]);
        x.data = x.data.map((v) => sign * (Math.abs(v) + 0.1));
        await expectOrt(m, bytes, { x });
      }
    });
  });

  it('quantizing a model with a runtime If: calibration sees the layers inside both branches (int8 there too)', async () => {
    const branch = (seed: number, out: string) => new OnnxBuilder(13).init(`w_${out}`, [64, 64], Array.from(randNormal(64 * 64, rng(seed), 0.2))).output(out).node('MatMul', ['x', `w_${out}`], out);
    const b = new OnnxBuilder(13).input('x', [4, 64]).output('y').init('zero', [], [0]);
    b.node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Greater', ['s', 'zero'], 'c');
    b.node('If', ['c'], 'y', { then_branch: g(branch(11, 't')), else_branch: g(branch(12, 'e')) });
    const xs = [1, -1, 1, -1].map((sign, i) => {
      const x = X([4, 64], i + 1);
      x.data = x.data.map((v) => sign * (Math.abs(v) + 0.01));
      return x;
    });
    await withModel(b.build(), async (float) => {
      const q = await quantizeModel(float, { scheme: 'int8', calibration: xs.map((x) => ({ x })) });
      try {
        for (const x of xs) {
          const [a, r] = [(await q.run({ x })).y.data, (await float.run({ x })).y.data];
          let dot = 0, na = 0, nr = 0;
          a.forEach((v, i) => ((dot += v * r[i]), (na += v * v), (nr += r[i] * r[i])));
          expect(dot / Math.sqrt(na * nr)).toBeGreaterThan(0.999);
        }
        // both branches' 64x64 weights as int8 (a quarter of float32's bytes, plus scales)
        expect(q.weightBytes).toBeLessThan(float.weightBytes * 0.35);
        // saved and loaded again: the layers inside the branches are found
        const back = loadQuantized(float, saveQuantized(q));
        try {
          for (const x of xs) expect(Array.from((await back.run({ x })).y.data)).toEqual(Array.from((await q.run({ x })).y.data));
        } finally {
          back.dispose();
        }
      } finally {
        q.dispose();
      }
    });
  });

  it("silero's pattern: an int64 scalar input picks the branch (Equal), branches of different shapes; plans per value", async () => {
    const b = new OnnxBuilder(13).input('x', [1, 'n']).input('sr', [], 'int64').output('y');
    b.ints('k16', [16000], []).ints('s0', [0]).ints('e0', [4]).ints('e1', [2]).ints('ax', [1]);
    b.node('Equal', ['sr', 'k16'], 'is16');
    const then = new OnnxBuilder(13).output('t').node('Slice', ['x', 's0', 'e0', 'ax'], 't');
    const els = new OnnxBuilder(13).output('u').node('Slice', ['x', 's0', 'e1', 'ax'], 'u0').node('Neg', ['u0'], 'u');
    b.node('If', ['is16'], 'y', { then_branch: g(then), else_branch: g(els) }, 'pick');
    const bytes = b.build();
    await withModel(bytes, async (m) => {
      for (const sr of [16000, 8000, 16000]) await expectOrt(m, bytes, { x: X([1, 6]), sr: I64([sr]) });
      expect(m.plans.size).toBe(2);
      const plan = m.plan({ x: [1, 6], sr: [] }, { sr: { type: 'int64', dims: [], data: Float64Array.of(8000) } });
      expect(plan.steps.map((s) => s.op)).toEqual(['Slice', 'Neg']);
      // the same If on a runtime sr (a plan without its value) cannot agree on a shape
      expect(() => m.plan({ x: [1, 6], sr: [] })).toThrow(ShapeError);
      await expect(m.run({ x: X([1, 6]), sr: { type: 'int64', data: BigInt64Array.of(16000n), dims: [] } })).resolves.toBeDefined();
    });
  });

  it("hey_jarvis's pattern: Sigmoid -> Greater -> Cast -> If whose then_branch reads the graph input and outer weights", async () => {
    const b = new OnnxBuilder(13).input('x', [1, 8]).output('y');
    b.init('w', [8, 1], Array.from(randNormal(8, rng(5)))).init('half', [], [0.5]).init('w2', [8, 1], Array.from(randNormal(8, rng(6))));
    b.node('MatMul', ['x', 'w'], 'z').node('Sigmoid', ['z'], 'p').node('Greater', ['p', 'half'], 'ge').node('Cast', ['ge'], 'c', { to: 9 });
    const then = new OnnxBuilder(13).output('p2').node('MatMul', ['x', 'w2'], 'z2').node('Sigmoid', ['z2'], 'p2');
    const els = new OnnxBuilder(13).output('p3').node('Identity', ['p'], 'p3');
    b.node('If', ['c'], 'y', { then_branch: g(then), else_branch: g(els) }, 'If_32');
    const bytes = b.build();
    await withModel(bytes, async (m) => {
      for (let seed = 1; seed <= 6; seed++) await expectOrt(m, bytes, { x: X([1, 8], seed, 2) });
    });
  });

  it('Identity of outer values (input, constant) as branch outputs; the If outputs graph outputs; runtime and inlined', async () => {
    const b = new OnnxBuilder(13).input('x', [3]).input('c', [], 'bool').output('y').output('k').output('z');
    b.init('kc', [3], [7, 8, 9]).init('zero', [], [0]);
    b.node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Greater', ['s', 'zero'], 'rc');
    const then = () => new OnnxBuilder(13).output('x1').output('k1').node('Identity', ['x'], 'x1').node('Identity', ['kc'], 'k1');
    const els = () => new OnnxBuilder(13).output('k2').output('x2').node('Identity', ['kc'], 'k2').node('Identity', ['x'], 'x2');
    b.node('If', ['c'], ['y', 'k'], { then_branch: g(then()), else_branch: g(els()) });
    b.node('If', ['rc'], 'z', { then_branch: g(new OnnxBuilder(13).output('z1').node('Identity', ['x'], 'z1')), else_branch: g(new OnnxBuilder(13).output('z2').node('Identity', ['kc'], 'z2')) });
    const bytes = b.build();
    await withModel(bytes, async (m) => {
      for (const c of [1, 0]) for (const sign of [1, -1]) {
        const x = X([3], c + 1);
        x.data = x.data.map((v) => sign * (Math.abs(v) + 0.1));
        await expectOrt(m, bytes, { x, c: { type: 'bool', dims: [], data: [c] } });
      }
    });
  });

  it('a branch output that IS an outer value (no Identity): refused at load, as onnxruntime does', async () => {
    const b = new OnnxBuilder(13).input('x', [3]).input('c', [], 'bool').output('y');
    b.node('If', ['c'], 'y', { then_branch: g(new OnnxBuilder(13).output('x')), else_branch: g(new OnnxBuilder(13).output('x')) }, 'direct');
    const bytes = b.build();
    expect(() => loadModel(rts.one, bytes)).toThrow(ModelError);
    expect(() => loadModel(rts.one, bytes)).toThrow(/'direct'.*'x'.*Identity/);
    await expect(runOrtModel(bytes, { x: X([3]), c: { type: 'bool', dims: [], data: [1] } })).rejects.toThrow(/outer scope value/);
  });

  it('nested If reading values two scopes out; sibling branches defining the same names', async () => {
    const b = new OnnxBuilder(13).input('x', [2, 3]).input('c1', [], 'bool').input('c2', [1], 'bool').output('y');
    b.init('w', [3, 3], Array.from(randNormal(9, rng(7))));
    const inner = (k: number) => new OnnxBuilder(13).init('kk', [], [k]).output('v').node('MatMul', ['x', 'w'], 'm').node('Mul', ['m', 'kk'], 'v');
    const then = new OnnxBuilder(13).output('t').node('If', ['c2'], 'ti', { then_branch: g(inner(2)), else_branch: g(inner(3)) }).node('Relu', ['ti'], 't');
    const els = new OnnxBuilder(13).output('t2').node('Neg', ['x'], 'm').node('Abs', ['m'], 't2');
    b.node('If', ['c1'], 'y', { then_branch: g(then), else_branch: g(els) });
    const bytes = b.build();
    await withModel(bytes, async (m) => {
      for (const [c1, c2] of [[1, 1], [1, 0], [0, 1]]) {
        await expectOrt(m, bytes, { x: X([2, 3], c1 + 2 * c2), c1: { type: 'bool', dims: [], data: [c1] }, c2: { type: 'bool', dims: [1], data: [c2] } });
      }
    });
  });

  it('a runtime If whose branches disagree on dims: ShapeError naming the node', async () => {
    const b = new OnnxBuilder(13).input('x', [4]).output('y').init('zero', [], [0]).ints('s', [0]).ints('e', [2]);
    b.node('ReduceSum', ['x'], 'sum', { keepdims: 0 }).node('Greater', ['sum', 'zero'], 'c');
    b.node('If', ['c'], 'y', { then_branch: g(new OnnxBuilder(13).output('a').node('Relu', ['x'], 'a')), else_branch: g(new OnnxBuilder(13).output('q').node('Slice', ['x', 's', 'e'], 'q')) }, 'bad_if');
    await withModel(b.build(), async (m) => {
      await expect(m.run({ x: X([4]) })).rejects.toThrow(ShapeError);
      await expect(m.run({ x: X([4]) })).rejects.toThrow(/bad_if.*then_branch.*else_branch/);
    });
  });

  /** body(i, cond, y): y' = y * 2 + x (x outer), scans: y' + i, and Identity(x) (an outer value as it is) */
  function doublingBody(): OnnxBuilder {
    const body = new OnnxBuilder(13).input('i', [], 'int64').input('cin', [], 'bool').input('yin', [2]).output('cout', 'bool').output('yout').output('scan').output('xcopy');
    body.node('Identity', ['cin'], 'cout').node('Mul', ['yin', 'two'], 'y2').node('Add', ['y2', 'x'], 'yout');
    body.node('Cast', ['i'], 'fi', { to: 1 }).node('Add', ['yout', 'fi'], 'scan').node('Identity', ['x'], 'xcopy');
    return body;
  }

  it('Loop with M and cond: loop-carried value, scan output, outer values (runtime input and initializer); M from an int64 input', async () => {
    const b = new OnnxBuilder(13).input('x', [2]).input('y0', [2]).input('M', [], 'int64').output('y').output('ys').output('xs');
    b.init('two', [], [2]).init('t', [], [1], 'bool');
    b.node('Loop', ['M', 't', 'y0'], ['y', 'ys', 'xs'], { body: g(doublingBody()) }, 'loop');
    const bytes = b.build();
    await withModel(bytes, async (m) => {
      for (const M of [3, 1, 0]) {
        if (M === 0) {
          // onnxruntime-web does not take zero trip counts here: the carried value is y0, the scan output empty
          const y0 = X([2], 9);
          const out = await m.run({ x: X([2]), y0, M: { type: 'int64', dims: [], data: [0] } });
          expect(Array.from(out.y.data)).toEqual(Array.from(y0.data));
          expect(out.ys.dims).toEqual([0, 2]);
          continue;
        }
        await expectOrt(m, bytes, { x: X([2]), y0: X([2], 2), M: I64([M]) });
      }
    });
  });

  it('Loop as a while loop (no M, runtime cond): counts down, no scan outputs', async () => {
    // k' = k - 1, acc' = acc + x, cond' = k' > 0
    const body = new OnnxBuilder(13).input('i', [], 'int64').input('cin', [], 'bool').input('k', []).input('acc', [3]).output('cout', 'bool').output('k2').output('acc2');
    body.node('Sub', ['k', 'one'], 'k2').node('Add', ['acc', 'x'], 'acc2').node('Greater', ['k2', 'zero'], 'cout');
    const b = new OnnxBuilder(13).input('x', [3]).input('k0', []).output('kf').output('accf');
    b.init('one', [], [1]).init('zero', [], [0]).init('acc0', [3], [0, 0, 0]);
    b.node('Greater', ['k0', 'zero'], 'c0').node('Loop', ['', 'c0', 'k0', 'acc0'], ['kf', 'accf'], { body: g(body) }, 'while');
    const bytes = b.build();
    await withModel(bytes, async (m) => {
      expect(stepOps(m, { x: [3], k0: [] })).toContain('Loop');
      for (const k of [3.5, 1, -2]) await expectOrt(m, bytes, { x: X([3]), k0: { type: 'float32', dims: [], data: Float32Array.of(k) } });
    });
  });

  it('Loop whose body slices at its iteration number (planned per iteration) with a runtime M and cond', async () => {
    // the ONNX loop11 body: y += x[i : i + 1], with cond from the data and M from an input shape
    const body = new OnnxBuilder(13).input('i', [], 'int64').input('cin', [], 'bool').input('yin', [1]).output('cout', 'bool').output('yout');
    body.node('Identity', ['cin'], 'cout').node('Add', ['i', 'one'], 'end').node('Unsqueeze', ['i', 'ax'], 's').node('Unsqueeze', ['end', 'ax'], 'e');
    body.node('Slice', ['x', 's', 'e'], 'xs').node('Add', ['yin', 'xs'], 'yout');
    const b = new OnnxBuilder(13).input('x', ['n']).output('y');
    b.ints('one', [1], []).ints('ax', [0]).init('y0', [1], [0]).init('zero', [], [0]);
    b.node('Shape', ['x'], 'shape').node('Squeeze', ['shape', 'ax'], 'M').node('ReduceSum', ['x'], 'sum', { keepdims: 0 }).node('Greater', ['sum', 'zero'], 'c');
    b.node('Loop', ['M', 'c', 'y0'], 'y', { body: g(body) }, 'sliceloop');
    const bytes = b.build();
    await withModel(bytes, async (m) => {
      for (const n of [5, 2]) for (const sign of [1, -1]) {
        const x = X([n], n);
        x.data = x.data.map((v) => sign * (Math.abs(v) + 0.1));
        await expectOrt(m, bytes, { x });
      }
    });
  });

  it('a Loop on known values only is run when planning: its int64 result is a Reshape target, its scan output a constant', async () => {
    // s' = s * 2 (int64, three times: 8), scan = s' as float; y = Reshape(x, [-1, s]) + Sum(scan)
    const body = new OnnxBuilder(13).input('i', [], 'int64').input('cin', [], 'bool').input('s', [1], 'int64').output('cout', 'bool').output('s2', 'int64').output('sf');
    body.node('Identity', ['cin'], 'cout').node('Mul', ['s', 'two'], 's2').node('Cast', ['s2'], 'sf', { to: 1 });
    const b = new OnnxBuilder(13).input('x', [1, 8]).output('y').output('scan');
    b.ints('M', [3], []).init('t', [], [1], 'bool').ints('s0', [1]).ints('two', [2], []).ints('m1', [-1]);
    b.node('Loop', ['M', 't', 's0'], ['s', 'scan'], { body: g(body) }, 'constloop').node('Concat', ['m1', 's'], 'shape', { axis: 0 });
    b.node('Reshape', ['x', 'shape'], 'r').node('ReduceSum', ['scan'], 'tot', { keepdims: 0 }).node('Add', ['r', 'tot'], 'y');
    const bytes = b.build();
    await withModel(bytes, async (m) => {
      expect(stepOps(m, { x: [1, 8] })).toEqual(['Add']);
      await expectOrt(m, bytes, { x: X([1, 8]) });
    });
  });

  it('malformed subgraphs: ModelError naming the node (unknown value, wrong input and output counts, a graph on another op)', () => {
    const ok = () => new OnnxBuilder(13).output('o').node('Identity', ['x'], 'o');
    const cases: [string, (b: OnnxBuilder) => void, RegExp][] = [
      ['reads nothing', (b) => b.node('If', ['c'], 'y', { then_branch: g(new OnnxBuilder(13).output('o').node('Relu', ['nowhere'], 'o')), else_branch: g(ok()) }, 'n1'), /'nowhere'/],
      ['two outputs', (b) => b.node('If', ['c'], 'y', { then_branch: g(ok().output('x2').node('Neg', ['x'], 'x2')), else_branch: g(ok()) }, 'n2'), /'n2'.*then_branch has 2 outputs/],
      ['no else', (b) => b.node('If', ['c'], 'y', { then_branch: g(ok()) }, 'n3'), /'n3'.*else_branch/],
      ['two inputs', (b) => b.node('If', ['c', 'x'], 'y', { then_branch: g(ok()), else_branch: g(ok()) }, 'n4'), /'n4'.*has 2 inputs, expected 1/],
      ['loop inputs', (b) => b.node('Loop', ['', 'c', 'x'], 'y', { body: g(new OnnxBuilder(13).input('i', [], 'int64').input('ci', [], 'bool').output('ci').output('o').node('Identity', ['x'], 'o')) }, 'n5'), /'n5'.*3 inputs, its body takes 2/],
      ['graph on Relu', (b) => b.node('Relu', ['x'], 'y', { body: g(ok()) }, 'n6'), /'n6'.*attribute 'body'/],
    ];
    for (const [what, add, msg] of cases) {
      const b = new OnnxBuilder(13).input('x', [2]).input('c', [], 'bool').output('y');
      add(b);
      expect(() => loadModel(rts.one, b.build()), what).toThrow(ModelError);
      expect(() => loadModel(rts.one, b.build()), what).toThrow(msg);
    }
  });

  it('Loop with scan outputs and a run-time cond: read during the run (staged plan), as onnxruntime-web; a run-time body condition and carried values changing dims are refused', async () => {
    const b = new OnnxBuilder(13).input('x', [2]).input('y0', [2]).output('y').output('ys').init('two', [], [2]).init('zero', [], [0]);
    b.node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Greater', ['s', 'zero'], 'c').ints('M', [3], []);
    b.node('Loop', ['M', 'c', 'y0'], ['y', 'ys', 'xs'], { body: g(doublingBody()) }, 'scanloop');
    const x = X([2], 3);
    x.data.set([Math.abs(x.data[0]) + 1, Math.abs(x.data[1])]); // sum > 0: the loop runs M times
    const want = await runOrtModel(b.build(), { x, y0: X([2]) });
    await withModel(b.build(), async (m) => {
      const got = await m.run({ x, y0: X([2]) });
      for (const k of ['y', 'ys']) {
        expect(got[k].dims).toEqual(want[k].dims);
        Array.from(got[k].data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want[k].data[i], 5));
      }
    });
    // the body's condition computed each iteration (a while loop): the scan's length is not known until it ends
    const whileBody = new OnnxBuilder(13).input('i', [], 'int64').input('cin', [], 'bool').input('yin', [2]).output('cout', 'bool').output('yout').output('scan');
    whileBody.node('Mul', ['yin', 'two'], 'yout').node('ReduceSum', ['yout'], 'ys1', { keepdims: 0 }).node('Less', ['ys1', 'two'], 'cout').node('Identity', ['yout'], 'scan');
    const w = new OnnxBuilder(13).input('x', [2]).input('y0', [2]).output('y').output('ys').init('two', [], [2]).ints('M', [3], []).init('t', [], [1], 'bool');
    w.node('Loop', ['M', 't', 'y0'], ['y', 'ys'], { body: g(whileBody) }, 'whileloop');
    await withModel(w.build(), async (m) => {
      await expect(m.run({ x: X([2]), y0: X([2]) })).rejects.toThrow(UnsupportedOperatorError);
      await expect(m.run({ x: X([2]), y0: X([2]) })).rejects.toThrow(/'whileloop'.*trip count/);
    });
    const body = new OnnxBuilder(13).input('i', [], 'int64').input('cin', [], 'bool').input('yin', [2]).output('cout', 'bool').output('yout');
    body.node('Identity', ['cin'], 'cout').node('Concat', ['yin', 'yin'], 'yout', { axis: 0 });
    const b2 = new OnnxBuilder(13).input('y0', [2]).output('y').ints('M', [2], []);
    b2.node('Loop', ['M', '', 'y0'], 'y', { body: g(body) }, 'grow');
    await withModel(b2.build(), async (m) => {
      await expect(m.run({ y0: X([2]) })).rejects.toThrow(ShapeError);
      await expect(m.run({ y0: X([2]) })).rejects.toThrow(/'grow'.*loop-carried value 0/);
    });
  });
});

// ONNX's own If and Loop cases (Debian libonnx-testdata); the others of that family use sequences and optionals
import { ONNX_TESTDATA as ROOT, hasSystemPackage } from './system-packages.js';
const T = onnx.TensorProto.DataType;
const TYPES: Record<number, [string, number]> = { [T.FLOAT]: ['float32', 4], [T.INT64]: ['int64', 8], [T.BOOL]: ['bool', 1], [T.INT32]: ['int32', 4] };

function readTensor(file: string): { type: string; dims: number[]; data: number[] } {
  const t = onnx.TensorProto.decode(fs.readFileSync(file));
  const [type, bytes] = TYPES[t.dataType!];
  const dims = (t.dims ?? []).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const raw = new Uint8Array(n * bytes);
  raw.set(t.rawData!.subarray(0, n * bytes));
  const data = type === 'float32' ? new Float32Array(raw.buffer) : type === 'int64' ? Array.from(new BigInt64Array(raw.buffer), Number) : type === 'int32' ? new Int32Array(raw.buffer) : raw;
  return { type, dims, data: Array.from(data as ArrayLike<number>) };
}

describe.runIf(hasSystemPackage('libonnx-testdata'))(`ONNX conformance: If and Loop (${SIMD} build)`, () => {
  for (const name of ['test_if', 'test_loop11', 'test_range_float_type_positive_delta_expanded', 'test_range_int32_type_negative_delta_expanded']) {
    it(name, async () => {
      const dir = path.join(ROOT, name);
      const bytes = new Uint8Array(fs.readFileSync(path.join(dir, 'model.onnx')));
      const set = path.join(dir, 'test_data_set_0');
      const files = (p: string) => fs.readdirSync(set).filter((f) => f.startsWith(p)).sort().map((f) => readTensor(path.join(set, f)));
      const m = loadModel(rts.one, bytes);
      try {
        const feeds: Record<string, unknown> = {};
        files('input_').forEach((t, i) => {
          feeds[m.inputNames[i]] = { type: t.type, dims: t.dims, data: t.type === 'float32' ? Float32Array.from(t.data) : t.data };
        });
        // test_range_float_type_positive_delta_expanded: float start/limit/delta are runtime values,
        // so the Loop's trip count (its scan output's length) is read during the run (staged plan)
        const out = await m.run(feeds as ModelInputs);
        files('output_').forEach((t, i) => {
          const o = out[m.outputNames[i]];
          expect(o.dims).toEqual(t.dims);
          o.data.forEach((v, k) => expect(v).toBeCloseTo(t.data[k], 5));
        });
      } finally {
        m.dispose();
      }
    });
  }
});
