// The demo's HTML report says what it shows: the scheme the layers ran in, how the error is
// measured, what the colours mean, and each layer by position, kind and weight name.

import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../packages/cli/src/html-report.js';

const layer = (name: string, kind: string, scheme: string, sqnrDb: number) => ({ name, kind, scheme, dims: [1, 8], weightBytes: 64, sqnrDb, cosine: 0.99, maxAbs: 0.01 });

describe('HTML report', () => {
  const page = renderHtmlReport({
    title: 'demo <test>', features: 'baseline, 1 thread(s)', lines: 3, layerInputs: '8 calibration lines',
    rows: [{ scheme: 'int8', exactMatch: 0.9, cer: 0.01, msPerLine: 2, weightMB: 1, vsFloat: 1.3, vsOrt: null }],
    layers: [layer('conv1.w', 'Conv 3x3 + relu', 'int8', 35), layer('dw.w', 'Conv depthwise 3x3', 'float32', Infinity), layer('fc.w', 'Linear', 'int8', 15)],
  });

  it('names the scheme, the error basis, the colour legend and the inputs', () => {
    expect(page).toContain('Per-layer error: int8 against float32');
    expect(page).toMatch(/SQNR = 10·log10/);
    expect(page).toContain('below 20 dB');
    expect(page).toContain('30 dB and up');
    expect(page).toContain('8 calibration lines');
  });

  it('labels layers by position, what ran and weight name; escapes text; no scripts', () => {
    expect(page).toContain('#3 Linear (fc.w)');
    expect(page).toContain('<td>#1</td><td style="text-align:left">Conv 3x3 + relu</td><td style="text-align:left">conv1.w</td>');
    expect(page).toContain('demo &#60;test&#62;');
    expect(page).not.toMatch(/<script|src="http/);
    // the 15 dB layer is drawn red, the 35 dB one green
    expect(page).toMatch(/fill="#d9534f"><title>#3 Linear/);
    expect(page).toMatch(/fill="#5cb85c"><title>#1 Conv/);
  });
});
