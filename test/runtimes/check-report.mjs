// Checks one runtime's smoke report (the JSON line smoke.mjs's report prints) and prints a summary.
// Exit 1 with the reasons when a check fails. --sandboxed (workerd): the report must also show that
// eval and run-time wasm compilation were forbidden where it ran.
//   node test/runtimes/check-report.mjs LABEL THREADS REPORT.json [--sandboxed]
import { readFileSync } from 'node:fs';

const [label, threadsArg, file, flag] = process.argv.slice(2);
const threads = Number(threadsArg);
const expected = JSON.parse(readFileSync(new URL('./smoke-model.json', import.meta.url), 'utf8')).y;
/** float32 model against onnxruntime: rounding only */
const FLOAT_MAX_ABS = 1e-5;
/** int8 model against onnxruntime's float32: measured ~45 dB */
const INT8_BUDGET_DB = 30;

const text = readFileSync(file, 'utf8').trim().split('\n').filter((l) => l.startsWith('{')).pop();
const fails = [];
let r = {};
try {
  r = JSON.parse(text ?? '');
} catch {
  fails.push(`no JSON report in the output:\n${readFileSync(file, 'utf8').slice(0, 2000)}`);
}
const sqnrDb = (ref, got) => {
  let s = 0, e = 0;
  ref.forEach((v, i) => ((s += v * v), (e += (v - got[i]) ** 2)));
  return 10 * Math.log10(s / e);
};
let floatMaxAbs = NaN, int8Db = NaN;
if (r.error) fails.push(`the smoke test threw: ${r.error}`);
else if (text) {
  const f = r.features ?? {};
  if (!['baseline', 'relaxed'].includes(f.simd) || !f.reason) fails.push(`features: no build or reason: ${JSON.stringify(f)}`);
  if (f.threads !== threads) fails.push(`features.threads ${f.threads}, expected ${threads} (warnings: ${JSON.stringify(r.warnings)})`);
  if (f.sharedMemory !== threads > 1) fails.push(`features.sharedMemory ${f.sharedMemory} with threads ${threads}`);
  if (!r.linear?.ok) fails.push(`rt.linear int8: ${JSON.stringify(r.linear)}`);
  const m = r.model ?? {};
  if (JSON.stringify(m.dims) !== '[1,10]') fails.push(`model output dims ${JSON.stringify(m.dims)}`);
  else {
    floatMaxAbs = Math.max(...expected.map((v, i) => Math.abs(v - m.float32[i])));
    int8Db = sqnrDb(expected, m.int8);
    if (!(floatMaxAbs <= FLOAT_MAX_ABS)) fails.push(`float32 model: max |error| ${floatMaxAbs} vs onnxruntime > ${FLOAT_MAX_ABS}`);
    if (!(int8Db >= INT8_BUDGET_DB)) fails.push(`int8 model: ${int8Db.toFixed(2)} dB vs onnxruntime < ${INT8_BUDGET_DB} dB`);
  }
  for (const e of r.errors ?? []) if (!e.ok) fails.push(`bad argument without a typed LowbitError: ${JSON.stringify(e)}`);
  if (flag === '--sandboxed' && !(r.sandbox?.evalBlocked && r.sandbox?.wasmCompileBlocked)) {
    fails.push(`expected a sandbox forbidding eval and wasm compilation, got ${JSON.stringify(r.sandbox)}`);
  }
  if ((r.errors ?? []).length !== 3) fails.push(`expected 3 error checks, got ${(r.errors ?? []).length}`);
}
const f = r.features ?? {};
console.log(
  `${label}, threads ${threads}: ${fails.length ? 'FAIL' : 'ok'}; ${f.engine ?? '?'}; build ${f.simd ?? '?'} (${f.reason ?? '?'}); ` +
    `rt.linear int8 ${r.linear?.sqnrDb ?? '?'} dB (budget ${r.linear?.budgetDb ?? '?'}); model float32 max |err| ${floatMaxAbs.toExponential(1)}, ` +
    `int8 ${int8Db.toFixed(1)} dB vs onnxruntime; typed errors: ${(r.errors ?? []).map((e) => e.name).join(', ')}; ` +
    `create ${r.createMs ?? '?'} ms, run ${r.runMs ?? '?'} ms` +
    (r.sandbox ? `; eval ${r.sandbox.evalBlocked ? 'forbidden' : 'allowed'}, wasm compile ${r.sandbox.wasmCompileBlocked ? 'forbidden' : 'allowed'}` : '') + (r.warnings?.length ? `; warnings: ${r.warnings.join(' | ')}` : ''),
);
for (const x of fails) console.log(`  FAIL: ${x}`);
process.exit(fails.length ? 1 : 0);
