// Rounding as the kernels and ONNX do it: to nearest, ties to even (Math.round ties toward +inf).

/** x rounded to the nearest integer, ties to the even one (ONNX QuantizeLinear, the wasm kernels). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
