// Calibration data for quantizing the OCR models: what the float pipeline feeds each model while it
// reads a few pages. Wrap each model, read the pages, and pass the recorded feeds to quantizeModel.

import type { OcrFeeds, OcrModel } from './pipeline.js';

/** `model`, also keeping copies of (up to `limit`) feeds it is run on in `feeds`. */
export function recordingModel(model: OcrModel, feeds: OcrFeeds[], limit: number): OcrModel {
  return {
    inputNames: model.inputNames,
    outputNames: model.outputNames,
    run(f) {
      if (feeds.length < limit) feeds.push(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { type: 'float32', data: Float32Array.from(v.data), dims: [...v.dims] }])));
      return model.run(f);
    },
  };
}
