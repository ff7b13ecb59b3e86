#!/usr/bin/env node
// The lowbit command line.

import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { reportError } from './cli-errors.js';
import { runDemo } from './demo.js';
import { DEMO_SCHEMES, runModelDemo, type DemoScheme } from './model-demo.js';
import { runStudy } from './study.js';
import { benchModelCommand, compareModelCommand, quantizeModelCommand, runModelCommand } from './model-commands.js';
import { registerWakeword } from './wakeword-command.js';
import { pruneCommand } from './prune-command.js';
import { addOcrCommand } from './ocr-command.js';
import { FORMAT_NAMES, WEIGHT_FORMATS } from 'lowbit';

/** quantizeModel's schemes: every weight format, and the auto-mixed search */
const SCHEMES = [...FORMAT_NAMES, 'auto'];
const schemeHelp = `quantization scheme: ${WEIGHT_FORMATS.map((f) => `${f.name} (${f.summary})`).join('; ')}; auto (a format per layer by its measured effect on the output, within a budget: --max-sqnr-drop, --max-mib)`;

function positiveInt(name: string, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be an integer from 1 to ${max}`);
    return n;
  };
}

function nonNegative(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0`);
    return n;
  };
}

function fraction(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!(v.trim() !== '' && n >= 0 && n < 1)) throw new InvalidArgumentError(`${name} must be a fraction in [0, 1)`);
    return n;
  };
}

function schemeList(v: string): DemoScheme[] {
  const list = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = list.filter((s) => !DEMO_SCHEMES.includes(s));
  if (list.length === 0 || bad.length > 0) throw new InvalidArgumentError(`expected a comma-separated list of ${DEMO_SCHEMES.join(', ')}; got '${v}'`);
  return list as DemoScheme[];
}

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('lowbit')
  .description('low-precision neural-network inference in WebAssembly SIMD, with its error against float32')
  .version(version, '-V, --version', 'print the version')
  .option('--verbose', 'print the stack trace of an error', false);

program
  .command('demo')
  .description('run the built-in model (PP-OCRv4 text recognizer) on the built-in text lines in float32 and quantized, beside onnxruntime-web: accuracy, latency, size, per-layer error')
  .option('-t, --threads <t>', 'threads (the main thread included)', positiveInt('--threads', 64), 1)
  .addOption(new Option('--simd <build>', 'wasm build').choices(['auto', 'baseline', 'relaxed']).default('auto'))
  .option('-l, --lines <n>', 'use only the first n text lines', positiveInt('--lines', 100000))
  .option('--calibrate-every <k>', 'per font, every k-th line calibrates quantization; the other lines are scored', positiveInt('--calibrate-every', 1000), 4)
  .option('--no-ort', 'leave out onnxruntime-web')
  .option('--schemes <list>', `quantized schemes to run, comma-separated (float32 always runs; default: ${DEMO_SCHEMES.join(',')})`, schemeList)
  .option('--html <file>', 'also write a self-contained HTML report')
  .option('--json', 'print JSON instead of tables', false)
  .action(async (o) => {
    await runModelDemo({ threads: o.threads, simd: o.simd, lines: o.lines, calibrateEvery: o.calibrateEvery, json: o.json, html: o.html, ort: o.ort, schemes: o.schemes });
  });

program
  .command('study')
  .argument('[model]', 'an .onnx file (default: the built-in PP-OCRv4 recognizer)')
  .description('quantize every weight tensor in int8, fp8 (E4M3, E5M2), the best FPx with a searched exponent bias, int4 and ANT 4-bit; print SQNR per tensor and which format wins')
  .option('--limit <n>', 'only the first n weight tensors', positiveInt('--limit', 100000))
  .option('--json', 'print JSON instead of tables', false)
  .action(async (model, o) => {
    await runStudy({ model, json: o.json, limit: o.limit });
  });

const collect = (v: string, prev: string[]) => [...prev, v];
const modelOptions = (c: Command) =>
  c
    .option('-i, --input <name=file.json>', 'an input from a JSON file { "dims": [...], "data": [...] } (repeatable)', collect, [])
    .option('-s, --shape <name=d0,d1,...>', 'random normal input of these dims (repeatable)', collect, [])
    .option('-t, --threads <t>', 'threads (the main thread included)', positiveInt('--threads', 64), 1)
    .addOption(new Option('--simd <build>', 'wasm build').choices(['auto', 'baseline', 'relaxed']).default('auto'))
    .option('--json', 'print JSON', false);

modelOptions(program.command('run').argument('<model>', 'an .onnx file').description('run an ONNX model (float32, or with --quantized weights) and summarize its outputs'))
  .option('-q, --quantized <file>', 'the quantized weights `lowbit quantize` saved for this model')
  .action(async (model, o) => runModelCommand({ model, ...o }));

/** calibration and the 'auto' search's budget */
const calibrationOptions = (c: Command) =>
  c
    .option('--calibrate <n>', 'random calibration inputs (only with --calibrate-random; real ones come from --input files)', positiveInt('--calibrate', 1000), 4)
    .option('--calibrate-random', 'calibrate on random normals of --shape when no --input file is given (ranges fit no real input)', false)
    .addOption(new Option('--method <method>', 'how int4 and fp8 weights (and auto\'s int4 candidates) are rounded: gptq (GPTQ with act-order on the calibration inputs; the default with --input files) or rtn (round to nearest: quicker; the default with --calibrate-random)').choices(['gptq', 'rtn']))
    .option('--max-sqnr-drop <dB>', "auto: output SQNR against float32 at most this many dB below the int8 baseline's (default 1)", nonNegative('--max-sqnr-drop'))
    .addOption(new Option('--auto-baseline <kind>', "auto: what the budget and the held-back check compare against: int8 (the model --scheme int8 gives; layers its shape rule keeps float32 stay float32, unsearched; the default) or all-int8 (every layer int8, every layer searched)").choices(['int8', 'all-int8']))
    .option('--max-mib <MiB>', 'auto: weights at most this many MiB', nonNegative('--max-mib'))
    .option('--max-slowdown <fraction>', "auto: the mix at most this much slower than all-int8, by the cost table per GEMM shape (timed here with --speed-check; default 0.05 with a dB budget; 'off': speed not weighed)", (v: string) => (v === 'off' ? 'off' : nonNegative('--max-slowdown')(v)))
    .option('--candidates <list>', `auto: formats a layer may take, comma-separated (default: ${[...WEIGHT_FORMATS.filter((f) => f.autoCandidate !== false).map((f) => f.name), 'float32'].join(',')})`, (v: string) => v.split(',').map((x) => x.trim()).filter((x) => x))
    .option('--classifier', 'auto: the outputs are class scores (top-1 agreement counts); default: any output with a last axis > 1')
    .option('--no-classifier', 'auto: top-1 agreement means nothing for this model')
    .option('--speed-check', 'time every layer in float32 and quantized on this engine and keep float32 where the quantized one is slower (auto: its speed budget timed here, not from the cost table)', false)
    .option('--every-layer', "int8: quantize every layer, also those whose GEMM is too small for int8 to beat float32 (by default they stay float32: speed 'shape')", false)
    .option('--integer-only', "I-ViT: attention's softmax (Shiftmax), LayerNormalization (I-LayerNorm) and a linear layer's x·sigmoid(αx) (ShiftGELU) run on integer-only kernels with static scales from the calibration inputs", false)
    .addOption(new Option('--attention <kind>', "com.microsoft MultiHeadAttention and GroupQueryAttention: 'int8' runs QKᵀ and PV in int8 with K/V scales per kv head from the calibration inputs (a decoder's KV cache rows stay on that grid); default float32").choices(['float32', 'int8']))
    .addOption(new Option('--pattern <pattern>', 'int8-sparse: the sparsity pattern (default block4x4)').choices(['block4x4', 'unstructured', '2:4', 'srbcrs']))
    .option('--sparsity <fraction>', 'int8-sparse: the fraction of weights pruned, in [0, 1) (default 0.5)', fraction('--sparsity'))
    .addOption(new Option('--prune <method>', "int8-sparse: 'obc' (default: Optimal Brain Compression from the calibration inputs' layer Hessians, slower) or 'magnitude'").choices(['obc', 'magnitude']));

calibrationOptions(modelOptions(program.command('quantize').argument('<model>', 'an .onnx file').description('quantize a model with calibration and save its quantized weights (safetensors) to reload without requantizing, or as an ONNX file for other runtimes')))
  .addOption(new Option('--scheme <scheme>', schemeHelp).choices(SCHEMES).default('int8'))
  .option('-o, --out <file>', 'where to write the quantized weights (.safetensors)')
  .option('--onnx <file>', 'also (or instead) write an ONNX file onnxruntime runs: QDQ int8, MatMulNBits int4, float32 weights for the other formats')
  .action(async (model, o) => quantizeModelCommand({ model, ...o }));

/** a list of fractions in (0, 1), comma-separated */
function fractionList(name: string) {
  return (v: string) => {
    const list = v.split(',').map((x) => x.trim());
    if (list.some((x) => !(x !== '' && Number(x) > 0 && Number(x) < 1))) throw new InvalidArgumentError(`${name} must be fractions in (0, 1), comma-separated`);
    return list.map(Number);
  };
}

const PATTERNS = ['block4x4', 'unstructured', '2:4', 'srbcrs'];
modelOptions(program.command('prune').argument('<model>', 'an .onnx file').description("prune and quantize to int8-sparse within a latency budget: each layer's pattern and sparsity (or dense int8) chosen from latencies measured on this engine and OBC's output error; prints the plan, the measured speed-up and the output error, and saves with -o"))
  .requiredOption('--latency <fraction>', "the prunable layers' time as a fraction of dense int8's, in (0, 1] (e.g. 0.7)", (v: string) => {
    const n = Number(v);
    if (!(v.trim() !== '' && n > 0 && n <= 1)) throw new InvalidArgumentError('--latency must be a fraction in (0, 1]');
    return n;
  })
  .option('--pattern <list>', `patterns to try, comma-separated: ${PATTERNS.join(', ')} (default block4x4,unstructured)`, (v: string) => {
    const list = v.split(',').map((x) => x.trim());
    if (list.some((x) => !PATTERNS.includes(x))) throw new InvalidArgumentError(`--pattern must be a comma-separated list of ${PATTERNS.join(', ')}`);
    return list;
  })
  .option('--targets <list>', 'sparsities to try per pattern (default block4x4 0.25,0.5,0.75; unstructured 0.5,0.75,0.9)', fractionList('--targets'))
  .addOption(new Option('--prune <method>', "'obc' (default: Optimal Brain Compression from the calibration inputs' layer Hessians) or 'magnitude'").choices(['obc', 'magnitude']))
  .option('--calibrate <n>', 'random calibration inputs (only with --calibrate-random; real ones come from --input files)', positiveInt('--calibrate', 1000), 4)
  .option('--calibrate-random', 'calibrate on random normals of --shape when no --input file is given (ranges fit no real input)', false)
  .option('-r, --runs <r>', 'timed end-to-end runs of the pruned and the dense int8 model', positiveInt('--runs', 1000), 15)
  .option('-o, --out <file>', 'where to write the pruned weights (.safetensors)')
  .action(async (model, o) => pruneCommand({ model, ...o }));

calibrationOptions(modelOptions(program.command('compare').argument('<model>', 'an .onnx file').description('quantize a model and print the error of every layer against float32')))
  .addOption(new Option('--scheme <scheme>', schemeHelp).choices(SCHEMES).default('int8'))
  .action(async (model, o) => compareModelCommand({ model, ...o }));

modelOptions(program.command('bench').argument('<model>', 'an .onnx file').description(`median latency of a model in float32 and each weight format (${FORMAT_NAMES.join(', ')})`))
  .option('-r, --runs <r>', 'timed runs per scheme', positiveInt('--runs', 1000), 15)
  .option('--calibrate <n>', 'calibration inputs for int8', positiveInt('--calibrate', 1000), 4)
  .action(async (model, o) => benchModelCommand({ model, ...o }));

addOcrCommand(program);

program
  .command('layer-demo')
  .description('build a real-sized linear layer in INT8 and 4-bit schemes, run each beside float32, print error, size and speed')
  .option('-m, --rows <m>', 'rows of the input (tokens)', positiveInt('--rows', 65536), 128)
  .option('-k, --inputs <k>', 'input features', positiveInt('--inputs', 65536), 768)
  .option('-n, --outputs <n>', 'output features', positiveInt('--outputs', 65536), 3072)
  .option('-t, --threads <t>', 'threads (the main thread included)', positiveInt('--threads', 64), 1)
  .addOption(new Option('--simd <build>', 'wasm build').choices(['auto', 'baseline', 'relaxed']).default('auto'))
  .option('-r, --runs <r>', 'timed runs per measurement', positiveInt('--runs', 1000), 15)
  .option('--json', 'print JSON instead of a table', false)
  .action(async (o) => {
    await runDemo({ m: o.rows, k: o.inputs, n: o.outputs, threads: o.threads, simd: o.simd, runs: o.runs, json: o.json });
  });

registerWakeword(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const { text, exitCode } = reportError(e, program.opts().verbose === true);
  console.error(text);
  process.exitCode = exitCode;
});
