// Which engines could hold a model past 4 GiB in ONE wasm memory (memory64), against the sharded
// way (bench/past-4gib.mjs). Probes: does a wasm32 memory refuse a page past 4 GiB; does a module
// with a 64-bit memory validate and instantiate; can it grow past 4 GiB and store/load at an address
// above 2^32 (one page touched: no RAM needed); and can several 3.5 GiB wasm32 memories live at
// once (what the shards need). Prints one JSON line.
//
//   node bench/memory64-probe.mjs              this Node
//   node --experimental-wasm-memory64 bench/memory64-probe.mjs
//   node bench/memory64-probe.mjs --chromium   Debian's Chromium (CHROMIUM_PATH), through playwright-core

/** Runs in Node or in a page (no imports, no closures over module scope). */
export function probeMemory64() {
  const out = { engine: typeof navigator !== 'undefined' ? navigator.userAgent : `node ${process.version}` };
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 65537 });
    out.wasm32PastFourGiB = 'accepted';
  } catch (e) {
    out.wasm32PastFourGiB = `refused (${e.constructor.name}: ${e.message})`;
  }
  // (func (export "poke") (param i64 i32) (i32.store (local.get 0) (local.get 1))), (memory (export "mem") i64 1)
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x06, 0x01, 0x60, 0x02, 0x7e, 0x7f, 0x00,
    0x03, 0x02, 0x01, 0x00,
    0x05, 0x03, 0x01, 0x04, 0x01,
    0x07, 0x0e, 0x02, 0x04, 0x70, 0x6f, 0x6b, 0x65, 0x00, 0x00, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00,
    0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x36, 0x02, 0x00, 0x0b,
  ]);
  out.memory64Validates = WebAssembly.validate(bytes);
  if (!out.memory64Validates) return out;
  try {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const mem = exports.mem;
    const pages = 65536 + 16; // 4 GiB + 1 MiB
    try {
      mem.grow(pages - 1);
    } catch (e) {
      // newer engines take a BigInt for an i64 memory; older ones a number (then the error is real)
      if (!(e instanceof TypeError)) throw e;
      mem.grow(BigInt(pages - 1));
    }
    out.grownToBytes = mem.buffer.byteLength;
    const at = 2 ** 32 + 4096;
    exports.poke(BigInt(at), 0x1234567);
    out.storeAbove4GiB = new DataView(mem.buffer).getInt32(at, true) === 0x1234567 ? 'ok' : 'read back wrong';
  } catch (e) {
    out.error = `${e.constructor.name}: ${e.message}`;
  }
  return out;
}

/**
 * The sharded way's need: several wasm32 memories of 3.5 GiB each alive at once (more than 4 GiB in
 * all), one byte written per 64 KiB page (so ~1/16 of it is touched, not the whole).
 */
export function probeShardMemories(count = 3) {
  const pages = 3.5 * 16384, mems = [];
  try {
    for (let i = 0; i < count; i++) {
      const m = new WebAssembly.Memory({ initial: pages, maximum: 65536 });
      const v = new Uint8Array(m.buffer);
      for (let p = 0; p < pages; p++) v[p * 65536 + 7] = p & 255;
      mems.push(m);
    }
    return { memories: mems.length, totalGiB: (mems.length * pages) / 16384 };
  } catch (e) {
    return { memories: mems.length, error: `${e.constructor.name}: ${e.message}` };
  }
}

if (process.argv.includes('--chromium')) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    console.log(JSON.stringify({ ...(await page.evaluate(`(${probeMemory64.toString()})()`)), shards: await page.evaluate(`(${probeShardMemories.toString()})()`) }));
  } finally {
    await browser.close();
  }
} else {
  console.log(JSON.stringify({ ...probeMemory64(), shards: probeShardMemories() }));
}
