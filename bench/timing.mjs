// Timing with benchmark.js: one deferred Benchmark per measurement; the result is the median of
// its samples (seconds per call), which shrugs off the odd GC pause or scheduler hiccup.

import Benchmark from 'benchmark';

/** Options by mode: full runs sample for ~1 s, --quick only long enough to smoke-test. */
export function timingOptions(quick) {
  return quick ? { minSamples: 3, maxTime: 0.1, initCount: 1 } : { minSamples: 5, maxTime: 1, initCount: 1 };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Times the async `call` with benchmark.js; returns { seconds (median), samples, rme }. */
export function timeAsync(name, call, options) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f, v) => {
      if (settled) return;
      settled = true;
      f(v);
    };
    const bench = new Benchmark(name, {
      ...options,
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
