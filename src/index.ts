// lowbit: low-precision neural-network inference in WebAssembly SIMD, with its error against float32.
//
// The `lowbit` entry: what a user of models and layers calls. The rule: a name is here when a user
// needs it to create a runtime, build or load a model or a layer, quantize, compare, save or load,
// or to bring weights and formats in and out (the format table, the quantization math and file
// formats: int4 blocks, GPTQ, FP8/FPx/ANT codecs, safetensors); its errors and types come with it.
// A kernel's pack/run/reference functions and their packed-weight classes are in `lowbit/kernels`
// (src/kernels.ts); the OCR recognizer's helpers in `lowbit/ocr` (src/ocr.ts).

export { createRuntime, Runtime } from './api/runtime.js';
export type { RuntimeOptions } from './runtime/runtime.js';
export type { Features, SimdChoice } from './runtime/features.js';
export type { WasmSources, WasmSource, BuildName } from './runtime/load.js';
export {
  LowbitError, ShapeError, DTypeError, ValueRangeError, OutOfMemoryError, FeatureError, ArgumentError, ModelError, UnsupportedOperatorError, type LowbitErrorCode,
} from './errors.js';
export { tensor, type Tensor, type DType } from './tensor.js';
export { OnnxOps } from './ops/onnx.js';
export { Linear, type LinearOptions, type LinearComparison } from './formats/linear.js';
export { attentionReference } from './layers/attention-reference.js';
export type { AttentionInt8Options, AttentionInt8Result } from './layers/attention-int8.js';
// the names of the three linear classes Linear replaced
export { Linear as QuantizedLinear, Linear as Int4Linear, Linear as TypedLinear } from './formats/linear.js';
export type { ActivationScheme } from './layers/int8-linear.js';
export type { Int4Activations } from './layers/int4-linear.js';
export { WEIGHT_FORMATS, FORMAT_NAMES, weightFormat } from './formats/table.js';
export type { WeightFormat, LayerWeights, SavedRecord, SavedReader, QuantizeContext, LinearHook } from './formats/format.js';
export { NF4_LEVELS } from './formats/nf4.js';
export type { TableWeights } from './formats/lut4-format.js';
export { compareTo, formatReport, type ErrorReport } from './compare/metrics.js';
export { dynamicQuantParams } from './quant/q8.js';
export {
  pruneMask, pruneUnstructured, pruneNM, pruneBlocks, applyMask, quantizeRowsInt8, quantizeRowsSymmetric, PRUNE_BLOCKS, type PrunePattern, type PruneResult,
} from './quant/prune.js';
export { obcPrune, obcInt8, obcQuantized, type ObcOptions, type ObcPruned, type ObcInt8 } from './quant/obc.js';
export { uint8Range, type ActivationQuant } from './quant/activation-range.js';
export { mulberry32, normalFloats } from './util/random.js';
export {
  quantizeInt4Rtn, dequantizeInt4, fromMatMulNBits, toMatMulNBits, fromQ4_0, toQ4_0, quantizeQ8_0, dequantizeQ8_0,
  type Int4Blocks, type RtnOptions, type MatMulNBitsWeights,
} from './quant/int4.js';
export { quantizeInt4Gptq, quantizeInt4GptqHessian, calibrationHessian, HessianSum, type GptqOptions, type GptqSettings } from './quant/gptq.js';
export { quantizeAntGptq, type AntGptqOptions } from './quant/gptq-ant.js';
export { quantizeF8wGptq, type F8wGptqOptions } from './quant/gptq-f8w.js';
export { fp16ToFloat, floatToFp16 } from './quant/fp16.js';
export {
  floatToFp8, fp8ToFloat, fp8FromBits, fp8IsNaN, encodeFp8, decodeFp8, FP8, FP8_FORMATS, FP8_TABLE_BITS, type Fp8Format, type Fp8Spec,
} from './quant/fp8.js';
export {
  fpxFormat, fpxQuantize, fpxSearch, fpxMaxForBias, fpxBiasForMax, channelLayout, sqnrDb,
  type FpxFormat, type FpxName, type FpxLayout, type FpxSearchOptions, type FpxSearchResult,
} from './quant/fpx.js';
export { FPX_SPLITS, fpxTable, fpxEncode, type FpxSplit } from './quant/fpx-codes.js';
export { quantizeFpxWeights, type FpxWeights, type FpxQuantizeOptions, type FpxChoice } from './quant/fpx-weights.js';
export { FLOAT8_TYPES, type Float8Type, type Float8Tensor, type CastTarget, type QuantizeLinearOptions } from './ops/onnx.js';
export type { ModelSource } from './model/onnx-source.js';
export { loadModel, Model, type ModelTensor, type ModelInput, type ModelInputs, type RunOptions, type LoadOptions, type RunState, type StepPlace } from './model/model.js';
export { generate, generateStream, decoderLayoutOf, type GenerateOptions, type GenerateResult, type GenerationStep } from './model/generate.js';
// models past the 4 GiB of one wasm32 memory: weights over several runtimes (README "Models past 4 GiB")
export { planShards, createShards, shardMemory, WASM32_MEMORY_BYTES, DEFAULT_SHARD_BYTES, type ShardPlan, type ShardMemory } from './runtime/shards.js';
export { ShardedDecoder, LLAMA_7B_SHAPE, decoderItemBytes, type DecoderShape, type ShardedDecoderOptions } from './model/sharded-decoder.js';
export type { DecoderLayout } from './model/decoder-layout.js';
export { KvCache, type KvNames } from './model/kv-cache.js';
export { Sampler, argmax, type SamplingOptions } from './model/sampling.js';
export { floatData, outputValues, type OutputTensor, type OutputType } from './model/outputs.js';
export { UnsupportedOperatorsError, type MissingOperator } from './model/ops/registry.js';
export { importOnnx } from './model/onnx.js';
export { fuseGraph } from './model/fuse.js';
export type { Graph, GraphNode, HostTensor, Subgraph } from './model/graph.js';
export type { Plan, PlanStep, PlanValue } from './model/plan.js';
export { quantizeModel, type QuantizeOptions, type CalibrationFreeOptions } from './model/quantize.js';
export { layerLatencies, slowerQuantizedLayers, type LayerLatency, type SpeedChoice } from './model/speed-check.js';
export { latencyTimer, pruneByLatency, type LayerTimer, type PrunePlan, type PruneLayerReport, type TimedCandidate } from './model/prune-latency.js';
export { latencySearch, checkLatencyBudget, type LatencyCandidate, type LatencyLayer, type LatencyPlan } from './quant/latency-search.js';
export type { AutoBudget, LayerChoice, LayerTrial, MixReport, OutputMetric, OutputScore, SparsityLatency } from './model/quantize-options.js';
export { calibrate, type Feeds } from './model/calibrate.js';
export {
  ANT_TYPE_NAMES, ANT_CLIP_RATIOS, ANT_DEFAULT_CANDIDATES, antType, antCodebook, antDecode, antEncode, antQuantizeValue,
  quantizeAnt, dequantizeAnt, selectAntType, learnAntCodebook, packAntCodes, unpackAntCodes,
  type AntType, type AntTypeName, type AntCandidate, type AntQuantized, type AntQuantizeOptions,
  type AntSelectOptions, type AntSelection, type AntSelectionRow, type AntCodebookOptions,
} from './quant/ant.js';
export { studyTensor, summarizeStudy, weightTensors, STUDY_FORMATS, type StudyRow, type StudySummary, type StudyFormat } from './compare/format-study.js';
export { compareModels, type LayerError } from './compare/model-compare.js';
export { saveQuantized, loadQuantized, type LoadQuantizedOptions } from './model/saved.js';
export { integerOnlyOps } from './model/ivit-saved.js';
export { exportOnnx, exportOnnxWithReport, type ExportOnnxOptions, type ExportedLayer, type OnnxExport } from './model/export-onnx.js';
export type { NonFinite } from './layers/nonfinite.js';
export { readSafetensors, writeSafetensors, type SafeTensor } from './formats/safetensors.js';
