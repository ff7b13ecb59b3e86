// The worker pool's thread (pool.ts): instantiates the kernel module over the runtime's shared
// memory, then takes kernel calls from the job area until the doorbell says to exit. A file of its
// own, not a string, so that a strict Content-Security-Policy allows it and bundlers find it: pool.ts
// starts it as new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }). Plain
// JavaScript with no imports, so it also runs copied as it is (bundlers that leave it alone).
// The layout of the control block and the job area comes in the init message (pool.ts owns it).

const proc = typeof process !== 'undefined' ? process : undefined;
/** Node, Deno and Bun start it with node:worker_threads (pool.ts); anything else is a Web Worker */
const inNode = !!proc?.versions?.node;

/** node:worker_threads' parentPort */
function nodePort() {
  const spec = 'node:worker_threads';
  // getBuiltinModule (Node >= 20.16) needs no import a bundler would try to resolve
  const wt = proc.getBuiltinModule ? Promise.resolve(proc.getBuiltinModule(spec)) : import(/* webpackIgnore: true */ /* @vite-ignore */ spec);
  return wt.then((m) => m.parentPort);
}

let post = (msg) => self.postMessage(msg);

function run(kernels, names, ctl, job, { slot, idxBits }) {
  const genMask = (1 << (32 - idxBits)) - 1, idxMask = (1 << idxBits) - 1;
  let seen = Atomics.load(ctl, 0);
  for (;;) {
    // spin for up to word 5's microseconds (a model's next parallel layer usually follows within a
    // few hundred microseconds of serial work), then sleep on the doorbell: a wake-up from
    // Atomics.wait measured 20-125 us here, a spinning worker answers in 2-3 us
    let gen = Atomics.load(ctl, 0);
    const spin = Atomics.load(ctl, 5) / 1000;
    for (let i = 0, t0 = performance.now(); gen === seen; i++) {
      if ((i & 255) === 255 && performance.now() - t0 > spin) break;
      gen = Atomics.load(ctl, 0);
    }
    if (gen === seen) {
      Atomics.wait(ctl, 0, seen);
      gen = Atomics.load(ctl, 0);
    }
    if (gen === -1) return;
    seen = gen;
    const n = Atomics.load(ctl, 4);
    for (;;) {
      const claim = Atomics.load(ctl, 1);
      if (claim >>> idxBits !== (gen & genMask)) break;
      const i = claim & idxMask;
      if (i >= n) break;
      if (Atomics.compareExchange(ctl, 1, claim, claim + 1) !== claim) continue;
      const at = 1 + i * slot;
      const fn = kernels[names[job[at]]];
      const argc = job[at + 1];
      const args = new Array(argc);
      for (let a = 0; a < argc; a++) args[a] = job[at + 2 + a];
      try {
        fn(...args);
      } catch {
        Atomics.store(ctl, 3, 1);
      }
      Atomics.add(ctl, 2, 1);
    }
  }
}

function handle(msg) {
  if (msg?.type !== 'init') return;
  const { module, memory, control, job, names, layout } = msg;
  WebAssembly.instantiate(module, { env: { memory } }).then(
    (instance) => {
      const ctl = new Int32Array(memory.buffer, control, layout.controlWords);
      const jobs = new Float64Array(memory.buffer, job, layout.jobLength);
      post({ type: 'ready' });
      run(instance.exports, names, ctl, jobs, layout);
      post({ type: 'exit' });
    },
    (e) => post({ type: 'error', message: String(e?.message ?? e) }),
  );
}

if (inNode) {
  // a parentPort queues messages until it has a listener
  nodePort().then((port) => {
    post = (msg) => port.postMessage(msg);
    port.on('message', handle);
  });
} else {
  // a Web Worker listens at once: its first message must not arrive before the listener
  self.addEventListener('message', (e) => handle(e.data));
}
