#!/usr/bin/env node
// Mutation testing of the quantization code with StrykerJS (mutation/stryker.config.mjs), then a
// summary of its JSON report: the score per file and every surviving mutant (file:line, mutator,
// replacement), so each survivor can be killed by a test or judged harmless in mutation/RESULTS.md.
// Not part of CI: a run takes from minutes (one file) to hours (the whole scope) on 2 cores.
// node_modules must be a real folder (Stryker links it into its sandbox; a link to a folder is not
// seen, and tests that read model files under ../node_modules then fail the initial run).
//
//   node mutation/run.mjs                                  the whole scope of the config
//   node mutation/run.mjs src/quant/q8.ts src/quant/int4.ts  only these files
//   node mutation/run.mjs src/quant/int4.ts --tests test/qb4.test.ts,test/gptq.test.ts
//                                                          score against those test files only
//   node mutation/run.mjs --summary                        summarise the last report only

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const report = `${root}reports/mutation/mutation.json`;
const args = process.argv.slice(2);

if (!args.includes('--summary')) {
  if (!existsSync(`${root}build/baseline.wasm`) || !existsSync(`${root}dist/index.js`)) {
    console.error('mutation/run.mjs: run `npm run build` first (the tests need build/ and dist/)');
    process.exit(1);
  }
  const t = args.indexOf('--tests');
  const tests = t >= 0 ? args[t + 1] ?? '' : '';
  const files = args.filter((a, i) => !a.startsWith('--') && !(t >= 0 && i === t + 1));
  const res = spawnSync('npx', ['stryker', 'run', 'mutation/stryker.config.mjs'], {
    cwd: root, stdio: 'inherit', env: { ...process.env, MUTATE: files.join(','), MUTATION_TESTS: tests },
  });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

const { files } = JSON.parse(readFileSync(report, 'utf8'));
const DETECTED = new Set(['Killed', 'Timeout']);
const rows = [];
const survivors = [];
let detected = 0, valid = 0;
for (const [file, { mutants }] of Object.entries(files)) {
  const count = (s) => mutants.filter((m) => m.status === s).length;
  const d = mutants.filter((m) => DETECTED.has(m.status)).length;
  const v = mutants.filter((m) => m.status !== 'CompileError' && m.status !== 'RuntimeError' && m.status !== 'Ignored').length;
  detected += d;
  valid += v;
  rows.push(`| ${file} | ${v} | ${count('Killed')} | ${count('Timeout')} | ${count('Survived')} | ${count('NoCoverage')} | ${v ? ((100 * d) / v).toFixed(1) : '-'}% |`);
  for (const m of mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
    survivors.push(`- ${file}:${m.location.start.line} ${m.status === 'NoCoverage' ? '(no test covers it) ' : ''}${m.mutatorName}: \`${String(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100)}\``);
  }
}
console.log(`\n| file | mutants | killed | timed out | survived | no coverage | score |\n|---|---|---|---|---|---|---|\n${rows.join('\n')}`);
console.log(`\nmutation score: ${valid ? ((100 * detected) / valid).toFixed(1) : '-'}% (${detected} of ${valid} detected)`);
if (survivors.length) console.log(`\nsurvivors:\n${survivors.join('\n')}`);
