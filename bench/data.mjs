// Deterministic test data, so every child process builds the same inputs and output hashes can be
// compared across processes (baseline vs relaxed build, lowbit vs onnxruntime).

import { mulberry32 } from '../dist/index.js';

/** the library's mulberry32, as uint32 values (its floats are exactly these / 2^32) */
export function rng(seed) {
  const next = mulberry32(seed);
  return () => next() * 4294967296;
}

function seedOf(shape, salt) {
  return (shape.m * 73856093) ^ (shape.k * 19349663) ^ (shape.n * 83492791) ^ salt;
}

/** A: M x K uint8, full range. */
export function activationsU8(shape) {
  const next = rng(seedOf(shape, 1));
  const a = new Uint8Array(shape.m * shape.k);
  for (let i = 0; i < a.length; i++) a[i] = next() & 255;
  return a;
}

/** W: K x N int8; full range [-128, 127], or 7-bit [-63, 63] so the relaxed 'c4' layout applies. */
export function weightsI8(shape, sevenBit = false) {
  const next = rng(seedOf(shape, sevenBit ? 3 : 2));
  const w = new Int8Array(shape.k * shape.n);
  if (sevenBit) for (let i = 0; i < w.length; i++) w[i] = (next() % 127) - 63;
  else for (let i = 0; i < w.length; i++) w[i] = (next() & 255) - 128;
  return w;
}

function f32(len, seed) {
  const next = rng(seed);
  const x = new Float32Array(len);
  for (let i = 0; i < len; i++) x[i] = next() / 4294967296 - 0.5;
  return x;
}

export const activationsF32 = (shape) => f32(shape.m * shape.k, seedOf(shape, 4));
export const weightsF32 = (shape) => f32(shape.k * shape.n, seedOf(shape, 5));

/** FNV-1a over the bytes of a typed array, as 8 hex digits. */
export function hashOf(view) {
  const b = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

// Quantization parameters shared by lowbit and ORT QLinearMatMul: A zero point 128 (centred u8),
// symmetric int8 weights, and an output scale that spreads results over the uint8 range.
export function qparams(shape) {
  const aScale = 0.02;
  const bScale = 0.01;
  // |acc| is about sqrt(K) * 74 * 74 for centred uniform u8 x int8; aim for a spread of ~40
  const yScale = (aScale * bScale * Math.sqrt(shape.k) * 74 * 74) / 40;
  const multiplier = Math.fround(Math.fround(aScale * bScale) / Math.fround(yScale));
  return { aZero: 128, aScale, bScale, yScale, yZero: 128, multiplier };
}
