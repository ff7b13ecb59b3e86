// Seeded random 4-bit weights written straight into a runtime's linear memory, in the packed layout
// of its build, for benchmarks of models too large to hold anywhere else (a 7B-class model is
// 4+ GiB). Packing canonical Int4Blocks costs ~12 ns a weight in JS (80 s for 7B); here the nibbles
// are uniform random words written into the packed panels, which is the same distribution: every bit
// pattern of both layouts (s4, c4) decodes to valid nibbles, and with N a multiple of the panel width
// and K of the block size there are no padding slots. Which canonical matrix the words mean depends
// on the layout, so a seed gives the same model only on the same build.

import { ShapeError } from '../errors.js';
import { QB4_NR, QB4_NR_S4, Qb4Weights } from '../kernels/qb4.js';
import type { KernelRuntime } from '../runtime/runtime.js';

/** Bytes the packed weights of a K x N matrix take (nibbles, a float32 scale per block, and a float32 zero point per block if asymmetric). */
export function randomQb4Bytes(k: number, n: number, blockSize: number, zeroPoints = false): number {
  return (k * n) / 2 + ((n * k * 4) / blockSize) * (zeroPoints ? 2 : 1);
}

/** xorshift32 from a 32-bit seed (0 becomes 1: xorshift never leaves 0). */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** A 32-bit seed from a model seed and an item's coordinates (mulberry32's mix: no two nearby inputs collide in practice). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/**
 * A K x N matrix of block-quantized 4-bit weights with random nibbles and scales around
 * 1 / (4.6 sqrt(K)), so a product with unit-RMS activations has outputs of about unit RMS (uniform
 * nibbles minus 8 have RMS 4.6). Symmetric (zero point 8), or with `zeroPoints` a random zero point
 * from 7 to 9 per block (MatMulNBits' asymmetric form, stored as float32 like the kernel reads it).
 */
export function randomQb4(rt: KernelRuntime, k: number, n: number, blockSize: number, seed: number, zeroPoints = false): Qb4Weights {
  const layout = rt.features.simd === 'relaxed' ? 'c4' : 's4';
  const nr = layout === 's4' ? QB4_NR_S4 : QB4_NR;
  if (n % nr !== 0) throw new ShapeError(`n: ${n} output columns are not a multiple of the ${layout} panel width ${nr}`);
  if (k % blockSize !== 0 || blockSize % 8 !== 0 || blockSize < 16) throw new ShapeError(`k: ${k} is not a whole number of blocks of ${blockSize} (a multiple of 8 from 16)`);
  const nb = k / blockSize;
  const ptr = rt.alloc((k * n) / 2);
  const scalesPtr = rt.alloc(n * nb * 4);
  const zerosPtr = zeroPoints ? rt.alloc(n * nb * 4) : 0;
  const next = xorshift32(seed);
  // views after both allocations (an allocation may grow and detach the memory), filled in chunks
  // of 2^24 words so no view spans more than 64 MiB
  const words = (k * n) / 8;
  for (let at = 0; at < words; at += 1 << 24) {
    const v = rt.view(Int32Array, ptr + at * 4, Math.min(1 << 24, words - at));
    for (let i = 0; i < v.length; i++) v[i] = next();
  }
  const sigma = 1 / (4.6 * Math.sqrt(k));
  const sc = rt.view(Float32Array, scalesPtr, n * nb);
  for (let i = 0; i < sc.length; i++) sc[i] = sigma * (0.75 + next() / 2 ** 33);
  if (zerosPtr) {
    const zs = rt.view(Float32Array, zerosPtr, n * nb);
    for (let i = 0; i < zs.length; i++) zs[i] = 7 + (next() % 3);
  }
  return new Qb4Weights(rt, layout, k, n, blockSize, k, n, ptr, scalesPtr, zerosPtr);
}
