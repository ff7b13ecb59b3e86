#!/usr/bin/env node
// Renders lowbit's document-like OCR test pages (issue 13, "Full OCR"): packages/cli/data/ocr-pages/
// pNN.png (8-bit grey, 800 px wide) and pages.json, the ground truth: per page its size, layout and
// every text line's text and box ([[x, y] × 4] clockwise from top-left: the ink's bounding box with a
// margin of a fifth of the font size).
//
// Each line is drawn alone by ImageMagick (`label:`, so its ink box is measured, not guessed) and
// pasted into the page here; table rules, rotation (exact 90°/180° here, a small skew through
// ImageMagick's -distort SRT, with the boxes rotated the same way) and light noise come after.
// Deterministic: texts, fonts, sizes, layouts and noise come from a seeded generator in this file.
// Same ImageMagick + same font files give the same bytes (-strip drops the time stamps).
//
// Usage: node scripts/render-ocr-pages.mjs [OUT_DIR] [COUNT]   (defaults: packages/cli/data/ocr-pages, 40)
// Needs ImageMagick 6 `convert` and the DejaVu, Liberation, URW base35 and Droid Sans Fallback fonts
// (apt-get install imagemagick fonts-dejavu-core fonts-liberation fonts-urw-base35 fonts-droid-fallback).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = process.argv[2] ?? join(ROOT, 'packages/cli/data/ocr-pages');
const COUNT = Number(process.argv[3] ?? 40);
const CONVERT = existsSync('/usr/bin/convert') ? '/usr/bin/convert' : 'convert';

const FONTS = {
  DejaVuSans: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  DejaVuSerif: '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf',
  LiberationSans: '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  LiberationSerif: '/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf',
  LiberationMono: '/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf',
  NimbusSansBold: '/usr/share/fonts/opentype/urw-base35/NimbusSans-Bold.otf',
  P052: '/usr/share/fonts/opentype/urw-base35/P052-Roman.otf',
  DroidSansFallback: '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf',
};
for (const [name, file] of Object.entries(FONTS)) {
  if (!existsSync(file)) throw new Error(`render-ocr-pages: missing font ${name} (${file})`);
}
const LATIN_FONTS = ['DejaVuSans', 'DejaVuSerif', 'LiberationSans', 'LiberationSerif', 'LiberationMono', 'P052'];

// ---- seeded generator (mulberry32) -----------------------------------------------------------
let seed = 20261205;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (a) => a[Math.floor(rand() * a.length)];

const WORDS = `time year people way day man thing woman life child world school state family student group
country problem hand part place case week company system program question work number night point home
water room mother area money story fact month right study book job word business issue side kind head
house service friend father power hour game line end member law car city name team minute idea body
information back parent face level office door health person art history party result change morning
reason research moment air teacher education river garden window market paper music coffee table winter
summer bridge station letter picture simple green yellow orange silver quick bright small large early
later happy little strong open close heavy light north south east west order total price value amount
street road island forest mountain ocean planet energy signal memory network engine camera screen button
folder report invoice account balance payment receipt ticket delivery package weather travel hotel airport
flight train platform kitchen dinner lunch apple bread butter cheese sugar zebra quiz jazz jump quality
box six tax fix size zone major object equal quarter journey`.split(/\s+/);
const NAMES = ['London', 'Paris', 'Berlin', 'Tokyo', 'Boston', 'Denver', 'Oslo', 'Madrid', 'Vienna', 'Chicago', 'Sydney', 'Dublin', 'Alice', 'Robert', 'Maria', 'James', 'Linda', 'David', 'Grace', 'Henry'];
const CHINESE = ['中国', '北京', '上海', '公司', '时间', '价格', '日期', '电话', '地址', '发票', '合计', '金额', '数量', '名称', '学校', '学生', '天气', '今天', '明天', '城市', '市场', '银行', '医院', '工作', '文件', '报告', '会议', '经理', '部门', '产品', '服务', '客户', '订单', '编号', '规格', '单位', '备注'];

const cap = (w) => w[0].toUpperCase() + w.slice(1);
function phrase(maxChars) {
  const words = [];
  let n = 0;
  const want = int(2, 7);
  while (words.length < want) {
    const r = rand();
    const w = r < 0.12 ? String(int(1, 9999)) : r < 0.2 ? pick(NAMES) : pick(WORDS);
    if (n + w.length + 1 > maxChars && words.length > 0) break;
    words.push(words.length === 0 && rand() < 0.6 ? cap(w) : w);
    n += w.length + 1;
  }
  let s = words.join(' ');
  if (rand() < 0.25) s += pick(['.', ',', ':']);
  return s;
}
function cellText() {
  const r = rand();
  if (r < 0.3) return String(int(1, 999));
  if (r < 0.5) return `${int(1, 99)}.${String(int(0, 99)).padStart(2, '0')}`;
  if (r < 0.6) return `${int(2001, 2029)}-${String(int(1, 12)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}`;
  return rand() < 0.5 ? cap(pick(WORDS)) : pick(WORDS);
}
function chineseText() {
  // Droid Sans Fallback draws only the Chinese characters (no Latin letters, digits or spaces)
  let s = '';
  for (let n = int(2, 4); n > 0; n--) s += pick(CHINESE);
  return s;
}

// ---- one line of text, drawn alone --------------------------------------------------------------
/** Renders `text` in a font and size: grey pixels and the ink box inside them. */
function renderLine(text, font, size) {
  const label = text.replace(/%/g, '%%').replace(/\\/g, '\\\\');
  const pgm = execFileSync(CONVERT, ['-background', 'white', '-fill', 'black', '-font', FONTS[font], '-pointsize', String(size), `label:${label}`, '-colorspace', 'Gray', '-depth', '8', 'pgm:-']);
  const header = pgm.toString('latin1', 0, 64).match(/^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/);
  const [, w, h] = header.map(Number);
  const pixels = pgm.subarray(header[0].length, header[0].length + w * h);
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (pixels[y * w + x] < 200) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  }
  if (x1 < 0) throw new Error(`render-ocr-pages: no ink for ${JSON.stringify(text)}`);
  return { w, h, pixels, ink: { x0, y0, x1: x1 + 1, y1: y1 + 1 } };
}

// ---- a page ------------------------------------------------------------------------------------
class Page {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.pixels = new Uint8Array(width * height).fill(255);
    this.lines = [];
  }
  /** Draws `text` with the ink's top-left near (x, y) if it fits in maxWidth; returns the line height used or 0. */
  text(text, font, size, x, y, maxWidth = this.width - x - 40, align = 'left') {
    const line = renderLine(text, font, size);
    const inkW = line.ink.x1 - line.ink.x0;
    if (inkW > maxWidth) return 0;
    const ox = (align === 'right' ? x + maxWidth - inkW : x) - line.ink.x0;
    const oy = y;
    if (oy + line.h > this.height - 30) return 0;
    for (let r = 0; r < line.h; r++) for (let c = 0; c < line.w; c++) {
      const X = ox + c, Y = oy + r;
      if (X < 0 || Y < 0 || X >= this.width || Y >= this.height) continue;
      const i = Y * this.width + X;
      this.pixels[i] = Math.min(this.pixels[i], line.pixels[r * line.w + c]);
    }
    // the line's box: its ink's bounding box grown by a fifth of the font size on every side, the
    // margin annotators give text boxes (a detector's boxes are not tight on the ink either)
    const m = Math.round(size / 5);
    const x0 = ox + line.ink.x0 - m, y0 = oy + line.ink.y0 - m, x1 = ox + line.ink.x1 + m, y1 = oy + line.ink.y1 + m;
    this.lines.push({ text, font, size, box: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]] });
    return line.h;
  }
  /** Writes `text`, dropping words until it fits. */
  fitText(text, font, size, x, y, maxWidth) {
    let words = text.split(' ');
    while (words.length > 0) {
      const h = this.text(words.join(' '), font, size, x, y, maxWidth);
      if (h > 0) return h;
      words = words.slice(0, -1);
    }
    return 0;
  }
  rule(x0, y0, x1, y1, grey = 40) {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) this.pixels[y * this.width + x] = grey;
  }
}

/** Column of prose lines from y; returns the y after it. */
function column(page, font, size, x, y, width, bottom) {
  const pitch = Math.round(size * (1.5 + rand() * 0.5));
  const maxChars = Math.floor(width / (size * 0.55));
  while (y + pitch < bottom) {
    if (page.fitText(phrase(maxChars), font, size, x, y, width) === 0) break;
    y += pitch;
    if (rand() < 0.12) y += pitch; // a paragraph break
  }
  return y;
}

const W = 800;
const LAYOUTS = ['single', 'two-columns', 'table', 'form', 'mixed-sizes', 'three-columns', 'chinese', 'two-fonts'];

function renderPage(index) {
  const layout = LAYOUTS[index % LAYOUTS.length];
  const H = int(900, 1100);
  const page = new Page(W, H);
  const font = pick(LATIN_FONTS);
  const title = phrase(28).replace(/[.,:]$/, '');
  let y = 40;
  const titleSize = int(28, 36);
  y += page.fitText(title, rand() < 0.5 ? 'NimbusSansBold' : font, titleSize, 50, y, 700) + 30;
  if (layout === 'single' || layout === 'mixed-sizes') {
    const sizes = layout === 'single' ? [int(16, 22)] : [14, 18, 24];
    while (y < H - 80) {
      const size = pick(sizes);
      const before = y;
      y = column(page, font, size, 50, y, 700, Math.min(H - 40, y + int(120, 300)));
      if (y === before) break;
      if (layout === 'mixed-sizes') y += page.fitText(phrase(30), 'NimbusSansBold', 22, 50, y + 10, 700) + 30;
    }
  } else if (layout === 'two-columns' || layout === 'two-fonts') {
    const size = int(15, 20);
    column(page, font, size, 50, y, 320, H - 40);
    column(page, layout === 'two-fonts' ? pick(LATIN_FONTS) : font, size, 430, y, 320, H - 40);
  } else if (layout === 'three-columns') {
    const size = int(14, 16);
    for (let c = 0; c < 3; c++) column(page, font, size, 40 + c * 250, y, 200, H - 40);
  } else if (layout === 'table') {
    const cols = int(3, 5), rows = int(10, 16), size = int(15, 19);
    const cw = Math.floor(700 / cols), rh = Math.round(size * 2.2);
    const x0 = 50, y0 = y;
    for (let r = 0; r <= rows; r++) page.rule(x0, y0 + r * rh, x0 + cols * cw, y0 + r * rh + 1);
    for (let c = 0; c <= cols; c++) page.rule(x0 + c * cw, y0, x0 + c * cw + 1, y0 + rows * rh + 1);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
      const t = r === 0 ? cap(pick(WORDS)) : cellText();
      page.text(t, r === 0 ? 'NimbusSansBold' : font, size, x0 + c * cw + 10, y0 + r * rh + Math.round(size * 0.35), cw - 20);
    }
    y = y0 + rows * rh + 40;
    column(page, font, int(15, 18), 50, y, 700, H - 40);
  } else if (layout === 'form') {
    const size = int(16, 20);
    while (y < H - 80) {
      const label = `${cap(pick(WORDS))} ${pick(WORDS)}:`;
      const value = rand() < 0.5 ? `${int(1, 9999)}.${String(int(0, 99)).padStart(2, '0')}` : `${pick(NAMES)} ${int(1, 99)}`;
      if (page.text(label, font, size, 60, y, 300) === 0) break;
      page.text(value, font, size, 440, y, 300, 'right');
      y += Math.round(size * 2);
    }
  } else if (layout === 'chinese') {
    const size = int(18, 24);
    const pitch = Math.round(size * 1.8);
    while (y < H - 80) {
      const right = rand() < 0.5 ? [chineseText(), 'DroidSansFallback'] : [phrase(18), font];
      const ok = page.text(chineseText(), 'DroidSansFallback', size, 50, y, 320) && page.text(right[0], right[1], size, 430, y, 320);
      if (!ok) break;
      y += pitch;
    }
  }
  return { page, layout, font };
}

/** Rotates the page (pixels and boxes) by 90° or 180° exactly. */
function rotateExact(page, quarterTurns) {
  const { width: w, height: h, pixels } = page;
  if (quarterTurns === 2) {
    page.pixels = pixels.slice().reverse();
    for (const l of page.lines) l.box = [2, 3, 0, 1].map((k) => [w - l.box[k][0], h - l.box[k][1]]);
    return;
  }
  // 90° clockwise: (x, y) → (h − y, x); the new top-left corner is the old bottom-left.
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[x * h + (h - 1 - y)] = pixels[y * w + x];
  page.pixels = out;
  page.width = h;
  page.height = w;
  for (const l of page.lines) l.box = [3, 0, 1, 2].map((k) => [h - l.box[k][1], l.box[k][0]]);
}

/** Speckle noise: a fraction of the pixels moved by ≈ normal noise of std sigma (sparse, so the PNG stays small). */
function addNoise(page, fraction, sigma) {
  for (let i = 0; i < page.pixels.length; i++) {
    if (rand() >= fraction) continue;
    const g = (rand() + rand() + rand() - 1.5) * 2 * sigma;
    page.pixels[i] = Math.max(0, Math.min(255, Math.round(page.pixels[i] + g)));
  }
}

/** Writes the page as PNG; a skew (degrees, clockwise) goes through ImageMagick and turns the boxes. */
function writePng(page, file, skew) {
  const args = ['-size', `${page.width}x${page.height}`, '-depth', '8', 'gray:-'];
  if (skew) args.push('-virtual-pixel', 'white', '-distort', 'SRT', String(skew));
  args.push('-strip', '-define', 'png:color-type=0', '-define', 'png:bit-depth=8', file);
  execFileSync(CONVERT, args, { input: page.pixels });
  if (skew) {
    const a = (skew * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
    const cx = page.width / 2, cy = page.height / 2;
    for (const l of page.lines) {
      l.box = l.box.map(([x, y]) => [+(cx + (x - cx) * c - (y - cy) * s).toFixed(1), +(cy + (x - cx) * s + (y - cy) * c).toFixed(1)]);
    }
  }
}

mkdirSync(OUT, { recursive: true });
const truth = [];
for (let i = 0; i < COUNT; i++) {
  const { page, layout, font } = renderPage(i);
  const file = `p${String(i + 1).padStart(2, '0')}.png`;
  // the last three pages: upside down, turned a quarter, skewed; every fifth page gets noise
  const transform = i === COUNT - 3 ? 'rotate-180' : i === COUNT - 2 ? 'rotate-90' : i === COUNT - 1 ? 'skew-3' : 'none';
  if (transform === 'rotate-180') rotateExact(page, 2);
  if (transform === 'rotate-90') rotateExact(page, 1);
  const noise = i % 5 === 4 ? { fraction: 0.03, sigma: 60 } : null;
  if (noise) addNoise(page, noise.fraction, noise.sigma);
  writePng(page, join(OUT, file), transform === 'skew-3' ? 3 : 0);
  truth.push({ file, width: page.width, height: page.height, layout, font, transform, noise, lines: page.lines });
  process.stdout.write(`${file} ${layout} ${transform} ${page.lines.length} lines\n`);
}
writeFileSync(join(OUT, 'pages.json'), JSON.stringify({ generator: 'scripts/render-ocr-pages.mjs', pages: truth }, null, 1) + '\n');
