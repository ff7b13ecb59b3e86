// A synthetic page for the PP-OCRv4 detector: lines of dark strokes ("words") on white, seeded,
// normalised as PP-OCR does ((x - mean) / std with ImageNet statistics; NCHW, RGB). Shared by
// bench/ocr-det.mjs and test/ocr-det-model.test.ts. `r` is a seeded uniform [0, 1) generator.

export function syntheticPage(h, w, r) {
  const gray = new Float32Array(h * w).fill(1);
  for (let top = 8 + Math.floor(r() * 8); top + 14 < h; top += 20 + Math.floor(r() * 12)) {
    const lineH = 8 + Math.floor(r() * 6);
    for (let x = 6 + Math.floor(r() * 20); x < w - 10; ) {
      const word = 12 + Math.floor(r() * 40);
      for (let xx = x; xx < Math.min(w - 6, x + word); xx++) {
        // strokes: a few columns dark, then light, with ragged tops and bottoms
        if ((xx - x) % 5 >= 3) continue;
        const t = top + Math.floor(r() * 3), b = top + lineH - Math.floor(r() * 3);
        for (let y = t; y < b; y++) gray[y * w + xx] = 0.1 + 0.2 * r();
      }
      x += word + 6 + Math.floor(r() * 10);
    }
  }
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) out[c * h * w + i] = (gray[i] - mean[c]) / std[c];
  return out;
}
