// Loads each built example app (examples/: Vite, webpack, esbuild; built by scripts/check-bundlers.sh
// from the packed package) in headless Chromium four times, each served by a tiny static server with
// other headers, and checks what the page wrote (#result's data-report) and what the browser said:
//   isolated  COOP/COEP: cross-origin isolated, so threads: 2 runs two threads, with no warning;
//   plain     no headers: exactly one console warning (saying which headers threads need), 1 thread;
//   csp       COOP/COEP and a strict Content-Security-Policy without 'unsafe-eval': threads: 2 still
//             runs (the worker is a file of the site, the wasm compiles under 'wasm-unsafe-eval'),
//             and the browser reports no violation (report-uri: the page's and the worker's, even
//             those the code caught); then a string of code the page runs must be refused and
//             reported, which shows the policy was in force and that a violation would be seen;
//   csp, not isolated   the same policy without COOP/COEP: the one-thread path, with its warning.
// Every mode: the float32 output equals onnxruntime's (test/runtimes/smoke-model.json), the int8 one
// is close to it, and both have the same bits in every app and mode (1 or 2 threads); no console
// error, page error, failed request or HTTP error.
//   node test/bundlers/check-apps.mjs NAME=SERVED_DIR ...   (exit 1 if a check fails)
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const EXPECTED = JSON.parse(fs.readFileSync(new URL('../runtimes/smoke-model.json', import.meta.url), 'utf8')).y;
/** the same budgets as the runtimes' smoke test (test/runtimes/check-report.mjs) */
const FLOAT_MAX_ABS = 1e-5;
const INT8_BUDGET_DB = 30;

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; report-uri /csp-report";
const MODES = {
  isolated: { headers: ISOLATION, threads: 2 },
  plain: { headers: {}, threads: 1 },
  csp: { headers: { ...ISOLATION, 'Content-Security-Policy': CSP }, threads: 2 },
  'csp, not isolated': { headers: { 'Content-Security-Policy': CSP }, threads: 1 },
};
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream' };

/** Serves the files under `dir` (GET/HEAD) with `headers` on every response; keeps the CSP reports POSTed. */
function serve(dir, headers, reports) {
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (pathname === '/csp-report' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        const r = JSON.parse(body)['csp-report'] ?? {};
        reports.push(`${r['effective-directive']} blocked ${r['blocked-uri']} in ${r['source-file'] ?? r['document-uri']}:${r['line-number']}`);
        res.writeHead(204).end();
      });
      return;
    }
    let file = path.resolve(dir, '.' + pathname);
    if (pathname.endsWith('/')) file = path.join(file, 'index.html');
    if (pathname === '/favicon.ico') return res.writeHead(204, headers).end(); // the browser asks for one
    if (!file.startsWith(dir + path.sep) || !['GET', 'HEAD'].includes(req.method)) return res.writeHead(403, headers).end();
    fs.readFile(file, (err, body) => {
      if (err) return res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
      res.writeHead(200, { ...headers, 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Waits up to `ms` for more than `count` reports (they arrive as separate requests); whether they did. */
async function settle(reports, ms, count = 0) {
  for (const until = Date.now() + ms; reports.length <= count && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
  return reports.length > count;
}

const sqnrDb = (ref, got) => {
  let s = 0, e = 0;
  ref.forEach((v, i) => ((s += v * v), (e += (v - got[i]) ** 2)));
  return 10 * Math.log10(s / e);
};

/** the first run's outputs, which every other run must give bit for bit */
let first;

/** Loads the app `name` (built in `dir`) under `mode` in a fresh context; returns { fails, summary }. */
async function check(browser, name, dir, modeName) {
  const mode = MODES[modeName];
  const csp = 'Content-Security-Policy' in mode.headers;
  const reports = []; // CSP violations the browser reported
  const server = await serve(dir, mode.headers, reports);
  const context = await browser.newContext();
  const page = await context.newPage();
  const warnings = [], problems = [];
  const onConsole = (where) => (m) => {
    if (m.type() === 'warning') warnings.push(`${where}${m.text()}`);
    else if (m.type() === 'error') problems.push(`console error ${where}${m.text()}`);
  };
  page.on('console', onConsole(''));
  page.on('worker', (w) => w.on?.('console', onConsole('(worker) ')));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  const fails = [];
  let report = {}, evalBlocked, appReports; // appReports: those before the positive control
  const t0 = performance.now();
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`, { timeout: 15_000 });
    await page.waitForSelector('#result[data-report]', { timeout: 30_000 });
    report = JSON.parse(await page.getAttribute('#result', 'data-report'));
    if (csp) {
      await settle(reports, 500);
      appReports = reports.slice();
      // a positive control: a string of code run by the page itself (setTimeout compiles it as eval
      // does) must be refused and reported (evaluate's own code is exempt from the page's CSP)
      const [before, reported] = [problems.length, reports.length];
      await page.evaluate(() => new Promise((done) => { setTimeout('window.__evalRan = true', 0); setTimeout(done, 50); }));
      evalBlocked = (await page.evaluate(() => window.__evalRan)) !== true;
      const seen = await settle(reports, 5000, reported);
      if (!evalBlocked || !seen) fails.push(`the CSP did not refuse and report a string of code (refused ${evalBlocked}, reported ${seen})`);
      problems.splice(before); // its console error is the expected one
    }
  } catch (e) {
    fails.push(`the page did not finish: ${e.message.split('\n')[0]}; it shows: ${await page.textContent('#result').catch(() => '?')}`);
  }
  const ms = performance.now() - t0;
  fails.push(...(appReports ?? reports).map((r) => `CSP violation: ${r}`));
  await context.close();
  server.close();

  if (report.error) fails.push(`the app failed: ${report.error}`);
  const f = report.features ?? {};
  if (report.features) {
    if (f.threads !== mode.threads) fails.push(`threads ${f.threads}, expected ${mode.threads}`);
    if (report.crossOriginIsolated !== (mode.threads > 1)) fails.push(`crossOriginIsolated ${report.crossOriginIsolated}`);
  }
  let floatMaxAbs = NaN, int8Db = NaN;
  if (report.float32) {
    floatMaxAbs = Math.max(...EXPECTED.map((v, i) => Math.abs(v - report.float32[i])));
    int8Db = sqnrDb(EXPECTED, report.int8);
    if (!(floatMaxAbs <= FLOAT_MAX_ABS)) fails.push(`float32 output: max |error| ${floatMaxAbs} vs onnxruntime > ${FLOAT_MAX_ABS}`);
    if (!(int8Db >= INT8_BUDGET_DB)) fails.push(`int8 output: ${int8Db.toFixed(1)} dB vs onnxruntime < ${INT8_BUDGET_DB} dB`);
    const outputs = JSON.stringify([report.float32, report.int8]);
    first ??= { outputs, where: `${name}, ${modeName}` };
    if (outputs !== first.outputs) fails.push(`the outputs differ from those of ${first.where}`);
  }
  if (mode.threads === 1) {
    const ok = warnings.length === 1 && /cross-origin isolated page.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/.test(warnings[0]);
    if (!ok) fails.push(`expected exactly one warning naming the COOP/COEP headers, got ${JSON.stringify(warnings)}`);
  } else if (warnings.length) fails.push(`warnings: ${JSON.stringify(warnings)}`);
  fails.push(...problems);
  const summary =
    `${f.simd ?? '?'} x${f.threads ?? '?'}, float32 max |err| ${floatMaxAbs.toExponential(1)}, int8 ${int8Db.toFixed(1)} dB vs onnxruntime` +
    (mode.threads === 1 ? `, ${warnings.length} warning` : '') + (csp ? `, eval refused: ${evalBlocked}` : '') +
    ` (${ms.toFixed(0)} ms)`;
  return { fails, summary };
}

const apps = process.argv.slice(2).map((a) => a.split('='));
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  timeout: 20_000,
});
let failed = 0;
try {
  for (const [name, dir] of apps) {
    for (const mode of Object.keys(MODES)) {
      const { fails, summary } = await check(browser, name, path.resolve(dir), mode);
      console.log(`${name}, ${mode}: ${fails.length ? 'FAIL' : 'ok'}; ${summary}`);
      for (const x of fails) console.log(`  FAIL: ${x}`);
      failed += fails.length ? 1 : 0;
    }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
