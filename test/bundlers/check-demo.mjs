// The demo page (examples/demo) built from this checkout with Vite and driven in headless Chromium:
// served as `npm run demo:web` serves it (vite preview, cross-origin isolated), a held-out labelled
// text line is uploaded through the page's file input, then dropped on its drop zone, and both readings (float32 and int8) must be
// the line's label, with their times, on 2 threads, with the per-layer chart drawn, and no console
// error, page error or failed request. Writes a screenshot of the page (default reports/demo.png).
// Run after `npm run build`:  node test/bundlers/check-demo.mjs [SCREENSHOT.png]   (exit 1 on a failure)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOT = path.resolve(process.argv[2] ?? path.join(root, 'reports/demo.png'));
/** a line of the held-out part (never calibrated on), and its label */
const LINE = path.join(root, 'packages/cli/data/ocr-lines/0011.png');
const LABEL = fs.readFileSync(path.join(root, 'packages/cli/data/ocr-lines/labels.tsv'), 'utf8').split('\n')
  .map((r) => r.split('\t')).find(([f]) => f === path.basename(LINE))[1];

const t0 = performance.now();
fs.mkdirSync(path.dirname(SHOT), { recursive: true });
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-demo-'));
const demo = path.join(root, 'examples/demo');
await build({ root: demo, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
const server = await preview({ root: demo, logLevel: 'warn', build: { outDir }, preview: { port: 0, host: '127.0.0.1', open: false } });
const url = server.resolvedUrls.local[0];
console.log(`demo: built in ${((performance.now() - t0) / 1000).toFixed(1)} s, served at ${url}`);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  timeout: 20_000,
});
const fails = [];
/** Waits for the page's report on the image `name` (an earlier image's report is removed when one is read). */
async function result(page, name) {
  await page.waitForSelector('#result[data-report]', { timeout: 30_000 });
  const report = JSON.parse(await page.getAttribute('#result', 'data-report'));
  if (!report.error && report.name !== name) throw new Error(`the report is on ${report.name}, expected ${name}`);
  return report;
}
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && fails.push(`console ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => fails.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => fails.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => r.status() >= 400 && fails.push(`HTTP ${r.status()}: ${r.url()}`));
  const t1 = performance.now();
  await page.goto(url, { timeout: 15_000 });
  await page.waitForSelector('#sample-line:not([disabled]), #status.error', { timeout: 60_000 });
  const loaded = performance.now() - t1;
  // the line through the file input, then dropped on the drop zone: both must read it
  await page.setInputFiles('#file', LINE);
  let report = await result(page, path.basename(LINE));
  const read = performance.now() - t1 - loaded;
  const dt = await page.evaluateHandle(([b64, name]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'image/png' }));
    return dt;
  }, [fs.readFileSync(LINE).toString('base64'), 'dropped.png']);
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
  const dropped = await result(page, 'dropped.png');
  if (JSON.stringify([dropped.float32?.text, dropped.int8?.text]) !== JSON.stringify([report.float32?.text, report.int8?.text])) {
    fails.push(`the dropped line read ${JSON.stringify([dropped.float32?.text, dropped.int8?.text])}, the uploaded one ${JSON.stringify([report.float32?.text, report.int8?.text])}`);
  }
  report = dropped;
  await page.screenshot({ path: SHOT, fullPage: true });
  if (report.error) fails.push(`the page failed: ${report.error}`);
  for (const n of ['float32', 'int8']) {
    const r = report[n];
    if (r?.text !== LABEL) fails.push(`${n} read ${JSON.stringify(r?.text)}, expected ${JSON.stringify(LABEL)}`);
    if (!(r?.ms > 0)) fails.push(`${n}: no time shown (${r?.ms})`);
    const shown = await page.textContent(`#text-${n}`);
    if (shown !== LABEL) fails.push(`#text-${n} shows ${JSON.stringify(shown)}`);
  }
  if (report.kind !== 'line') fails.push(`read as ${report.kind}, expected a line`);
  if (report.features?.threads !== 2) fails.push(`threads ${report.features?.threads}, expected 2 (the page is cross-origin isolated)`);
  const bars = await page.locator('#chart svg rect').count();
  if (!(bars > 0 && bars === report.layers)) fails.push(`the chart has ${bars} bars for ${report.layers} layers`);
  console.log(`demo: ${path.basename(LINE)} read as ${JSON.stringify(report.float32?.text)} (float32, ${report.float32?.ms?.toFixed(1)} ms) and ${JSON.stringify(report.int8?.text)} (int8, ${report.int8?.ms?.toFixed(1)} ms); ` +
    `${report.features?.simd} x${report.features?.threads}, ${bars} layer bars; page ready in ${(loaded / 1000).toFixed(1)} s (models loaded, int8 quantized), line read in ${(read / 1000).toFixed(1)} s (uploaded, then dropped); screenshot ${SHOT}`);
} catch (e) {
  fails.push(`the page did not finish: ${e.message.split('\n')[0]}`);
} finally {
  await browser.close();
  await server.close();
  fs.rmSync(outDir, { recursive: true, force: true });
}
for (const f of fails) console.log(`  FAIL: ${f}`);
console.log(`demo: ${fails.length ? 'FAIL' : 'ok'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exit(fails.length ? 1 : 0);
