// Each weight layer's input second moment H = XᵀX / rows (K x K, float64) over the calibration
// inputs, taken from the FLOAT model: the rows are a linear layer's input rows, or a convolution's
// im2col rows (one per output pixel, K in weightRows' order: tap-major, input channel minor, zeros
// where the window leaves the padded image). A stand-in for quantizeModel's GPTQ pass, which takes
// H from the inputs propagated through the layers already quantized; it is used only when ANT's
// type is chosen by effect (quantizeModel's antChoice: 'effect'), and it is a separate file so that
// the GPTQ pass can replace it.
// Cost: rows·K²/2 multiply-adds per layer, in chunks of rows so that H is read once per chunk.

import { convOutSize, type ConvGeometry } from '../layers/conv2d.js';
import type { GraphNode } from './graph.js';
import type { Feeds } from './calibrate.js';
import type { Model } from './model.js';

/** rows accumulated into H at a time: H is swept once per chunk */
const CHUNK = 32;

class Accumulator {
  /** upper triangle of Σ xᵀx */
  readonly sum: Float64Array;
  rows = 0;
  /** the chunk transposed: at[i * CHUNK + r] = row r's element i */
  private readonly at: Float64Array;
  private filled = 0;

  constructor(readonly k: number) {
    this.sum = new Float64Array(k * k);
    this.at = new Float64Array(k * CHUNK);
  }

  /** starts the next row; returns its slot in the chunk, for set() */
  row(): number {
    if (this.filled === CHUNK) this.flush();
    this.rows++;
    return this.filled++;
  }

  /** element i of the row in slot r */
  set(r: number, i: number, v: number): void {
    this.at[i * CHUNK + r] = v;
  }

  flush(): void {
    const { k, at, sum } = this;
    const m = this.filled;
    for (let i = 0; i < k; i++) {
      const ai = i * CHUNK;
      let any = false;
      for (let r = 0; r < m; r++) if (at[ai + r] !== 0) any = true;
      if (!any) continue; // a column that is zero in every row of the chunk (padding, ReLU) adds nothing
      for (let j = i; j < k; j++) {
        const aj = j * CHUNK;
        let s = 0;
        for (let r = 0; r < m; r++) s += at[ai + r] * at[aj + r];
        sum[i * k + j] += s;
      }
    }
    this.filled = 0;
  }

  /** H = Σ xᵀx / rows, both triangles (zero when no rows were seen) */
  hessian(): Float64Array {
    this.flush();
    const { k, sum } = this;
    const inv = this.rows > 0 ? 1 / this.rows : 0;
    for (let i = 0; i < k; i++) {
      for (let j = i; j < k; j++) {
        sum[i * k + j] *= inv;
        sum[j * k + i] = sum[i * k + j];
      }
    }
    return sum;
  }
}

/** A linear layer's input [M][K]: M rows. */
function addRows(acc: Accumulator, x: Float32Array): void {
  const k = acc.k;
  for (let m = 0; m * k < x.length; m++) {
    const r = acc.row();
    for (let i = 0; i < k; i++) acc.set(r, i, x[m * k + i]);
  }
}

/** A convolution's input, NHWC data with dims [N, C, H, W]: one im2col row per output pixel. */
function addIm2colRows(acc: Accumulator, x: Float32Array, dims: readonly number[], g: ConvGeometry): void {
  const [n, c, h, w] = dims;
  const [oh, ow] = convOutSize(g, h, w);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const r = acc.row();
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const iy = oy * g.sh - g.pt + ky * g.dh;
            const ix = ox * g.sw - g.pl + kx * g.dw;
            const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
            const base = (ky * g.kw + kx) * c;
            const at = ((b * h + iy) * w + ix) * c;
            for (let ci = 0; ci < c; ci++) acc.set(r, base + ci, inside ? x[at + ci] : 0);
          }
        }
      }
    }
  }
}

/**
 * H = XᵀX / rows of each weight layer's input (group-1 convolutions and linear layers) over the
 * calibration inputs, run through the float model; `want` picks the layers (default all); `rows`,
 * when given, gets each layer's number of rows.
 */
export async function layerHessians(
  model: Model, calibration: Feeds[], want: (node: GraphNode) => boolean = () => true, onProgress?: (done: number, total: number) => void, rows?: Map<GraphNode, number>,
): Promise<Map<GraphNode, Float64Array>> {
  const accs = new Map<GraphNode, Accumulator>();
  for (const [i, feeds] of calibration.entries()) {
    await model.run(feeds, {
      beforeStep: (step, ins) => {
        const node = step.node;
        const spec = node && step.layer ? model.layerSpecs.get(node) : undefined;
        if (!node || !spec || !ins[0] || (spec.type === 'conv' && spec.geometry.group !== 1) || !want(node)) return;
        const k = spec.type === 'conv' ? spec.geometry.kh * spec.geometry.kw * spec.geometry.cin : spec.k;
        let acc = accs.get(node);
        if (!acc) accs.set(node, (acc = new Accumulator(k)));
        if (spec.type === 'conv') addIm2colRows(acc, ins[0], step.ins[0]!.dims, spec.geometry);
        else addRows(acc, ins[0]);
      },
    });
    onProgress?.(i + 1, calibration.length);
  }
  const out = new Map<GraphNode, Float64Array>();
  for (const [node, acc] of accs) {
    rows?.set(node, acc.rows);
    out.set(node, acc.hessian());
  }
  return out;
}
