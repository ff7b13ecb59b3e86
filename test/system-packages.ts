// Debian packages some tests need: libonnx-testdata (ONNX's own node test cases), chromium (the
// browser test) and sox (a clip resampled for the wake-word reader). Where one is missing, its tests skip and the run prints one line saying how to
// install it; with LOWBIT_REQUIRE_SYSTEM_PACKAGES=1 (.ci/run sets it, after installing them) they
// run anyway and fail with their own message, so CI cannot pass by skipping.

import { existsSync } from 'node:fs';

export const ONNX_TESTDATA = process.env.ONNX_TESTDATA ?? '/usr/share/libonnx-testdata/data/node';
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SOX = process.env.SOX_PATH ?? '/usr/bin/sox';

const WHERE: Record<'libonnx-testdata' | 'chromium' | 'sox', { path: string; override: string }> = {
  'libonnx-testdata': { path: ONNX_TESTDATA, override: 'ONNX_TESTDATA' },
  chromium: { path: CHROMIUM, override: 'CHROMIUM_PATH' },
  sox: { path: SOX, override: 'SOX_PATH' },
};
const warned = new Set<string>();

/** Whether the tests that need `name` should run (see the header). */
export function hasSystemPackage(name: keyof typeof WHERE): boolean {
  const { path, override } = WHERE[name];
  if (existsSync(path) || process.env.LOWBIT_REQUIRE_SYSTEM_PACKAGES === '1') return true;
  if (!warned.has(name)) {
    warned.add(name);
    console.warn(`${name} is not installed (${path}): its tests skip. Install it with \`apt-get update && apt-get install -y ${name}\`, or set ${override}.`);
  }
  return false;
}
