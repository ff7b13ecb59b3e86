// The demo page's wiring: load the models, take a dropped/chosen image (or a sample), read it with
// float32 and int8, and show both texts, their times and the per-layer error chart. The finished
// result is also in #result's data-report (JSON) for the browser test (test/bundlers/check-demo.mjs).
import { BANDS, layerChart, worstLayers } from './chart.js';
import { decodeImage, lineImage, looksLikeLine } from './image.js';
import { loadModels } from './models.js';
import { readLine, readPage } from './recognize.js';

const $ = (id) => document.getElementById(id);
const status = (text, error = false) => {
  $('status').textContent = text;
  $('status').className = error ? 'error' : 'muted';
};
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;

let ready = null; // the models' description line, once loaded
const models = loadModels(status).then((m) => {
  const { simd, threads } = m.rt.features;
  ready = `lowbit ${simd} SIMD build, ${threads} thread(s) · int8 quantized in this tab in ${(m.quantizeMs / 1000).toFixed(1)} s · recognizer weights: float32 ${mib(m.rec.float32.weightBytes)}, int8 ${mib(m.rec.int8.weightBytes)}`;
  status(ready);
  for (const b of ['sample-line', 'sample-page']) $(b).disabled = false;
  return m;
});
models.catch((e) => fail(e));

function fail(e) {
  status(`failed: ${e?.message ?? e}`, true);
  $('result').dataset.report = JSON.stringify({ error: `${e?.name}: ${e?.message}` });
}

function showPicture(image, name) {
  const canvas = $('picture');
  [canvas.width, canvas.height] = [image.width, image.height];
  canvas.getContext('2d').drawImage(image.bitmap, 0, 0);
  $('picture-caption').textContent = `${name}: ${image.width} × ${image.height} px`;
  $('preview').hidden = false;
}

function show(r) {
  for (const n of ['float32', 'int8']) {
    $(`text-${n}`).textContent = r[n].text || '(nothing read)';
    $(`ms-${n}`).textContent = `${r[n].ms.toFixed(1)} ms`;
    $(`info-${n}`).textContent = `confidence ${r[n].confidence.toFixed(3)}`;
  }
  const same = r.float32.text === r.int8.text;
  $('verdict').textContent = `${same ? 'Same text.' : 'The texts differ.'} int8 is ${(r.float32.ms / r.int8.ms).toFixed(2)}× the speed of float32 (${r.timing}).`;
  $('result').hidden = false;
  $('legend').innerHTML = BANDS.map((b) => `<span><i style="background:${b.color}"></i>${b.label}</span>`).join('') +
    '<span><i style="background:#9994;outline:1px solid #999;outline-offset:-1px"></i>pale: the layer runs in float32</span>';
  $('chart').innerHTML = layerChart(r.layers);
  $('worst').textContent = `${r.layers.length} layers, measured on ${r.layersOn}; furthest from float32: ${worstLayers(r.layers).join('; ')}`;
  $('layers').hidden = false;
}

let last = null; // the image shown, read again when "read as" changes

async function handle(blob, name) {
  last = { blob, name };
  try {
    delete $('result').dataset.report;
    const image = await decodeImage(blob);
    showPicture(image, name);
    const m = await models;
    const mode = $('mode').value === 'auto' ? (looksLikeLine(image) ? 'line' : 'page') : $('mode').value;
    status(mode === 'line' ? 'reading the line…' : 'finding and reading the lines of the page (this takes a while: the detector runs on the whole page)…');
    const r = mode === 'line' ? await readLine(m, lineImage(image)) : await readPage(m, image);
    show(r);
    status(ready);
    const { features } = m.rt;
    $('result').dataset.report = JSON.stringify({ name, kind: r.kind, features, float32: r.float32, int8: r.int8, layers: r.layers.length });
  } catch (e) {
    fail(e);
  }
}

const drop = $('drop');
$('file').addEventListener('change', (e) => e.target.files[0] && handle(e.target.files[0], e.target.files[0].name));
for (const t of ['dragenter', 'dragover']) drop.addEventListener(t, (e) => (e.preventDefault(), drop.classList.add('over')));
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer.files[0];
  if (f) handle(f, f.name);
});
window.addEventListener('dragover', (e) => e.preventDefault()); // a drop beside the zone must not open the file
window.addEventListener('drop', (e) => e.preventDefault());
$('mode').addEventListener('change', () => last && handle(last.blob, last.name));
for (const [id, url] of [['sample-line', 'samples/line.png'], ['sample-page', 'samples/page.png']]) {
  $(id).addEventListener('click', async () => handle(await (await fetch(url)).blob(), url));
}
