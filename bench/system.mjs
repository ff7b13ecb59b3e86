// What the results depend on besides the code: machine, versions, and how busy the machine was.

import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const root = new URL('../', import.meta.url);

function sh(cmd) {
  try {
    return execSync(cmd, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, root), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

/** L3 size in bytes from sysfs (fallback 32 MiB), used to size the weight rotation. */
export function l3Bytes() {
  for (let i = 0; i < 8; i++) {
    const dir = `/sys/devices/system/cpu/cpu0/cache/index${i}`;
    try {
      if (readFileSync(`${dir}/level`, 'utf8').trim() !== '3') continue;
      const size = readFileSync(`${dir}/size`, 'utf8').trim();
      const num = parseInt(size, 10);
      return size.endsWith('M') ? num << 20 : size.endsWith('K') ? num << 10 : num;
    } catch {
      break;
    }
  }
  return 32 << 20;
}

export function machine() {
  const lscpu = sh('lscpu');
  const field = (name) => lscpu.match(new RegExp(`^${name}:\\s*(.+)$`, 'm'))?.[1].trim() ?? '?';
  const commit = sh('git rev-parse --short HEAD');
  const dirty = sh('git status --porcelain -- src assembly') !== '';
  return {
    model: field('Model name'),
    cores: os.cpus().length,
    caches: `L1d ${field('L1d cache')}, L2 ${field('L2 cache')}, L3 ${field('L3 cache')}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    commit: commit ? `${commit}${dirty ? ' (with uncommitted changes in src/ or assembly/)' : ''}` : '?',
    versions: {
      'onnxruntime-web': packageVersion('onnxruntime-web'),
      '@tensorflow/tfjs-core': packageVersion('@tensorflow/tfjs-core'),
      '@tensorflow/tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
      benchmark: packageVersion('benchmark'),
    },
  };
}

export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const TICKS_PER_SECOND = Number(sh('getconf CLK_TCK')) || 100;

/** CPU seconds the whole machine has spent busy, and stolen by the hypervisor, so far (/proc/stat); `at` in ms. */
export function cpuTimes() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal = 0] = fields;
  return { busy: (user + nice + system + irq + softirq) / TICKS_PER_SECOND, steal: steal / TICKS_PER_SECOND, at: performance.now() };
}

const ownSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Starts measuring how busy *other* processes keep the CPUs: machine-wide busy time (/proc/stat)
 * minus this process's own (all its threads). The returned function gives their average load in
 * cores since the start. Other people may be building or testing on this machine meanwhile.
 */
export function otherLoadMeter() {
  const t0 = cpuTimes();
  const own0 = ownSeconds();
  return () => {
    const t1 = cpuTimes();
    const seconds = (t1.at - t0.at) / 1e3;
    const other = t1.busy - t0.busy - (ownSeconds() - own0);
    return seconds > 0 ? Math.max(0, other / seconds) : 0;
  };
}

/** Waits (up to `maxSeconds`) until other processes leave the CPUs alone; returns seconds waited. */
export async function waitForQuiet(maxSeconds = 60, threshold = 0.25) {
  const start = performance.now();
  for (;;) {
    const load = otherLoadMeter();
    await new Promise((r) => setTimeout(r, 300));
    const waited = (performance.now() - start) / 1e3;
    if (load() < threshold || waited > maxSeconds) return waited;
  }
}
