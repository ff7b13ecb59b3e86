// What a kernel wrapper (src/kernels) needs from the runtime: the typed exports, linear memory and
// its allocator, and the worker pool. The runtime implements it; wrappers import only this type,
// so they depend on neither the Runtime class nor what the facade above it offers.

import type { Features } from './features.js';
import type { KernelCall, KernelExports } from './exports.js';

/** A constructor of a typed view of linear memory. */
export type ViewCtor = Int8ArrayConstructor | Uint8ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor;

export interface KernelHost {
  /** the build in use: kernels pick a packing layout by it */
  readonly features: Features;
  readonly kernels: KernelExports;
  readonly memory: WebAssembly.Memory;
  /** Throws if the runtime was disposed. */
  check(): void;
  /** A view of linear memory; valid until the next allocation (which may grow and detach it). */
  view<T extends ViewCtor>(ctor: T, ptr: number, length: number): InstanceType<T>;
  /** Copies `length` elements at `ptr` out of linear memory into a new array. */
  read<T extends ViewCtor>(ctor: T, ptr: number, length: number): InstanceType<T>;
  /** Copies a typed array into fresh linear memory (`padBytes` extra zero bytes); returns its pointer. */
  put(data: ArrayBufferView, padBytes?: number): number;
  /** Copies `data` into `length` elements of memory from `alloc`, zero-filling the rest. */
  putPadded<T extends ViewCtor>(alloc: (bytes: number) => number, ctor: T, data: ArrayLike<number>, length: number): number;
  alloc(bytes: number): number;
  free(ptr: number): void;
  /** Runs `fn` with a scratch allocator whose blocks are all freed afterwards. */
  scoped<R>(fn: (alloc: (bytes: number) => number) => Promise<R> | R): Promise<R>;
  /** Runs call(n0, n1) over columns [0, n) split at multiples of `align`, across the pool's threads. */
  parallelColumns(n: number, align: number, call: (n0: number, n1: number) => KernelCall, minColumnsPerThread?: number, work?: number): Promise<void>;
  /** parallelColumns, synchronously. */
  parallelColumnsNow(n: number, align: number, call: (n0: number, n1: number) => KernelCall, minColumnsPerThread?: number, work?: number): void;
  /** Runs call(m0, m1) over rows [0, m) split at multiples of `align` (a short tail joins the piece before it). */
  parallelRows(m: number, align: number, call: (m0: number, m1: number) => KernelCall, minRowsPerThread?: number, work?: number): Promise<void>;
  /** parallelRows, synchronously. */
  parallelRowsNow(m: number, align: number, call: (m0: number, m1: number) => KernelCall, minRowsPerThread?: number, work?: number): void;
  /** An M x N GEMM of mr x nr tiles split along rows or columns, whichever shares the work better. */
  parallelGemm(m: number, n: number, mr: number, nr: number, call: (m0: number, m1: number, n0: number, n1: number) => KernelCall, work?: number): Promise<void>;
  /** Runs one kernel call on this thread. */
  invoke(call: KernelCall): void;
  /** Whether a parallel call of this much work runs as one piece on this thread (the caller may then call the export itself, allocating nothing). */
  runsAlone(work: number): boolean;
  /** All of linear memory as float32 (index = address / 4), made again only when the memory's buffer changes: per-call views cost garbage. */
  f32(): Float32Array;
}
