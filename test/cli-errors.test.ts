// A newcomer's failures: every CLI error is one line saying what to do (the stack only with
// --verbose), `lowbit --version` answers, and createRuntime given bytes that are not a lowbit wasm
// build says so (not that the engine lacks SIMD).

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArgumentError, ModelError, createRuntime } from '../src/index.js';
import { reportError } from '../packages/cli/src/cli-errors.js';
import { SIMD } from './helpers.js';

const bin = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
const lowbit = (...args: string[]) => {
  try {
    const stdout = execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, stdout: x.stdout, stderr: x.stderr };
  }
};

describe.skipIf(SIMD !== 'baseline')('CLI errors', () => {
  it('reportError: one line with what to do; the stack only with --verbose; exit 2 for the user\'s errors, 1 for lowbit\'s', () => {
    const model = reportError(new ModelError('model: not a valid ONNX protobuf'), false);
    expect(model).toEqual({ text: 'lowbit: model: not a valid ONNX protobuf (check that the file is an ONNX model, or a file `lowbit quantize` wrote for this model)', exitCode: 2 });
    const missing = Object.assign(new Error("ENOENT: no such file or directory, open 'm.onnx'"), { code: 'ENOENT', syscall: 'open', path: 'm.onnx' });
    expect(reportError(missing, false)).toEqual({ text: "lowbit: cannot read 'm.onnx': no such file or directory (check the path and its permissions)", exitCode: 2 });
    const verbose = reportError(missing, true);
    expect(verbose.text.split('\n')[0]).toBe("lowbit: cannot read 'm.onnx': no such file or directory (check the path and its permissions)");
    expect(verbose.text).toMatch(/\n.*Error: ENOENT[\s\S]*at /);
    expect(reportError(new SyntaxError('Unexpected token } in JSON at position 9'), false).text).toMatch(/^lowbit: Unexpected token .* \(an --input file must be JSON/);
    const bug = reportError(new TypeError('x is not a function\n  more'), false);
    expect(bug).toEqual({ text: 'lowbit: internal error: x is not a function more (run again with --verbose for the stack trace, and please report it)', exitCode: 1 });
    for (const r of [model, missing, bug].map((e) => reportError(e, false))) expect(r.text).not.toContain('\n');
  });

  it.skipIf(!existsSync(bin))('the lowbit binary: --version, a missing file, a file that is not a model: one line each, exit 2', () => {
    const { version } = JSON.parse(readFileSync(new URL('../packages/cli/package.json', import.meta.url), 'utf8'));
    expect(lowbit('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    const missing = lowbit('run', join(tmpdir(), 'no-such-model.onnx'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^lowbit: cannot read '.*no-such-model\.onnx': no such file or directory \(check the path and its permissions\)\n$/);
    const notModel = join(tmpdir(), `lowbit-not-a-model-${process.pid}.onnx`);
    writeFileSync(notModel, 'hello');
    const bad = lowbit('run', notModel);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^lowbit: model: .*\(check that the file is an ONNX model/);
    const verbose = lowbit('run', notModel, '--verbose');
    expect(verbose.stderr.split('\n').length).toBeGreaterThan(3); // the stack trace
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});

describe('createRuntime with wasm that is not a lowbit build', () => {
  it('bytes that are not WebAssembly, damaged WebAssembly, another module: ArgumentError saying so, never "no SIMD"', async () => {
    const real = new Uint8Array(readFileSync(new URL('../build/baseline.wasm', import.meta.url)));
    const damaged = real.slice();
    for (let i = 100; i < damaged.length; i += 997) damaged[i] ^= 0xff;
    const other = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11]);
    const cases: [Uint8Array | WebAssembly.Module, RegExp][] = [
      [new TextEncoder().encode('not wasm at all'), /the wasm given as wasm\.baseline is not WebAssembly \(15 bytes, no \\0asm header\)/],
      [damaged, /the wasm given as wasm\.baseline is not a valid WebAssembly module \(.+\)/],
      [other, /the WebAssembly\.Module given as wasm\.baseline is not a lowbit build: it lacks the export 'heap_base'/],
      [new WebAssembly.Module(other), /the WebAssembly\.Module given as wasm\.baseline is not a lowbit build/],
    ];
    for (const [baseline, message] of cases) {
      const e = await createRuntime({ simd: 'baseline', wasm: { baseline } }).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(ArgumentError);
      expect((e as Error).message).toMatch(message);
      expect((e as Error).message).not.toMatch(/SIMD/);
    }
    const rt = await createRuntime({ simd: 'baseline', wasm: { baseline: real } });
    expect(rt.features.simd).toBe('baseline');
    rt.dispose();
  });
});
