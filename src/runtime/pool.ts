// A pool of workers that share the runtime's linear memory. Each worker instantiates the same
// kernel module over the same shared WebAssembly.Memory and then waits on a doorbell in that memory
// (Atomics.wait), so a job costs no message at all:
//
//   control block (int32 words):  0 generation (the doorbell; -1 tells workers to exit)
//                                 1 claim: generation << 12 | next call index
//                                 2 calls finished in this job      3 error flag
//                                 4 calls in this job
//                                 5 how long an idle worker spins before it sleeps, in microseconds
//   job area (float64): per call [kernel index, argument count, arguments...]
//
// The main thread writes the job, rings the doorbell, takes calls itself from the same claim word,
// then waits (spinning: a browser's main thread may not block) until every call is finished. A call
// is claimed with a compare-and-swap that checks the generation, so a worker that wakes late never
// takes a call of the next job; a slow core simply takes fewer calls. Before the job area is
// rewritten the claim word is moved to the new generation, exhausted, so a worker still looking at
// the old job cannot claim a slot that is being overwritten. Workers spin for a while
// (RuntimeOptions.spinMs, default 0.1 ms) before they sleep, so that a model's back-to-back layers
// do not pay a wake-up each, while a busy machine gets the core back soon.
// worker_threads in Node, Web Workers elsewhere.

import { FeatureError } from '../errors.js';
import type { KernelCall } from './exports.js';
import { nodeBuiltin } from './node.js';

/** calls per job and arguments per call the job area holds */
export const POOL_MAX_CALLS = 512;
const MAX_ARGS = 30;
const SLOT = 2 + MAX_ARGS;
const IDX_BITS = 12; // calls per job < 4096
export const POOL_CONTROL_BYTES = 64;
export const POOL_JOB_BYTES = POOL_MAX_CALLS * SLOT * 8;
/** how long an idle worker spins on the doorbell before it sleeps, by default (ms) */
export const POOL_SPIN_MS = 0.1;

/** What worker.js needs to read the control block and the job area (this file owns their layout). */
const LAYOUT = { controlWords: POOL_CONTROL_BYTES / 4, jobLength: 1 + POOL_MAX_CALLS * SLOT, slot: SLOT, idxBits: IDX_BITS };

interface Port {
  post(msg: unknown): void;
  onMessage(f: (msg: { type: string; message?: string }) => void): void;
  /** the worker failed to start or died (a script error, worker.js not found or forbidden, ...) */
  onError(f: (message: string) => void): void;
  unref(): void;
  terminate(): void;
}

async function spawn(): Promise<Port> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (isNode) {
    // the same worker.js as in a browser
    const { Worker } = await nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
    const w = new Worker(new URL('./worker.js', import.meta.url));
    return {
      post: (m) => w.postMessage(m),
      onMessage: (f) => w.on('message', f),
      onError: (f) => {
        w.on('error', (e) => f(e.message));
        w.on('exit', (code) => f(`worker exited with code ${code}`));
      },
      unref: () => w.unref(),
      terminate: () => void w.terminate(),
    };
  }
  if (typeof Worker === 'undefined') throw new FeatureError('threads > 1 needs Web Workers, which this environment lacks');
  // a module file, not a blob: URL, so a strict Content-Security-Policy (worker-src or script-src
  // 'self') allows it; this exact pattern is how Vite and webpack find the worker and bundle it
  let w: Worker;
  try {
    w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  } catch (e) {
    // a runtime whose modules have no URL, or a worker-src that forbids this origin's scripts
    throw new FeatureError(`threads > 1: cannot start lowbit's worker.js (${(e as Error).message})`);
  }
  return {
    post: (m) => w.postMessage(m),
    onMessage: (f) => w.addEventListener('message', (e: MessageEvent) => f(e.data)),
    onError: (f) => {
      w.addEventListener('error', (e: ErrorEvent) => f(e.message || 'worker script failed to load'));
      w.addEventListener('messageerror', () => f('worker could not receive a message'));
    },
    unref: () => {},
    terminate: () => w.terminate(),
  };
}

export class WorkerPool {
  private generation = 0;
  private dead: string | null = null;
  private terminated = false;

  private constructor(
    private readonly ports: Port[],
    private readonly memory: WebAssembly.Memory,
    private readonly control: number,
    private readonly jobPtr: number,
    private readonly index: Map<string, number>,
  ) {
    for (const p of ports) {
      p.onError((message) => {
        if (!this.terminated) this.dead = message;
      });
    }
  }

  /**
   * Starts `count` workers over `memory` (which must be shared) running `module`; `control` and
   * `job` are byte addresses of POOL_CONTROL_BYTES and POOL_JOB_BYTES the runtime set aside.
   */
  static async create(count: number, module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, job: number, names: string[]): Promise<WorkerPool> {
    new Int32Array(memory.buffer, control, POOL_CONTROL_BYTES / 4).fill(0)[5] = POOL_SPIN_MS * 1000;
    const ports = await Promise.all(Array.from({ length: count }, spawn));
    await Promise.all(
      ports.map(
        (p) =>
          new Promise<void>((resolve, reject) => {
            p.onMessage((msg) => {
              if (msg.type === 'ready') resolve();
              else if (msg.type === 'error') reject(new FeatureError(`worker could not start the kernels: ${msg.message}`));
            });
            p.onError((message) => reject(new FeatureError(`worker could not start: ${message}`)));
            p.post({ type: 'init', module, memory, control, job, names, layout: LAYOUT });
          }),
      ),
    );
    // idle workers sleep on the doorbell and must not keep a Node process alive
    for (const p of ports) p.unref();
    return new WorkerPool(ports, memory, control, job, new Map(names.map((n, i) => [n, i])));
  }

  /** How long (ms) an idle worker spins before it sleeps; workers read it each time they go idle. */
  get spinMs(): number {
    return Atomics.load(new Int32Array(this.memory.buffer, this.control, POOL_CONTROL_BYTES / 4), 5) / 1000;
  }

  set spinMs(ms: number) {
    Atomics.store(new Int32Array(this.memory.buffer, this.control, POOL_CONTROL_BYTES / 4), 5, Math.round(ms * 1000));
  }

  get size(): number {
    return this.ports.length;
  }

  /**
   * Runs `calls` on the workers and this thread, each call once, and returns when all are done.
   * `invoke` runs a call on this thread.
   */
  run(calls: KernelCall[], invoke: (c: KernelCall) => void): void {
    if (this.dead) throw new FeatureError(`a worker died: ${this.dead}`);
    if (calls.length > POOL_MAX_CALLS) throw new FeatureError(`a job of ${calls.length} calls is more than the pool takes (${POOL_MAX_CALLS})`);
    const ctl = new Int32Array(this.memory.buffer, this.control, POOL_CONTROL_BYTES / 4);
    const job = new Float64Array(this.memory.buffer, this.jobPtr, 1 + POOL_MAX_CALLS * SLOT);
    this.generation = (this.generation + 1) & ((1 << (32 - IDX_BITS)) - 1) || 1;
    const gen = this.generation;
    // first close the old job to late workers: the claim word moves to the new generation, exhausted
    Atomics.store(ctl, 1, (gen << IDX_BITS) | ((1 << IDX_BITS) - 1));
    job[0] = calls.length;
    calls.forEach(([name, args], i) => {
      const at = 1 + i * SLOT;
      const k = this.index.get(name);
      if (k === undefined || args.length > MAX_ARGS) throw new FeatureError(`pool: kernel ${name} with ${args.length} arguments cannot be shared`);
      job[at] = k;
      job[at + 1] = args.length;
      for (let a = 0; a < args.length; a++) job[at + 2 + a] = args[a];
    });
    Atomics.store(ctl, 2, 0);
    Atomics.store(ctl, 3, 0);
    Atomics.store(ctl, 4, calls.length);
    Atomics.store(ctl, 1, gen << IDX_BITS);
    Atomics.store(ctl, 0, gen);
    Atomics.notify(ctl, 0);
    for (;;) {
      const claim = Atomics.load(ctl, 1);
      const i = claim & ((1 << IDX_BITS) - 1);
      if (i >= calls.length) break;
      if (Atomics.compareExchange(ctl, 1, claim, claim + 1) !== claim) continue;
      try {
        invoke(calls[i]);
      } finally {
        Atomics.add(ctl, 2, 1);
      }
    }
    // the last calls are on the workers: wait for them (a browser's main thread may not block).
    // A worker that stops making progress for 30 s (it died mid-call) ends the wait with an error.
    let done = Atomics.load(ctl, 2), since = Date.now();
    while (done < calls.length) {
      const now = Atomics.load(ctl, 2);
      if (now !== done) {
        done = now;
        since = Date.now();
      } else if (Date.now() - since > 30_000) {
        throw new FeatureError('the worker pool stopped responding (a worker died during a kernel call)');
      }
    }
    if (Atomics.load(ctl, 3)) throw new FeatureError('a kernel call failed on a worker');
  }

  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    const ctl = new Int32Array(this.memory.buffer, this.control, POOL_CONTROL_BYTES / 4);
    Atomics.store(ctl, 0, -1);
    Atomics.notify(ctl, 0);
    for (const p of this.ports) p.terminate();
  }
}
