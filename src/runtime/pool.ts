// A pool of workers that share the runtime's linear memory. Each worker instantiates the same
// kernel module over the same shared WebAssembly.Memory. A job is a list of kernel calls that the
// workers and the main thread take one at a time from a shared atomic counter, so a thread that
// runs slower (a busy or throttled core) simply takes fewer of them.
// worker_threads in Node, Web Workers elsewhere.

import { FeatureError } from '../errors.js';

// Runs inside each worker: plain JS, no imports, so it can be evaluated from a string anywhere.
const WORKER_SOURCE = `
let exportsOf = null;
let memory = null;
function handle(msg, post) {
  if (msg.type === 'init') {
    memory = msg.memory;
    WebAssembly.instantiate(msg.module, { env: { memory } }).then(
      (inst) => { exportsOf = inst.exports; post({ type: 'ready' }); },
      (e) => post({ type: 'error', message: String(e && e.message || e) }));
    return;
  }
  if (msg.type === 'share') {
    try {
      const next = new Int32Array(memory.buffer, msg.counter, 1);
      for (;;) {
        const i = Atomics.add(next, 0, 1);
        if (i >= msg.calls.length) break;
        const [name, args] = msg.calls[i];
        exportsOf[name](...args);
      }
      post({ type: 'done', id: msg.id });
    } catch (e) {
      post({ type: 'done', id: msg.id, error: String(e && e.message || e) });
    }
  }
}
if (typeof require === 'function' && typeof process !== 'undefined' && process.versions && process.versions.node) {
  const { parentPort } = require('node:worker_threads');
  parentPort.on('message', (m) => handle(m, (r) => parentPort.postMessage(r)));
} else {
  self.onmessage = (e) => handle(e.data, (r) => self.postMessage(r));
}
`;

export type KernelCall = [name: string, args: number[]];

interface Port {
  post(msg: unknown): void;
  onMessage(f: (msg: { type: string; id?: number; error?: string; message?: string }) => void): void;
  /** the worker failed to start or died (a script error, a CSP that forbids blob: workers, ...) */
  onError(f: (message: string) => void): void;
  ref(): void;
  unref(): void;
  terminate(): void;
}

async function spawn(): Promise<Port> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(WORKER_SOURCE, { eval: true });
    return {
      post: (m) => w.postMessage(m),
      onMessage: (f) => w.on('message', f),
      onError: (f) => {
        w.on('error', (e) => f(e.message));
        w.on('exit', (code) => f(`worker exited with code ${code}`));
      },
      ref: () => w.ref(),
      unref: () => w.unref(),
      terminate: () => void w.terminate(),
    };
  }
  if (typeof Worker === 'undefined') throw new FeatureError('threads > 1 needs Web Workers, which this environment lacks');
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  return {
    post: (m) => w.postMessage(m),
    onMessage: (f) => w.addEventListener('message', (e: MessageEvent) => f(e.data)),
    onError: (f) => {
      w.addEventListener('error', (e: ErrorEvent) => f(e.message || 'worker script failed to load'));
      w.addEventListener('messageerror', () => f('worker could not receive a message'));
    },
    ref: () => {},
    unref: () => {},
    terminate: () => w.terminate(),
  };
}

export class WorkerPool {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private busy = 0;
  private terminated = false;

  private constructor(private readonly ports: Port[]) {
    for (const p of ports) {
      p.onError((message) => {
        if (this.terminated) return;
        for (const job of this.pending.values()) job.reject(new FeatureError(`a worker died: ${message}`));
        this.pending.clear();
      });
      p.onMessage((msg) => {
        if (msg.type !== 'done' || msg.id === undefined) return;
        const job = this.pending.get(msg.id);
        if (!job) return;
        this.pending.delete(msg.id);
        if (--this.busy === 0) for (const q of this.ports) q.unref();
        if (msg.error) job.reject(new Error(`worker kernel failed: ${msg.error}`));
        else job.resolve();
      });
    }
  }

  /** Starts `count` workers over `memory` (which must be shared) running `module`. */
  static async create(count: number, module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<WorkerPool> {
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
            p.post({ type: 'init', module, memory });
          }),
      ),
    );
    for (const p of ports) p.unref();
    return new WorkerPool(ports);
  }

  get size(): number {
    return this.ports.length;
  }

  /**
   * Offers `calls` to every worker: each takes the next index from the int32 counter at byte
   * `counter` of the shared memory (which must start at 0) until none is left. The caller takes
   * calls from the same counter. The promises resolve when each worker has stopped taking.
   */
  share(calls: KernelCall[], counter: number): Promise<void>[] {
    return this.ports.map((port) => {
      const id = this.nextId++;
      if (this.busy++ === 0) for (const q of this.ports) q.ref();
      const done = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      port.post({ type: 'share', id, calls, counter });
      return done;
    });
  }

  terminate(): void {
    this.terminated = true;
    for (const p of this.ports) p.terminate();
    for (const job of this.pending.values()) job.reject(new Error('worker pool terminated'));
    this.pending.clear();
  }
}
