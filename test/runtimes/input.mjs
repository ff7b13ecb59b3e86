// The smoke model's input, seeded, without lowbit: both the runtimes (smoke.mjs) and the oracle
// (make-model.mjs) make it from here.
export function modelInputData() {
  let s = 77;
  return Float32Array.from({ length: 3 * 12 * 10 }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}
