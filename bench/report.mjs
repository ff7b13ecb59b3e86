// Turns the children's numbers into bench/RESULTS.md: header, ceilings, the main table, details,
// correctness checks and the issue targets.

const GEMM_TARGET_SHAPES = ['128x768x768', '128x768x3072', '512x512x512'];

// a measurement during which other processes kept this many cores busy on average gets a mark
const LOADED = 0.25;

const key = ({ m, k, n }) => `${m}x${k}x${n}`;
const pretty = (k) => k.replaceAll('x', '×');
const ops = (s) => 2 * s.m * s.k * s.n;
const rate = (s, r) => (r ? ops(s) / r.seconds / 1e9 : null);
const ratio = (x, y) => (x != null && y ? x / y : null);

const fmt = (x, digits = 1) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const fx = (x) => (x == null ? '—' : `${x.toFixed(2)}×`);
const pct = (x) => (x == null ? '—' : `${Math.round(x * 100)}%`);
const mb = (bytes) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Bandwidth-bound for GEMV (M = 1), compute-bound otherwise: the bound each kernel is held to. */
const int8Bound = (s, c, dot = c.dot_i16x8) => (s.m === 1 ? 2 * c.stream_read : dot);
const f32Bound = (s, c) => (s.m === 1 ? c.stream_read / 2 : c.f32_madd);

/** All numbers for one shape and thread count, in GOPS / GFLOPS. */
function row(base, rel, k) {
  const s = base?.shapes[k] ?? rel?.shapes[k];
  if (!s) return null;
  const b = base?.shapes[k] ?? {};
  const r = rel?.shapes[k] ?? {};
  const sources = {
    int8: b.lowbit_i32, int8u8: b.lowbit_u8, relaxed7: r.lowbit_seven, relaxedFull: r.lowbit_full,
    ortMmi: b.ort_mmi, ortQlmm: b.ort_qlmm, f32: b.lowbit_f32, f32Relaxed: r.lowbit_f32, ortF32: b.ort_f32,
    tfjs: b.tfjs_f32, // measured in the 1-thread process only: tfjs-wasm has no threads in Node
  };
  const v = {
    s,
    ...Object.fromEntries(Object.entries(sources).map(([name, result]) => [name, rate(s, result)])),
    loaded: new Set(Object.keys(sources).filter((name) => sources[name]?.otherLoad > LOADED)),
    sevenLayout: r.sevenLayout,
    fullLayout: r.fullLayout,
    copies8: b.lowbit_i32?.copies ?? r.lowbit_seven?.copies ?? 1,
    copiesF32: b.lowbit_f32?.copies ?? 1,
  };
  v.ortInt8 = Math.max(v.ortMmi ?? 0, v.ortQlmm ?? 0) || null;
  v.int8Pct = base && v.int8 != null ? v.int8 / int8Bound(s, base.ceilings) : null;
  v.f32Pct = base && v.f32 != null ? v.f32 / f32Bound(s, base.ceilings) : null;
  v.relaxed7Pct = rel && v.relaxed7 != null ? v.relaxed7 / int8Bound(s, rel.ceilings, rel.ceilings.relaxed_dot) : null;
  v.f32RelaxedPct = rel && v.f32Relaxed != null ? v.f32Relaxed / f32Bound(s, rel.ceilings) : null;
  return v;
}

function weightsNote(v) {
  const { s } = v;
  if (!s.stream) return `hot, ${mb(s.k * s.n)} (f32 ${mb(4 * s.k * s.n)})`;
  return `rotated ${v.copies8}× ${mb(s.k * s.n)} (f32 ${v.copiesF32}× ${mb(4 * s.k * s.n)})`;
}

function gather(children) {
  const find = (simd, t) => children.find((c) => c.simd === simd && c.threads === t);
  const keys = [...new Set(children.flatMap((c) => Object.keys(c.shapes)))];
  const threads = [...new Set(children.map((c) => c.threads))].sort();
  const rows = [];
  for (const k of keys) {
    for (const t of threads) {
      const v = row(find('baseline', t), find('relaxed', t), k);
      if (v) rows.push({ ...v, threads: t });
    }
  }
  return { rows, keys };
}

/** How much the rounds of each measurement disagree: median and worst (max - min) / max. */
function roundSpread(children) {
  const spreads = [];
  for (const c of children) {
    for (const s of Object.values(c.shapes)) {
      for (const r of Object.values(s)) {
        if (r?.rounds?.length > 1) spreads.push((Math.max(...r.rounds) - Math.min(...r.rounds)) / Math.max(...r.rounds));
      }
    }
  }
  if (!spreads.length) return null;
  spreads.sort((a, b) => a - b);
  return { median: spreads[spreads.length >> 1], max: spreads[spreads.length - 1], count: spreads.length };
}

function header(info) {
  const m = info.machine;
  const otherCores = info.cpu.foreign / (info.minutes * 60);
  return `# lowbit benchmarks${info.quick ? ' (quick smoke run: tiny sampling times, not for quoting)' : ''}

- Command: \`${info.command}\` (from the repository root, after \`npm run build\`)
- Date: ${info.date}, took ${info.minutes.toFixed(1)} min; lowbit commit ${m.commit}
- Machine: ${m.model}, ${m.cores} cores (${m.caches}), ${m.memoryGiB} GiB RAM
- Node ${m.node}, V8 ${m.v8}
- Peers: onnxruntime-web ${m.versions['onnxruntime-web']}, @tensorflow/tfjs-core ${m.versions['@tensorflow/tfjs-core']} + tfjs-backend-wasm ${m.versions['@tensorflow/tfjs-backend-wasm']}; timing with benchmark ${m.versions.benchmark}
- Load: loadavg ${info.load.before} before, ${info.load.after} after. While measuring, other processes used ${info.cpu.foreign.toFixed(0)} CPU-s (${otherCores.toFixed(2)} cores on average) and the hypervisor stole ${info.cpu.steal.toFixed(1)} CPU-s. Every measurement first waited for other processes to go quiet (${info.cpu.waited.toFixed(0)} s of waiting in all); † marks those that still ran alongside other load.
- Noise: ${spreadNote(roundSpread(info.children))}
`;
}

function spreadNote(spread) {
  if (!spread) return 'one round per measurement (quick run): no estimate of run-to-run noise.';
  return `each of the ${spread.count} measurements ran in 2 rounds minutes apart and the faster round is reported; the rounds differed by ${pct(spread.median)} (median) and up to ${pct(spread.max)}. This is a 2-vCPU VM with slow spells that no load figure shows, so read differences of less than ~10–15% as noise.`;
}

function method(info) {
  return `## Method

- One process per (build, threads): baseline build with 1 and 2 threads (lowbit, onnxruntime-web, tfjs-backend-wasm), relaxed-SIMD build with 1 and 2 threads (lowbit only; \`node ${info.relaxedFlags}\`). In each process lowbit is measured first, then the peers, so idle ORT threads can't disturb lowbit.
- Each number is the **median** of the benchmark.js samples (seconds per call), best of the rounds (see Noise above); GOPS = 2·M·K·N / time (int8 ops or float flops alike).
- Every call, for every engine, includes what a caller pays per call: copying A in, running, copying the output out. Weights are prepacked (lowbit \`packQs8\`/\`packF32\`), ONNX initializers (ORT, which prepacks them at session creation), or a resident tensor (tfjs).
- INT8: u8 activations (zero point 128) × s8 weights (zero point 0). "lowbit int8" writes int32 (MatMulInteger's output); "u8-out" requantizes to uint8 with a per-column multiplier (QLinearMatMul's output). Relaxed 7-bit uses weights in [-63, 63] so the relaxed dot layout \`c4\` is used; full-range weights fall back to \`c2\`.
- Weights: for the weight-streaming shapes (M ≤ 8, 16–180 MB) each engine rotates through copies of its weights totalling ≥ ${info.rotateMiB.toFixed(0)} MiB (3× L3), so weights come from DRAM every call. The other shapes' weights (≤ 2.4 MB) stay hot in cache, as they would in a real model's inner loop.
- % of bound: GEMM (M > 1) against the register-only ceiling of the same thread count (int8 baseline: \`dot_i16x8\`, relaxed 7-bit: relaxed dot, f32: \`f32_madd\`); GEMV (M = 1) against the streaming-read bound (int8 reads K·N bytes: 2·bandwidth ops/s; f32 reads 4·K·N bytes: bandwidth/2).
- tfjs-backend-wasm runs single-threaded under Node (its multithreaded build is disabled there, tfjs issue #3830), so it appears in the 1-thread rows only${tfjsNote(info.children)}.
`;
}

function tfjsNote(children) {
  const t = children.find((c) => c.tfjs)?.tfjs;
  return t ? ` (it reported ${t.threads} thread, SIMD ${t.simd ? 'on' : 'off'})` : '';
}

function ceilingsSection(children) {
  const rows = children.map((c) => [
    c.simd, c.threads, fmt(c.ceilings.dot_i16x8), fmt(c.ceilings.relaxed_dot), fmt(c.ceilings.f32_madd), fmt(c.ceilings.stream_read),
    fmt(2 * c.ceilings.stream_read), fmt(c.ceilings.stream_read / 2), fmt(c.otherLoad, 2),
  ]);
  return `## Ceilings (measured)

${table(['build', 'threads', 'dot_i16x8 GOPS', 'relaxed dot GOPS', 'f32 madd GFLOPS', 'stream read GB/s', 'int8 GEMV bound GOPS', 'f32 GEMV bound GFLOPS', 'other load while this process ran (cores)'], rows)}

Each ceiling runs on as many worker threads as the row's thread count, all at once, and sums their rates. A ceiling is a bound and load can only lower it, so each thread's rate is its best of 15 runs, the best of 2 attempts with fresh workers is kept, and the ceilings are measured at the start and at the end of each process with the better kept. The f32 madd loop is a fused multiply-add in the relaxed build and a separate mul + add in the baseline build, as in the f32 GEMM of each build. The last column is the CPU time other processes used while that process ran, per second of wall time.
`;
}

/** A rate, marked † when other processes were busy while it was measured. */
const cell = (v, name) => `${fmt(v[name])}${v.loaded.has(name) ? '†' : ''}`;

const LOAD_NOTE = `† other processes kept more than ${LOADED} of a core busy on average while this was measured even after waiting for a quiet moment: read it with care.`;

function mainSection(rows) {
  const body = rows.map((v) => [
    pretty(key(v.s)), weightsNote(v), v.threads,
    cell(v, 'int8'), cell(v, 'relaxed7'), cell(v, 'ortMmi'), cell(v, 'ortQlmm'),
    cell(v, 'f32'), cell(v, 'ortF32'), cell(v, 'tfjs'),
    fx(ratio(v.int8, v.ortInt8)), fx(ratio(v.int8, v.f32)), pct(v.int8Pct), pct(v.f32Pct),
  ]);
  return `## Results (GOPS for int8, GFLOPS for f32; higher is better)

${table([
    'shape M×K×N', 'weights', 'thr', 'lowbit int8', 'lowbit int8 relaxed 7-bit', 'ORT MatMulInteger', 'ORT QLinearMatMul',
    'lowbit f32', 'ORT f32', 'tfjs-wasm f32', 'int8 / best ORT int8', 'int8 / lowbit f32', 'int8 % of bound', 'f32 % of bound',
  ], body)}

${LOAD_NOTE}
`;
}

function detailsSection(rows) {
  const body = rows.map((v) => [
    pretty(key(v.s)), v.threads,
    cell(v, 'int8u8'), fx(ratio(v.int8u8, v.ortQlmm)), fx(ratio(v.int8, v.ortMmi)),
    `${cell(v, 'relaxedFull')} (${v.fullLayout ?? '—'})`, `${v.sevenLayout ?? '—'}`, pct(v.relaxed7Pct), fx(ratio(v.relaxed7, v.ortInt8)),
    cell(v, 'f32Relaxed'), pct(v.f32RelaxedPct), fx(ratio(v.f32, Math.max(v.ortF32 ?? 0, v.tfjs ?? 0) || null)),
  ]);
  return `## Details

Like-for-like ratios (u8 output vs QLinearMatMul, int32 output vs MatMulInteger), the relaxed build with full-range weights (its layout in brackets), and the relaxed f32 GEMM (fused multiply-add).

${table([
    'shape', 'thr', 'lowbit int8 u8-out', 'u8-out / ORT QLinearMatMul', 'int8 / ORT MatMulInteger', 'relaxed full-range (layout)',
    'relaxed 7-bit layout', 'relaxed 7-bit % of bound', 'relaxed 7-bit / best ORT int8', 'lowbit f32 relaxed', 'f32 relaxed % of bound', 'lowbit f32 / best peer f32',
  ], body)}
`;
}

function checksSection(children, keys) {
  const lines = [];
  for (const c of children.filter((x) => x.simd === 'baseline')) {
    for (const k of keys) {
      const r = c.checks[k];
      if (!r) continue;
      const u8 = r.u8Mismatch === 0 ? 'equal' : `${r.u8Mismatch} of ${r.u8Count} differ, max by ${r.u8MaxDiff}`;
      const tf = r.f32RelDiffTfjs == null ? '' : `, vs tfjs ${r.f32RelDiffTfjs.toExponential(1)}`;
      lines.push(`- ${pretty(k)}, ${c.threads} thr: int32 vs ORT MatMulInteger **${r.i32Equal ? 'OK (bit-exact)' : 'MISMATCH'}**; u8 vs ORT QLinearMatMul ${u8}; f32 max |diff| / max |ORT| ${r.f32RelDiffOrt.toExponential(1)}${tf}`);
    }
  }
  const hashes = new Map();
  for (const c of children) {
    for (const k of keys) {
      const h = c.simd === 'baseline' ? c.checks[k]?.i32Hash : c.checks[k]?.fullHash;
      if (h) hashes.set(k, [...(hashes.get(k) ?? []), h]);
    }
  }
  for (const c of children.filter((x) => x.simd === 'relaxed')) {
    for (const k of keys) {
      const r = c.checks[k];
      if (!r) continue;
      const same = new Set(hashes.get(k)).size === 1;
      lines.push(`- ${pretty(k)}, relaxed ${c.threads} thr: full-range (c2) int32 output ${same ? 'identical to' : '**DIFFERS from**'} the baseline runs (hash); 7-bit c4 output ${r.sevenExact ? 'equals' : '**differs from**'} the c2 layout on the same weights`);
    }
  }
  return `## Correctness (same inputs through every engine)\n\n${lines.join('\n')}\n`;
}

function targetsSection(rows) {
  const get = (k, t) => rows.find((v) => key(v.s) === k && v.threads === t);
  const body = [];
  const check = (target, what, value, goal, show = fx) => {
    const status = value == null ? 'not measured' : value >= goal ? '**met**' : '**missed**';
    body.push([target, what, value == null ? '—' : show(value), `≥ ${show(goal)}`, status]);
  };
  for (const k of GEMM_TARGET_SHAPES) {
    const v = get(k, 1);
    check(`INT8 GEMM ${pretty(k)}`, 'lowbit int8 / fastest ORT int8', v && ratio(v.int8, v.ortInt8), 1.5);
    check(`INT8 GEMM ${pretty(k)}`, 'lowbit int8, % of dot_i16x8 ceiling', v?.int8Pct, 0.75, pct);
    check(`INT8 GEMM ${pretty(k)}`, 'relaxed 7-bit / fastest ORT int8', v && ratio(v.relaxed7, v.ortInt8), 2);
  }
  const g = get('1x4096x4096', 1);
  check('INT8 GEMV 1×4096×4096', 'lowbit int8 / fastest ORT int8', g && ratio(g.int8, g.ortInt8), 8);
  check('INT8 GEMV 1×4096×4096', 'lowbit int8, % of streaming bound', g?.int8Pct, 0.7, pct);
  check('INT8 GEMV 1×4096×4096', '(info) relaxed 7-bit / fastest ORT int8', g && ratio(g.relaxed7, g.ortInt8), 8);
  const f = get('128x768x3072', 1);
  check('f32 GEMM 128×768×3072', 'lowbit f32 / tfjs-wasm f32', f && ratio(f.f32, f.tfjs), 1.8);
  check('f32 GEMM 128×768×3072', 'lowbit f32 / ORT f32', f && ratio(f.f32, f.ortF32), 1.8);
  check('f32 GEMM 128×768×3072', '(info) lowbit f32 relaxed / best peer f32', f && ratio(f.f32Relaxed, Math.max(f.tfjs ?? 0, f.ortF32 ?? 0) || null), 1.8);
  for (const k of GEMM_TARGET_SHAPES) {
    const v = get(k, 1);
    check(`INT8 vs f32 ${pretty(k)}`, 'lowbit int8 / lowbit f32', v && ratio(v.int8, v.f32), 2);
  }
  const [one, two] = [get('128x768x3072', 1), get('128x768x3072', 2)];
  check('2 threads, 128×768×3072', 'lowbit int8: 2 threads / 1 thread', one && two && ratio(two.int8, one.int8), 1.7);
  check('2 threads, 128×768×3072', 'lowbit int8 relaxed 7-bit: 2 threads / 1 thread', one && two && ratio(two.relaxed7, one.relaxed7), 1.7);
  check('2 threads, 128×768×3072', 'lowbit f32: 2 threads / 1 thread', one && two && ratio(two.f32, one.f32), 1.7);
  return `## Targets (1 thread unless stated)

${table(['target', 'measure', 'measured', 'goal', 'status'], body)}
`;
}

export function renderReport(info) {
  const { rows, keys } = gather(info.children);
  const flags = ['--experimental-wasm-relaxed-simd', '--no-liftoff'].join(' ');
  return [
    header(info),
    ceilingsSection(info.children),
    mainSection(rows),
    targetsSection(rows),
    detailsSection(rows),
    checksSection(info.children, keys),
    method({ ...info, relaxedFlags: flags }),
  ].join('\n');
}
