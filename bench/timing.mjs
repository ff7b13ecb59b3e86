// Timing with benchmark.js: one deferred Benchmark per measurement; the result is the median of
// its samples (seconds per call), which shrugs off the odd GC pause or scheduler hiccup. The
// machine is shared, so each measurement first waits for a quiet moment and records how busy
// other processes kept the CPUs while it ran.

import Benchmark from 'benchmark';
import { otherLoadMeter, waitForQuiet } from './system.mjs';

/**
 * Options by mode: full runs sample for ~0.75 s per round and do two rounds (see run.mjs);
 * --quick samples only long enough to smoke-test.
 */
export function timingOptions(quick) {
  return quick ? { minSamples: 3, maxTime: 0.1, initCount: 1, rounds: 1 } : { minSamples: 5, maxTime: 0.75, initCount: 1, rounds: 2 };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

let secondsWaited = 0;

/** Seconds this process has spent waiting for other processes to go quiet. */
export const waitedForQuiet = () => secondsWaited;

/** Times the async `call` with benchmark.js; returns { seconds (median), samples, rme, otherLoad }. */
export async function timeAsync(name, call, options) {
  const waited = await waitForQuiet(options.maxTime * 20);
  secondsWaited += waited;
  const otherLoad = otherLoadMeter();
  const result = await runBenchmark(name, call, options);
  const load = otherLoad();
  process.stderr.write(`    ${name}: ${(result.seconds * 1e3).toFixed(3)} ms (median of ${result.samples}; other load ${load.toFixed(2)} cores)\n`);
  return { ...result, otherLoad: load, waited };
}

function runBenchmark(name, call, options) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f, v) => {
      if (settled) return;
      settled = true;
      f(v);
    };
    const { minSamples, maxTime, initCount } = options;
    const bench = new Benchmark(name, {
      minSamples,
      maxTime,
      initCount,
      defer: true,
      fn(deferred) {
        call().then(() => deferred.resolve(), (e) => {
          bench.error = e;
          bench.abort();
        });
      },
      onAbort() {
        settle(reject, bench.error ?? new Error(`${name}: aborted`));
      },
      onComplete() {
        if (bench.error) return settle(reject, bench.error);
        settle(resolve, { seconds: median(bench.stats.sample), samples: bench.stats.sample.length, rme: bench.stats.rme });
      },
    });
    bench.run();
  });
}
