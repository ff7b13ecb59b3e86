// Browser smoke test: the package (src/ compiled by tsc as /dist/, and build/*.wasm) loaded as an ES
// module in a real Chromium, served over http with cross-origin isolation (COOP/COEP) so that threads: 2 gets a
// shared WebAssembly.Memory and Web Workers. The page (page.html, smoke.js) runs matMulInteger and
// packQs8/runQs8 on every build and thread count and reports back; this file checks the report.
//
// Needs Debian's chromium (`apt-get install -y chromium`; .ci/run installs it), driven through
// playwright-core (no browser download). CHROMIUM_PATH overrides /usr/bin/chromium.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createRuntime, loadModel, mulberry32, quantizeModel } from '../../src/index.js';
import { OnnxBuilder } from '../onnx-builder.js';

const ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
import { CHROMIUM, hasSystemPackage } from '../system-packages.js';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

const notFound: string[] = []; // paths the server answered 404

/** Serves ROOT, /dist/ from `dist`, with cross-origin isolation headers; only GET/HEAD of files inside. */
function serve(dist: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const [base, rel] = pathname.startsWith('/dist/') ? [dist, pathname.slice(5)] : [ROOT, pathname];
    const file = path.resolve(base, '.' + rel);
    if (!file.startsWith(base + path.sep) || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(403, headers).end();
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        notFound.push(pathname);
        res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: ${pathname}`);
        return;
      }
      const type = MIME[path.extname(file)] ?? 'application/octet-stream';
      res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * The page loads /dist/index.js, compiled here from the current src/ (tsc, the project's tsconfig)
 * into a temporary folder served as /dist/, so the test never runs a stale dist/ and never writes it
 * while other tests read it. The wasm is the repo's build/ (as for every other test).
 */
async function compileDist(): Promise<string> {
  for (const name of ['baseline', 'relaxed', 'baseline-mt', 'relaxed-mt']) {
    if (!fs.existsSync(path.join(ROOT, `build/${name}.wasm`))) throw new Error(`build/${name}.wasm is missing: run \`npm run build\` first`);
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-dist-'));
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const args = [tsc, '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'];
  // type errors are not this test's business (tsc still emits); a missing output is
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  if (!fs.existsSync(path.join(out, 'index.js'))) {
    throw new Error(`tsc emitted no index.js (exit ${result.code}):\n${result.output}`);
  }
  // the package's bare imports (onnx-proto, CommonJS; @noble/hashes) as ES modules for the page's
  // import map (page.html): what a user without a bundler does; bundlers resolve them themselves
  const rolldown = path.join(ROOT, 'node_modules/rolldown/bin/cli.mjs');
  const vendored: [string, string][] = [
    ['node_modules/onnx-proto/dist/onnx.js', 'onnx-proto.js'],
    ['node_modules/@noble/hashes/sha2.js', 'noble-sha2.js'],
    ['node_modules/@noble/hashes/utils.js', 'noble-utils.js'],
  ];
  for (const [from, to] of vendored) {
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [rolldown, path.join(ROOT, from), '--format', 'esm', '--file', path.join(out, 'vendor', to)], { cwd: ROOT }, (err, _o, stderr) =>
        err ? reject(new Error(`bundling ${from} for the page failed: ${stderr}`)) : resolve(),
      );
    });
  }
  fs.writeFileSync(path.join(out, 'smoke-model.onnx'), smokeModel());
  return out;
}

/**
 * The page's model: Conv 3x3 -> BatchNorm -> HardSwish (decomposed) -> depthwise Conv -> GAP ->
 * Flatten -> MatMul + bias -> Softmax, so the import, the rewrites, the plan, the layers and the
 * worker pool all run in the browser.
 */
function smokeModel(): Uint8Array {
  const r = mulberry32(5);
  const w = (n: number, s = 0.3) => Array.from({ length: n }, () => (r() * 2 - 1) * s);
  const b = new OnnxBuilder(13).input('x', [1, 3, 12, 10]).output('y')
    .init('w1', [16, 3, 3, 3], w(432)).init('bn_s', [16], w(16, 1).map((v) => 1 + v * 0.1)).init('bn_b', [16], w(16))
    .init('bn_m', [16], w(16, 0.1)).init('bn_v', [16], w(16, 0.1).map((v) => 1 + Math.abs(v))).init('three', [], [3]).init('six', [], [6])
    .init('zero', [], [0]).init('w2', [16, 1, 3, 3], w(144)).init('fc', [16, 10], w(160)).init('fcb', [10], w(10))
    .node('Conv', ['x', 'w1'], 'c1', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 1] })
    .node('BatchNormalization', ['c1', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], 'bn')
    .node('Add', ['bn', 'three'], 'h1').node('Clip', ['h1', 'zero', 'six'], 'h2').node('Mul', ['bn', 'h2'], 'h3').node('Div', ['h3', 'six'], 'hs')
    .node('Conv', ['hs', 'w2'], 'c2', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 16 })
    .node('GlobalAveragePool', ['c2'], 'g').node('Flatten', ['g'], 'f')
    .node('MatMul', ['f', 'fc'], 'm').node('Add', ['m', 'fcb'], 'logits').node('Softmax', ['logits'], 'y', { axis: -1 });
  return b.build();
}

interface Check {
  op: string;
  shape: string;
  layout?: string;
  type?: string;
  dims?: number[];
  mismatch: string | null;
  digest: string;
}

interface Run {
  name: string;
  options: { simd: string; threads?: number };
  features?: { simd: string; threads: number; sharedMemory: boolean; relaxedSimdValid: boolean; relaxedDotExact: boolean | null; reason: string; engine: string };
  warnings?: string[];
  checks?: Check[];
  createMs?: number;
  runMs?: number;
  error?: string;
}

interface Report {
  crossOriginIsolated: boolean;
  sharedArrayBuffer: boolean;
  userAgent: string;
  hardwareConcurrency: number;
  runs: Run[];
}

describe.runIf(hasSystemPackage('chromium'))('in Chromium (cross-origin isolated page, /dist/index.js as an ES module)', () => {
  let server: http.Server | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let dist: string | undefined;
  const problems: string[] = []; // console errors, page errors, failed requests
  const timings: Record<string, number> = {};

  // Set up once, awaited by every test (not a beforeAll, whose failure vitest reports as skipped
  // tests): without Chromium each test fails with the message saying to install it.
  let setup: Promise<Report> | undefined;
  const getReport = () => (setup ??= start());

  async function start(): Promise<Report> {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: the browser test needs it. Install it with ` +
          '`apt-get update && apt-get install -y chromium` (Debian; .ci/run does this), or set CHROMIUM_PATH.',
      );
    }
    let t = performance.now();
    dist = await compileDist();
    timings.compileMs = performance.now() - t;
    t = performance.now();
    server = await serve(dist);
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 20_000,
    });
    timings.launchMs = performance.now() - t;
    const page: Page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    // strings, not functions, for the page: vitest's transform of a function body could use helpers it lacks
    t = performance.now();
    await page.goto(`${origin}/test/browser/page.html`, { timeout: 10_000 });
    await page.waitForFunction("typeof window.lowbitSmoke === 'function'", null, { timeout: 10_000 });
    timings.loadMs = performance.now() - t;
    t = performance.now();
    const report = (await page.evaluate('window.lowbitSmoke()')) as Report;
    timings.smokeMs = performance.now() - t;
    console.log(
      `browser: ${report.userAgent}\n` +
        report.runs
          .map((r) => `  ${r.name.padEnd(12)} ${r.features ? `${r.features.simd} x${r.features.threads}: ${r.features.reason}` : r.error} ` +
            `(create ${r.createMs?.toFixed(1)} ms, run ${r.runMs?.toFixed(1)} ms)`)
          .join('\n') +
        `\n  tsc ${timings.compileMs.toFixed(0)} ms, launch ${timings.launchMs.toFixed(0)} ms, page load ${timings.loadMs.toFixed(0)} ms, smoke ${timings.smokeMs.toFixed(0)} ms`,
    );
    return report;
  }

  afterAll(async () => {
    await context?.close().catch(() => {});
    await new Promise((r) => (server ? server.close(() => r(null)) : r(null)));
    for (const dir of [profile, dist]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (report: Report, name: string): Run => {
    const r = report.runs.find((x) => x.name === name);
    if (!r) throw new Error(`no run '${name}' in the report`);
    if (r.error) throw new Error(`run '${name}' failed in the browser: ${r.error}`);
    return r;
  };

  it('is cross-origin isolated, with SharedArrayBuffer', async () => {
    const report = await getReport();
    expect(report.crossOriginIsolated).toBe(true);
    expect(report.sharedArrayBuffer).toBe(true);
  });

  it("simd: 'auto' picks the relaxed build (on by default in Chromium) after an exact probe", async () => {
    const report = await getReport();
    const f = run(report, 'auto').features!;
    expect(f).toMatchObject({ simd: 'relaxed', threads: 1, sharedMemory: false, relaxedSimdValid: true, relaxedDotExact: true });
    expect(f.reason).toMatch(/probed exact/);
    expect(f.engine).toMatch(/Chrom/);
  });

  it("simd: 'baseline' runs the baseline build", async () => {
    const report = await getReport();
    expect(run(report, 'baseline').features).toMatchObject({ simd: 'baseline', threads: 1, sharedMemory: false });
  });

  it('threads: 2 really runs two threads over shared memory, without warnings', async () => {
    const report = await getReport();
    expect(run(report, 'auto-2t').features).toMatchObject({ simd: 'relaxed', threads: 2, sharedMemory: true });
    expect(run(report, 'baseline-2t').features).toMatchObject({ simd: 'baseline', threads: 2, sharedMemory: true });
    for (const r of report.runs) expect(r.warnings, r.name).toEqual([]);
  });

  it('matMulInteger and runQs8 equal refMatMulInteger on every build and thread count', async () => {
    const report = await getReport();
    for (const r of report.runs) {
      const checks = run(report, r.name).checks!;
      expect(checks.length).toBe(6);
      for (const c of checks) expect(c.mismatch, `${r.name} ${c.op} ${c.shape}`).toBeNull();
      for (const c of checks.filter((c) => c.op === 'matMulInteger')) expect(c.type).toBe('int32');
      // 7-bit weights go through the relaxed build's c4 kernel, the baseline's c2 otherwise
      const layout = r.features!.simd === 'relaxed' ? 'c4' : 'c2';
      for (const c of checks.filter((c) => c.op === 'runQs8')) expect(c.layout, `${r.name} ${c.shape}`).toBe(layout);
    }
  });

  it('gives identical bits whatever the build or thread count', async () => {
    const report = await getReport();
    const key = (c: Check) => `${c.op} ${c.shape}`;
    const integer = (c: Check) => !c.op.startsWith('model');
    const first = new Map(run(report, 'auto').checks!.filter(integer).map((c) => [key(c), c.digest]));
    for (const r of report.runs) {
      for (const c of run(report, r.name).checks!.filter(integer)) expect(c.digest, `${r.name} ${key(c)}`).toBe(first.get(key(c)));
    }
  });

  it('runs an ONNX model in float32 and int8 with the same bits as Node on the baseline build', async () => {
    const report = await getReport();
    const rt = await createRuntime({ simd: 'baseline' });
    try {
      const model = loadModel(rt, smokeModel());
      const r = mulberry32(77);
      const x = { type: 'float32' as const, data: Float32Array.from({ length: 360 }, () => r() * 2 - 1), dims: [1, 3, 12, 10] };
      const y = Object.values(await model.run({ x }))[0];
      const q = await quantizeModel(model, { scheme: 'int8', calibration: [{ x }] });
      const yq = Object.values(await q.run({ x }))[0];
      const fnv = (a: Float32Array) => {
        let h = 0x811c9dc5;
        for (const v of new Uint8Array(a.buffer, a.byteOffset, a.byteLength)) h = Math.imul(h ^ v, 0x01000193) >>> 0;
        return h.toString(16).padStart(8, '0');
      };
      for (const name of ['baseline', 'baseline-2t']) {
        const c = run(report, name).checks!;
        expect(c.find((k) => k.op === 'model float32')!.digest, name).toBe(fnv(y.data));
        expect(c.find((k) => k.op === 'model int8')!.digest, name).toBe(fnv(yq.data));
      }
      // the relaxed build (FMA in its float kernels) agrees with itself across thread counts
      const auto = (n: string) => run(report, n).checks!.filter((k) => k.op.startsWith('model')).map((k) => k.digest);
      expect(auto('auto-2t')).toEqual(auto('auto'));
      expect(model.fusions.foldedBatchNorms + model.fusions.activations + model.fusions.fusedConvs + model.fusions.fusedMatMuls).toBeGreaterThanOrEqual(4);
      q.dispose();
      model.dispose();
    } finally {
      rt.dispose();
    }
  });

  it('logs no errors or warnings and fails no request', async () => {
    const report = await getReport();
    expect(notFound).toEqual([]);
    expect(problems).toEqual([]);
  });
});
