// The runtime core: one instantiated kernel module, its linear memory and allocator, and optionally
// a worker pool sharing that memory. Kernels, ops and layers work through it; it imports nothing
// above it. The public Runtime (src/api/runtime.ts) extends it with rt.ops and rt.linear.

import { ArgumentError, FeatureError, LowbitError } from '../errors.js';
import { Allocator, WASM32_MAX_PAGES } from './memory.js';
import { chooseBuild, engineName, type Features, type SimdChoice } from './features.js';
import { checkBuildModule, compileBuild, type WasmSources, type BuildName } from './load.js';
import { POOL_CONTROL_BYTES, POOL_JOB_BYTES, POOL_MAX_CALLS, WorkerPool } from './pool.js';
import type { KernelCall, KernelExports } from './exports.js';
import type { KernelHost, ViewCtor } from './host.js';

export interface RuntimeOptions {
  /** which wasm build: 'auto' (default) probes the engine, 'baseline' or 'relaxed' force one */
  simd?: SimdChoice;
  /** threads to compute with, the main thread included (default 1) */
  threads?: number;
  /** precompiled modules or bytes, by build name, for runtimes that can't load the package files */
  wasm?: WasmSources;
  /** ceiling for linear memory in 64 KiB pages (default and maximum 65536 = 4 GiB) */
  maxMemoryPages?: number;
  /** called with warnings (e.g. threads requested where shared memory is unavailable) */
  onWarning?: (message: string) => void;
  /**
   * kernel calls doing less work than this (multiply-adds or element operations) stay on the
   * calling thread, where waking the workers would cost more than it saves (default 2^21; 0 sends
   * every call to the pool)
   */
  minParallelWork?: number;
  /**
   * how long (ms) an idle worker keeps spinning for the next job before it sleeps (default 0.1):
   * a spinning worker takes a job in ~2-3 us, a sleeping one needs a wake-up (20-125 us measured).
   * Longer spins cover more of a model's serial gaps, but on a busy machine a spinning worker takes
   * a core from this thread: at 1 ms the recognizer ran 0.65-0.73x one thread with 1.4 other cores
   * busy, at 0.05 ms 0.99-1.08x. 0 sleeps at once (like onnxruntime's allow_spinning = 0).
   */
  spinMs?: number;
}

export class KernelRuntime implements KernelHost {
  readonly features: Features;
  readonly kernels: KernelExports;
  readonly heap: Allocator;
  readonly memory: WebAssembly.Memory;
  private readonly pool: WorkerPool | null;
  private disposed = false;

  /** see RuntimeOptions.minParallelWork */
  minParallelWork = PARALLEL_MIN_WORK;

  constructor(features: Features, kernels: KernelExports, memory: WebAssembly.Memory, heap: Allocator, pool: WorkerPool | null) {
    this.features = features;
    this.kernels = kernels;
    this.memory = memory;
    this.heap = heap;
    this.pool = pool;
  }

  /** see RuntimeOptions.spinMs (0 with one thread: there are no workers) */
  get spinMs(): number {
    return this.pool?.spinMs ?? 0;
  }

  set spinMs(ms: number) {
    if (this.pool) this.pool.spinMs = ms;
  }

  get threads(): number {
    return this.features.threads;
  }

  /** Throws if the runtime was disposed. */
  check(): void {
    if (this.disposed) throw new LowbitError('ERR_DISPOSED', 'this runtime was disposed');
  }

  /**
   * A view of linear memory. Use it before the next allocation: an allocation may grow a non-shared
   * memory, which detaches every view made earlier (writes through it are then silently lost).
   */
  view<T extends ViewCtor>(ctor: T, ptr: number, length: number): InstanceType<T> {
    return new ctor(this.memory.buffer, ptr, length) as InstanceType<T>;
  }

  /**
   * Copies `length` elements at `ptr` out of linear memory into a new array. (new + set is a memcpy;
   * TypedArray.prototype.slice on a view of wasm memory measured ~7x slower in V8 11.3.)
   */
  read<T extends ViewCtor>(ctor: T, ptr: number, length: number): InstanceType<T> {
    const out = new ctor(length) as InstanceType<T>;
    out.set(this.view(ctor, ptr, length) as never);
    return out;
  }

  /** Copies a typed array into fresh linear memory; returns its pointer. `padBytes` extra zero bytes. */
  put(data: ArrayBufferView, padBytes = 0): number {
    const bytes = data.byteLength;
    const p = this.heap.alloc(bytes + padBytes);
    const dst = new Uint8Array(this.memory.buffer, p, bytes + padBytes);
    dst.set(new Uint8Array(data.buffer, data.byteOffset, bytes));
    if (padBytes) dst.fill(0, bytes);
    return p;
  }

  /** Copies `data` into `length` elements of memory from `alloc`, zero-filling the rest (padded rows, bias). */
  putPadded<T extends ViewCtor>(alloc: (bytes: number) => number, ctor: T, data: ArrayLike<number>, length: number): number {
    const p = alloc(length * ctor.BYTES_PER_ELEMENT);
    const v = this.view(ctor, p, length);
    v.fill(0);
    v.set(data as never);
    return p;
  }

  alloc(bytes: number): number {
    this.check();
    return this.heap.alloc(bytes);
  }

  free(ptr: number): void {
    this.heap.freeBlock(ptr);
  }

  /** Runs `fn` with a scratch allocator whose blocks are all freed afterwards. */
  async scoped<R>(fn: (alloc: (bytes: number) => number) => Promise<R> | R): Promise<R> {
    this.check();
    const blocks: number[] = [];
    try {
      return await fn((bytes) => {
        const p = this.heap.alloc(bytes);
        blocks.push(p);
        return p;
      });
    } finally {
      for (const p of blocks) this.heap.freeBlock(p);
    }
  }

  /**
   * Runs call(n0, n1) over columns [0, n) split at multiples of `align`. With workers, the columns
   * go in a few pieces per thread that the main thread and the workers take as they come free (so a
   * slow core does less of the job); the pieces are at least `minColumnsPerThread` wide. `work`
   * (about how many multiply-adds or element operations the whole call does) keeps small calls on
   * this thread.
   */
  async parallelColumns(n: number, align: number, call: (n0: number, n1: number) => KernelCall, minColumnsPerThread = align, work = Infinity): Promise<void> {
    this.parallelColumnsNow(n, align, call, minColumnsPerThread, work);
  }

  /** parallelColumns, synchronously: a decode step's GEMVs, where an async call per layer was most of the step's garbage. */
  parallelColumnsNow(n: number, align: number, call: (n0: number, n1: number) => KernelCall, minColumnsPerThread = align, work = Infinity): void {
    if (this.onePiece(work)) {
      if (n > 0) this.invoke(call(0, n));
    } else this.runPieces(this.pieces(n, align, minColumnsPerThread, work, false), call);
  }

  /**
   * Runs call(m0, m1) over rows [0, m) split at multiples of `align` (the kernel's row tile); a
   * short last piece joins the one before it, so every piece but a lone one has at least `align`
   * rows and runs exactly the row tiles one call over all rows would (same bits). The kernel sees
   * rows from m0 through pointers the caller offsets. `work` as in parallelColumns.
   */
  async parallelRows(m: number, align: number, call: (m0: number, m1: number) => KernelCall, minRowsPerThread = align, work = Infinity): Promise<void> {
    this.parallelRowsNow(m, align, call, minRowsPerThread, work);
  }

  /** parallelRows, synchronously: for passes whose callers do not await (activation staging). */
  parallelRowsNow(m: number, align: number, call: (m0: number, m1: number) => KernelCall, minRowsPerThread = align, work = Infinity): void {
    if (this.onePiece(work)) {
      if (m > 0) this.invoke(call(0, m));
    } else this.runPieces(this.pieces(m, align, minRowsPerThread, work, true), call);
  }

  /**
   * An M x N GEMM of `mr` x `nr` tiles across threads: call(m0, m1, n0, n1) computes rows [m0, m1)
   * x columns [n0, n1). It splits columns (whole panels; GEMV pieces at least 64 columns wide) while
   * there are enough panels to go round and N is larger than M, rows otherwise: a convolution as a
   * GEMM has thousands of pixels (M) and 16 to a few hundred channels (N), where a column split
   * leaves a few panels per thread and every thread streams all of A. `splitGemm` forces one way.
   */
  async parallelGemm(m: number, n: number, mr: number, nr: number, call: (m0: number, m1: number, n0: number, n1: number) => KernelCall, work = m * n): Promise<void> {
    if (this.gemmSplitsRows(m, n, mr, nr)) this.runPieces(this.pieces(m, mr, mr, work, true), (m0, m1) => call(m0, m1, 0, n));
    else this.runPieces(this.pieces(n, nr, m === 1 ? 64 : nr, work, false), (n0, n1) => call(0, m, n0, n1));
  }

  /** 'auto' (default): parallelGemm picks; 'rows' or 'columns' force a split (for benchmarks and tests). */
  splitGemm: 'auto' | 'rows' | 'columns' = 'auto';

  private gemmSplitsRows(m: number, n: number, mr: number, nr: number): boolean {
    if (m < 2 * mr) return false; // one row tile (or a GEMV): only columns can be shared
    if (this.splitGemm !== 'auto') return this.splitGemm === 'rows';
    const panels = Math.ceil(n / nr), rowTiles = Math.ceil(m / mr);
    return rowTiles >= panels || panels < this.threads * PIECES_PER_THREAD;
  }

  /** Whether a call of this much work runs as one piece on this thread (what pieces() then gives: [[0, n]], without making it). */
  private onePiece(work: number): boolean {
    return !this.pool || work < this.minParallelWork;
  }

  runsAlone(work: number): boolean {
    return this.onePiece(work);
  }

  private f32Cache = new Float32Array(0);

  f32(): Float32Array {
    const b = this.memory.buffer;
    if (this.f32Cache.buffer !== b || this.f32Cache.byteLength !== b.byteLength) this.f32Cache = new Float32Array(b);
    return this.f32Cache;
  }

  /** The pieces a parallel call splits [0, n) into: one unless the call is big enough and there is a pool. */
  private pieces(n: number, align: number, minPer: number, work: number, mergeTail: boolean): [number, number][] {
    // handing work to the pool costs microseconds: small calls run on this thread alone
    const parts = this.onePiece(work) ? 1 : Math.min(this.threads * PIECES_PER_THREAD, POOL_MAX_CALLS);
    const out = splitRange(n, align, parts, minPer);
    const last = out[out.length - 1];
    if (mergeTail && out.length > 1 && last[1] - last[0] < align) {
      out.pop();
      out[out.length - 1][1] = last[1];
    }
    return out;
  }

  private runPieces(pieces: [number, number][], call: (a: number, b: number) => KernelCall): void {
    if (!this.pool || pieces.length === 1) {
      for (let i = 0; i < pieces.length; i++) this.invoke(call(pieces[i][0], pieces[i][1]));
      return;
    }
    this.pool.run(pieces.map(([a, b]) => call(a, b)), (c) => this.invoke(c));
  }

  invoke([name, args]: KernelCall): void {
    (this.kernels[name] as (...a: number[]) => unknown)(...args);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool?.terminate();
  }
}

/** What layers, ops and models take: the core (the public Runtime in src/api extends it). */
export type Runtime = KernelRuntime;

/**
 * Below this much work (multiply-adds, or element operations) a parallel call stays on the calling
 * thread: handing it to the pool costs more than it saves. At 2^21 the PP-OCRv4 recognizer runs 56
 * of its 84 steps on one thread (3.2-3.4 ms at load 8), at 2^18 38 (1.3 ms); but with other
 * processes busy every job may wait for a descheduled worker, and 2^18 measured no better
 * (bench/RESULTS-threads.md), so the default stays 2^21 until a quiet measurement says otherwise.
 */
export const PARALLEL_MIN_WORK = 1 << 21;

/** Pieces of work per thread in parallelColumns: enough to even out a slower core, few enough that
 * each piece still streams a long run of weights. */
const PIECES_PER_THREAD = 4;

/** [start, end) ranges covering [0, n), boundaries at multiples of `align`, at most `parts` of them. */
export function splitRange(n: number, align: number, parts: number, minPer: number): [number, number][] {
  const units = Math.ceil(n / align);
  const p = Math.max(1, Math.min(parts, Math.floor(n / Math.max(minPer, 1)) || 1, units));
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < p; i++) {
    const end = i === p - 1 ? n : Math.min(n, Math.round(((i + 1) * units) / p) * align);
    if (end > start) out.push([start, end]);
    start = end;
  }
  return out;
}

/** The constructor createKernelRuntime builds with: the core's, or the public Runtime's. */
export type RuntimeConstructor<R extends KernelRuntime> = new (
  features: Features, kernels: KernelExports, memory: WebAssembly.Memory, heap: Allocator, pool: WorkerPool | null,
) => R;

/** Loads the kernels for `options` and builds the runtime with `make` (the core class by default). */
export async function createKernelRuntime(options?: RuntimeOptions): Promise<KernelRuntime>;
export async function createKernelRuntime<R extends KernelRuntime>(options: RuntimeOptions, make: RuntimeConstructor<R>): Promise<R>;
export async function createKernelRuntime(options: RuntimeOptions = {}, make: RuntimeConstructor<KernelRuntime> = KernelRuntime): Promise<KernelRuntime> {
  const simd = options.simd ?? 'auto';
  if (!['auto', 'baseline', 'relaxed'].includes(simd)) {
    throw new ArgumentError(`simd: expected 'auto', 'baseline' or 'relaxed', got ${String(simd)}`);
  }
  if (options.spinMs !== undefined && !(options.spinMs >= 0 && options.spinMs <= 1000)) {
    throw new ArgumentError(`spinMs: expected a number of milliseconds from 0 to 1000, got ${String(options.spinMs)}`);
  }
  if (options.minParallelWork !== undefined && !(options.minParallelWork >= 0)) {
    throw new ArgumentError(`minParallelWork: expected a number >= 0, got ${String(options.minParallelWork)}`);
  }
  const requested = options.threads ?? 1;
  if (!Number.isInteger(requested) || requested < 1 || requested > 256) {
    throw new ArgumentError(`threads: expected an integer from 1 to 256, got ${String(options.threads)}`);
  }
  const maxPages = options.maxMemoryPages ?? WASM32_MAX_PAGES;
  if (!Number.isInteger(maxPages) || maxPages < 16 || maxPages > WASM32_MAX_PAGES) {
    throw new ArgumentError(`maxMemoryPages: expected an integer from 16 to ${WASM32_MAX_PAGES}, got ${String(maxPages)}`);
  }
  let threads = requested;
  const canShare = typeof SharedArrayBuffer !== 'undefined';
  if (threads > 1 && !canShare) {
    (options.onWarning ?? console.warn)(
      `lowbit: threads: ${threads} requested but SharedArrayBuffer is unavailable, so lowbit runs on 1 thread. ` +
        'In a browser, threads need a cross-origin isolated page: serve it with the headers ' +
        '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp".',
    );
    threads = 1;
  }
  const shared = threads > 1;
  const choice = await chooseBuild(simd, shared, options.wasm);
  const name = `${choice.build}${shared ? '-mt' : ''}` as BuildName;
  const module = await compileBuild(name, options.wasm);
  checkBuildModule(name, module, options.wasm);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: maxPages, shared } as WebAssembly.MemoryDescriptor);
  const instance = (await WebAssembly.instantiate(module, { env: { memory } })) as WebAssembly.Instance;
  const kernels = instance.exports as unknown as KernelExports;
  if ((kernels.build_relaxed() === 1) !== (choice.build === 'relaxed')) {
    throw new FeatureError(`the module given for build '${name}' is not that build`);
  }
  const heap = new Allocator(memory, kernels.heap_base(), maxPages);
  let pool: WorkerPool | null = null;
  if (shared) {
    // the pool's doorbell and job area live in the shared memory, set aside for the runtime's life
    const control = heap.alloc(POOL_CONTROL_BYTES), job = heap.alloc(POOL_JOB_BYTES);
    const names = Object.keys(kernels).filter((k) => typeof (kernels as unknown as Record<string, unknown>)[k] === 'function');
    pool = await WorkerPool.create(threads - 1, module, memory, control, job, names);
  }
  const features: Features = {
    simd: choice.build,
    threads,
    sharedMemory: shared,
    relaxedSimdValid: choice.relaxedSimdValid,
    relaxedDotExact: choice.relaxedDotExact,
    reason: choice.reason,
    engine: engineName(),
  };
  const rt = new make(features, kernels, memory, heap, pool);
  if (options.minParallelWork !== undefined) rt.minParallelWork = options.minParallelWork;
  if (options.spinMs !== undefined) rt.spinMs = options.spinMs;
  return rt;
}
