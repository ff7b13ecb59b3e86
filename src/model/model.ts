// A loaded model: the graph, its layers (built once), one plan per input shape, and run().

import { ArgumentError, ModelError, ShapeError, describe } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { lowerConv1d } from './lower-conv1d.js';
import { keepConv1dChains } from './conv1d-chains.js';
import { ACTIVATIONS, fuseGraph, type ActivationName, type FuseReport } from './fuse.js';
import { elementCount, hostArray, type Graph, type GraphNode, type HostData, type HostTensor } from './graph.js';
import { ConvLayerF32, Int4FileLinearLayer, LinearLayerF32, type LayerIO, type ModelLayer } from './layers.js';
import { kernelLayerFor } from './kernel-layer-rules.js';
import type { ConvActivation, ConvGeometry } from '../layers/conv2d.js';
import { importOnnx, rowReaderOf } from './onnx.js';
import type { ModelSource } from './onnx-source.js';
import { releaseNBitsWeights } from './released-weights.js';
import { fuseSubgraphs } from './fuse-subgraphs.js';
import { convSpec } from './ops/linear-ops.js';
import { matMulNBitsBlocks, matMulNBitsNibbles } from './ops/quant-ops.js';
import { dequantizeInt4, type Int4Nibbles } from '../quant/int4.js';
import type { LayerWeights } from '../formats/format.js';
import { int4Format } from '../formats/int4.js';
import { opDef } from './ops/registry.js';
import { checkExactInputs, checkExactOutputs } from './int64-exact.js';
import type { HostValue, OpContext, ValueInfo } from './ops/types.js';
import { convertLayout, makePlan, planTimeInputs, PLAN_VALUE_MAX_ELEMENTS, type Plan, type PlanStep, type PlanValue } from './plan.js';
import { PlanCache } from './plan-cache.js';
import { isStage, planStaged, restInputs, stageOutputs, type StagedPlan } from './staged-plan.js';
import { runControlStep } from './control-flow.js';
import { checkFeeds, type Feed, type ModelInputs } from './feeds.js';
import { keepSource } from './source.js';
import { fuseDynamicQuant } from './fuse-dyn-quant.js';
import { outputTensor, type OutputTensor } from './outputs.js';
import { ArenaHistory } from './arena-history.js';
import { captureState, restoreState, type RunState } from './run-state.js';
import type { ArenaCarry } from './arena-carry.js';

export type { RunState } from './run-state.js';

export type { ModelInput, ModelInputs } from './feeds.js';

export type { OutputTensor, OutputType } from './outputs.js';
/** The former name of OutputTensor (what run() returns per output). */
export type ModelTensor = OutputTensor;

export interface StepTiming {
  step: PlanStep;
  ms: number;
}

/** Where a top-level step stands in its plan (RunOptions.beforeStep's third argument). */
export interface StepPlace {
  readonly plan: Plan;
  readonly index: number;
  /** copies the values live before this step, for RunOptions.resume */
  state(): RunState;
}

export interface RunOptions {
  /**
   * called before each step with its float32 inputs (views: read them now or copy); for steps of the
   * model's own plan (not inside If or Loop) also with the step's place
   */
  beforeStep?: (step: PlanStep, inputs: (Float32Array | null)[], place?: StepPlace) => void;
  /**
   * start at the step of a state taken by StepPlace.state() in an earlier run on the same feeds, with
   * its live values, skipping the steps before it (the caller vouches that they would compute the
   * same values); a state that does not fit this run's plan is ignored and the run starts from the feeds
   */
  resume?: RunState;
  /** called after each step with its outputs (copies are the caller's business) */
  onStep?: (step: PlanStep, outputs: Float32Array[]) => void;
  /** collect per-step wall time */
  timings?: StepTiming[];
  /**
   * Small integer inputs to keep as run-time values rather than plan constants (planTimeInputs): a
   * decoder's attention_mask and position_ids change every step, and as constants they would key
   * a new plan per step. If a shape depends on their values, the run reads them and plans the rest
   * per value (staged-plan.ts), which defeats the purpose.
   */
  runtimeInputs?: readonly string[];
  /**
   * float32 outputs to write into these arrays, by output name, instead of fresh ones (used when
   * the length matches the output's, otherwise ignored): a decoder's presents go into the buffers
   * it fed as past, so a decode step allocates no KV cache. They may be this run's float32 feeds
   * (those are copied into the arena before any step), not its other feeds.
   */
  into?: Readonly<Record<string, Float32Array>>;
  /**
   * outputs written in place over inputs that the next run of the same plan reads again (a decoder's
   * KV cache): left in the arena, not copied out (they come back as views of the arena, valid until
   * the next run), and not copied in on that next run (see arena-carry.ts); the carried inputs' feeds
   * may then have empty data
   */
  carry?: ArenaCarry;
}

export class Model {
  private readonly layers = new Map<GraphNode, ModelLayer | null>();
  private readonly specs = new Map<GraphNode, LayerSpec>();
  /**
   * plans by input dims and plan-time input values, and the later stages of staged plans by the
   * run-time values they were planned on (staged-plan.ts); `plans.capacity` bounds them all (LRU, default 16)
   */
  readonly plans = new PlanCache<StagedPlan>();
  /** the constant inputs each cached layer was built from (layerFor: rebuilt when they change) */
  private readonly layerConstants = new Map<GraphNode, (HostTensor | undefined)[]>();
  /** layers replaced for other folded constants, still held by cached plans */
  private retired: (ModelLayer | null)[] = [];
  /** small integer inputs whose values are constants of the plan (see planTimeInputs) */
  private readonly valueInputs: Set<string>;
  /** one activation arena for every plan (plans hold offsets), grown to the largest plan run so far */
  private arena = { ptr: 0, bytes: 0 };
  /** when the arena is given back after a run far larger than the steady ones (arena-history.ts) */
  private readonly arenaHistory = new ArenaHistory();
  /** runs go one at a time: they share the arena */
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  /** host steps' input and output views, by step (a plan's steps live as long as the plan) */
  private readonly hostCache = new WeakMap<PlanStep, HostValues>();
  /** the carry whose values the arena holds now, with the plan that left them there (RunOptions.carry) */
  private carried: { carry: ArenaCarry; plan: Plan; ptr: number } | null = null;
  /** layer steps' addresses, by step */
  private readonly ioCache = new WeakMap<PlanStep, { arena: number; io: LayerIO }>();

  /** layers for weightless nodes tried before the kernel layers (quantizeModel's integerOnly ops) */
  opLayer?: (rt: Runtime, node: GraphNode, ins: (ValueInfo | null)[]) => ModelLayer | null;
  /** host steps this model computes its own way (quantizeModel's attention 'int8'), by node; null: the operator's compute */
  hostOp?: (node: GraphNode) => HostOp | null;

  constructor(readonly rt: Runtime, readonly graph: Graph, readonly fusions: FuseReport, private readonly builder: LayerBuilder = buildFloatLayer, readonly scheme = 'float32') {
    this.valueInputs = planTimeInputs(graph);
  }

  get inputNames(): string[] {
    return this.graph.inputs.map((i) => i.name);
  }

  get outputNames(): string[] {
    return [...this.graph.outputs];
  }

  /**
   * The plan for these input dims (made on first use, then cached). `inputValues` gives the values of
   * small integer inputs the plan may fold (run() passes those of planTimeInputs()); an input without
   * one is a runtime value.
   */
  plan(inputDims: Record<string, readonly number[]>, inputValues: Record<string, HostTensor> = {}): Plan {
    if (this.disposed) throw new ArgumentError('model: used after dispose()');
    const key = this.planKey(inputDims, inputValues);
    const have = this.plans.get(key);
    if (have && !isStage(have)) return have;
    // a graph that needs run-time values to plan has no one plan: this throws, naming the node
    const plan = makePlan(this.graph, this.dimsMap(inputDims), (node, ins) => this.layerFor(node, ins), new Map(Object.entries(inputValues)));
    this.plans.set(key, plan);
    return plan;
  }

  /** The plan for these inputs, or its first stage when a shape depends on a run-time value (run() goes on through the stages). */
  private stagedPlan(inputDims: Record<string, readonly number[]>, inputValues: Record<string, HostTensor>): { plan: StagedPlan; key: string } {
    const key = this.planKey(inputDims, inputValues);
    let plan = this.plans.get(key);
    if (!plan) {
      plan = planStaged(this.graph, this.dimsMap(inputDims), (node, ins) => this.layerFor(node, ins), new Map(Object.entries(inputValues)));
      this.plans.set(key, plan);
    }
    return { plan, key };
  }

  private planKey(inputDims: Record<string, readonly number[]>, inputValues: Record<string, HostTensor>): string {
    return JSON.stringify(this.graph.inputs.map((i) => [inputDims[i.name], inputValues[i.name] ? Array.from(inputValues[i.name].data) : null]));
  }

  private dimsMap(inputDims: Record<string, readonly number[]>): Map<string, number[]> {
    return new Map(Object.entries(inputDims).map(([k, v]) => [k, [...v]]));
  }

  /** Bytes of the activation arena the model holds now (0 before the first run, or after one was given back). */
  get arenaBytes(): number {
    return this.arena.bytes;
  }

  /**
   * Gives the activation arena back to the runtime now (the next run allocates it again). Models on
   * one runtime share its 4 GiB: quantizeModel gives back the float model's after calibrating, so a
   * large-image model (ISNet at 1024 x 1024: 2.3 GB) and its quantized copy need not both hold one.
   */
  releaseArena(): Promise<void> {
    // queued like a run: never under a run that uses the arena
    const next = this.queue.then(() => this.freeArena());
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The arena, grown (never while a run uses it: runs are queued) to hold `bytes`. */
  private arenaFor(bytes: number): number {
    if (bytes > this.arena.bytes) {
      this.freeArena();
      this.arena = { ptr: this.rt.alloc(bytes), bytes };
    }
    return this.arena.ptr;
  }

  private layerFor(node: GraphNode, ins: (ValueInfo | null)[]): ModelLayer | null {
    if (this.layers.has(node)) {
      if (sameConstants(this.layerConstants.get(node), ins)) return this.layers.get(node)!;
      // its weights were folded from an input's values (a plan-time integer input, a staged read) and
      // those differ now: the cached layer would compute with the old ones. Build another; cached plans
      // keep the old one (theirs) until too many pile up, then those plans go with them (runs are
      // queued, so none is using them)
      this.retired.push(this.layers.get(node)!);
      this.layers.delete(node);
      if (this.retired.length > 2 * this.plans.capacity) {
        this.plans.clear();
        this.disposeRetired();
      }
    }
    // the graph's own initializers never change; values folded during planning may
    this.layerConstants.set(node, ins.map((v, i) => (this.graph.constants.has(node.inputs[i]) ? undefined : v?.value)));
    const spec = layerSpec(node, ins, this.graph.opset);
    if (spec) this.specs.set(node, spec);
    const layer = spec ? this.builder(this.rt, node, spec) : (this.opLayer?.(this.rt, node, ins) ?? kernelLayerFor(this.rt, node, ins, this.graph.opset));
    this.layers.set(node, layer);
    // a 4-bit file's weights are held once: packed; the graph's tensors decode from there (released-weights.ts)
    if (layer instanceof Int4FileLinearLayer) {
      const restore = releaseNBitsWeights(this.graph, node, () => layer.unpackBlocks());
      if (restore) layer.whenDisposed(restore);
    }
    return layer;
  }

  private disposeRetired(): void {
    for (const l of this.retired) l?.dispose();
    this.retired = [];
  }

  /**
   * Drops the built layer of these nodes (and the plans that hold it), so the next run builds them
   * again through the builder: how a mixed-precision search tries one layer in another scheme.
   */
  async rebuild(nodes: Iterable<GraphNode>): Promise<void> {
    await this.queue;
    for (const node of nodes) {
      this.layers.get(node)?.dispose();
      this.layers.delete(node);
    }
    this.plans.clear();
    this.disposeRetired();
  }

  /** What each weight layer planned so far is made of (weights, geometry), by node. */
  get layerSpecs(): ReadonlyMap<GraphNode, LayerSpec> {
    return this.specs;
  }

  /** Layers built so far, by node. */
  get builtLayers(): ReadonlyMap<GraphNode, ModelLayer | null> {
    return this.layers;
  }

  get weightBytes(): number {
    let s = 0;
    for (const l of this.layers.values()) if (l) s += l.weightBytes;
    return s;
  }

  /**
   * Runs the model; concurrent calls are queued (they share one activation arena). Each output comes
   * back in its declared element type, as onnxruntime-web returns it (int64 as BigInt64Array …).
   */
  run(feeds: ModelInputs, options: RunOptions = {}): Promise<Record<string, OutputTensor>> {
    const next = this.queue.then(() => this.runNow(feeds, options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Builds what a run on these inputs needs, its plan and the layers (a quantized model quantizes a
   * layer's weights when it builds it: seconds for ant4), without running, so the first run() costs
   * only the run. `inputs`: feeds as run() takes them, or an input's dims alone (an integer input whose
   * values a plan may fold is then planned as a runtime value). Queued behind runs, as run() is.
   */
  prepare(inputs: ModelInputs | Readonly<Record<string, readonly number[]>>): Promise<void> {
    const next = this.queue.then(() => {
      this.prepareNow(inputs);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private prepareNow(inputs: unknown): void {
    if (this.disposed) throw new ArgumentError('model: used after dispose()');
    const names = this.graph.inputs.map((i) => `'${i.name}'`).join(', ');
    if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) throw new ArgumentError(`prepare: expected the inputs' tensors or dims by name (the model takes ${names}), got ${describe(inputs)}`);
    const given = inputs as Record<string, unknown>;
    const dimsOnly: Record<string, readonly number[]> = {};
    for (const gi of this.graph.inputs) {
      const d = given[gi.name];
      if (d === undefined) throw new ArgumentError(`prepare: input '${gi.name}' is missing (the model takes ${names})`);
      if (!Array.isArray(d)) continue;
      if (!d.every((x) => Number.isSafeInteger(x) && x >= 0)) throw new ShapeError(`prepare: input '${gi.name}' has dims ${describe(d)}, expected non-negative integers`);
      dimsOnly[gi.name] = d;
    }
    const known = this.graph.inputs.map((gi) => gi.name);
    this.planFor(checkFeeds(this.graph.inputs.filter((gi) => !(gi.name in dimsOnly)), given, 'prepare', known), dimsOnly);
  }

  /** The (first stage of the) plan for checked feeds and inputs given by dims alone; small integer inputs' values fold (planTimeInputs) unless named in runtimeInputs. */
  private planFor(checked: ReadonlyMap<string, Feed>, dimsOnly: Readonly<Record<string, readonly number[]>> = {}, runtimeInputs?: readonly string[]): { plan: StagedPlan; key: string } {
    const dims: Record<string, readonly number[]> = { ...dimsOnly };
    const values: Record<string, HostTensor> = {};
    for (const gi of this.graph.inputs) {
      const f = checked.get(gi.name);
      if (!f) continue;
      dims[gi.name] = f.dims;
      if (this.valueInputs.has(gi.name) && !runtimeInputs?.includes(gi.name) && f.data.length <= PLAN_VALUE_MAX_ELEMENTS) values[gi.name] = { type: gi.type, dims: f.dims, data: f.data };
    }
    return this.stagedPlan(dims, values);
  }

  private async runNow(feeds: ModelInputs, options: RunOptions): Promise<Record<string, OutputTensor>> {
    if (this.disposed) throw new ArgumentError('model: used after dispose()');
    const carry = options.carry;
    const checked = checkFeeds(this.graph.inputs, feeds, 'run', undefined, carry ? carriedInputs(carry) : undefined);
    let { plan: staged, key } = this.planFor(checked, {}, options.runtimeInputs);
    let feed = (v: PlanValue): HostData => {
      const f = checked.get(v.name)!.data;
      if (!carry || f.length === elementCount(v.dims)) return f;
      // an empty carried feed: its values are the carry's (spilled since) or already in the arena (kept)
      const own = carry.valuesOf(v.name);
      if (!own || own.length !== elementCount(v.dims)) throw new ModelError(`run: carried input '${v.name}' has ${own ? own.length : 'no'} values outside the arena and the arena does not hold it`);
      return own;
    };
    let peak = 0;
    // a staged plan uses the arena for its stages first: carried values go back to their owner before
    const stagedRun = isStage(staged);
    if (stagedRun) this.spill();
    // a staged plan: run the stage, read the value its cut needs, plan (or reuse) the rest on it
    while (isStage(staged)) {
      const stage = staged;
      const at = this.arenaFor(stage.prefix.arenaBytes);
      peak = Math.max(peak, stage.prefix.arenaBytes);
      await this.execute(stage.prefix, at, feed, options, true);
      const outs = stageOutputs(stage, (i) => this.viewOf(stage.prefix.outputs[i], at));
      const next = restInputs(stage, outs);
      key += next.key;
      let rest = this.plans.get(key);
      if (!rest) {
        rest = planStaged(stage.rest, next.dims, (node, ins) => this.layerFor(node, ins), next.values, next.counts);
        this.plans.set(key, rest);
      }
      staged = rest;
      feed = (v) => outs.get(v.name)!.data;
    }
    const plan = staged;
    // the arena holds this carry's inputs from the run before only when that run had this plan and arena
    const c = this.carried;
    const continuing = !!c && c.carry === carry && c.plan === plan && c.ptr === this.arena.ptr && plan.arenaBytes <= this.arena.bytes;
    if (c && !continuing) this.spill();
    const arena = this.arenaFor(plan.arenaBytes);
    // a staged run's outputs are copies (its carried inputs came through the stages)
    const pairs = carry && !stagedRun ? carriedPairs(plan, this.graph.outputs, carry) : NO_PAIRS;
    await this.execute(plan, arena, feed, options, true, continuing ? pairs.ins : undefined);
    const out: Record<string, OutputTensor> = {};
    const left = pairs.outs;
    plan.outputs.forEach((v, i) => {
      const name = this.graph.outputs[i];
      const into = options.into?.[name];
      if (left.has(v)) out[name] = { type: 'float32', data: this.viewOf(v, arena) as Float32Array, dims: [...v.dims] };
      else if (into && v.type === 'float32' && into instanceof Float32Array && into.length === elementCount(v.dims)) {
        into.set(this.viewOf(v, arena) as Float32Array);
        out[name] = { type: 'float32', data: into, dims: [...v.dims] };
      } else out[name] = outputTensor(v.type, this.viewOf(v, arena), v.dims, `run: output '${name}'`);
    });
    if (carry && pairs.list.length) {
      this.carried = { carry, plan, ptr: arena };
      carry.held();
    }
    // outputs are copies: a large batch's arena can go back now (carried ones are copied out first,
    // and returned as those copies, not as views of the freed arena)
    if (this.arenaHistory.afterRun(this.arena.bytes, Math.max(peak, plan.arenaBytes))) {
      for (const [name, data] of this.spill()) out[name] = { type: 'float32', data, dims: out[name].dims };
      this.freeArena();
    }
    return out;
  }

  /** Copies the carried values out of the arena to their owner (before the arena is used otherwise); the copies by output name. */
  private spill(): Map<string, Float32Array> {
    const c = this.carried, copies = new Map<string, Float32Array>();
    if (!c) return copies;
    this.carried = null;
    for (const [o, , name] of carriedPairs(c.plan, this.graph.outputs, c.carry).list) {
      const copy = new Float32Array(elementCount(o.dims));
      copy.set(this.viewOf(o, c.ptr) as Float32Array);
      c.carry.spill(name, copy);
      copies.set(name, copy);
    }
    return copies;
  }

  /** Forgets a carry without copying its values out (its owner is done with them: a generation's end). */
  dropCarry(carry: ArenaCarry): void {
    if (this.carried?.carry === carry) this.carried = null;
  }

  /** Runs a plan's steps on the arena at `arena`, its runtime inputs filled from `feed`. */
  private async execute(plan: Plan, arena: number, feed: (v: PlanValue) => HostData, options: RunOptions = {}, top = false, kept?: ReadonlySet<PlanValue>): Promise<void> {
    const put = (v: PlanValue, data: HostData) => {
      if (v.type === 'float32') this.rt.view(Float32Array, arena + v.offset, elementCount(v.dims)).set(data as Float32Array);
      else v.host = data;
    };
    let start = top && options.resume ? restoreState(plan, options.resume, (v, data) => put(v, v.type === 'float32' ? data : data.slice())) : -1;
    if (start < 0) {
      start = 0;
      for (const v of plan.inputs) if (!kept?.has(v)) put(v, feed(v));
    }
    for (let index = start; index < plan.steps.length; index++) {
      const step = plan.steps[index];
      if (options.beforeStep) {
        const place = top ? { plan, index, state: () => captureState(plan, index, (v) => this.viewOf(v, arena)) } : undefined;
        options.beforeStep(step, step.ins.map((v) => (v && v.type === 'float32' ? (this.viewOf(v, arena) as Float32Array) : null)), place);
      }
      const t0 = options.timings ? performance.now() : 0;
      // awaited only when a step is asynchronous (a decode step's layers are not: no garbage per step)
      const pending = this.runStep(step, arena, options);
      if (pending) await pending;
      if (options.timings) options.timings.push({ step, ms: performance.now() - t0 });
      if (options.onStep) options.onStep(step, step.outs.map((o) => (o.type === 'float32' ? this.viewOf(o, arena) as Float32Array : Float32Array.from(o.host!))));
    }
  }

  private viewOf(v: PlanValue, arena: number): HostData {
    if (v.value) return v.value.data;
    if (v.type === 'float32') return this.rt.view(Float32Array, arena + v.offset, elementCount(v.dims));
    return v.host ?? (v.root?.host as HostData);
  }

  private runStep(step: PlanStep, arena: number, options: RunOptions): Promise<void> | void {
    if (step.layer) return step.layer.run(this.layerIO(step, arena));
    return this.runHostStep(step, arena, options);
  }

  /** A layer step's addresses, made once per step and arena (layers only read them). */
  private layerIO(step: PlanStep, arena: number): LayerIO {
    let c = this.ioCache.get(step);
    if (!c || c.arena !== arena) {
      const x = step.ins[0]!;
      const io = { x: arena + x.offset, xs: step.ins.map((v) => arena + v!.offset), inDims: step.ins.map((v) => v!.dims), y: arena + step.outs[0].offset, ys: step.outs.map((o) => arena + o.offset), scratch: arena + step.scratch.offset, dims: x.dims };
      this.ioCache.set(step, (c = { arena, io }));
    }
    return c.io;
  }

  /** A step on the host: synchronous (no promise) unless it is a control-flow step or a HostOp that returns one. */
  private runHostStep(step: PlanStep, arena: number, options: RunOptions): Promise<void> | void {
    if (step.sub) {
      const rt = this.rt;
      // the sub-plans' steps are observed too (calibration sees layers inside If and Loop), not timed twice
      const sub = { beforeStep: options.beforeStep, onStep: options.onStep };
      return runControlStep(step, arena, { execute: (p, at, feed) => this.execute(p, at, feed, sub), read: (v, at) => this.viewOf(v, at), alloc: (n) => rt.alloc(n), free: (p) => rt.free(p) });
    }
    for (let i = 0; i < step.outs.length; i++) {
      const o = step.outs[i];
      if (o.type !== 'float32') o.host = hostArray(o.type, elementCount(o.dims));
    }
    const c = this.hostValues(step, arena), ins = c.ins, outs = c.outs;
    if (step.op === 'layout') {
      convertLayout(ins[0]!, outs[0]);
      return;
    }
    const ctx = c.ctx, own = this.hostOp?.(step.node!);
    checkExactInputs(step.node!, ins);
    if (own) {
      const pending = own.compute(ctx, ins, outs);
      if (pending instanceof Promise) return pending.then(() => checkExactOutputs(step.node!, outs));
    } else opDef(step.node!)!.compute!(ctx, ins, outs);
    checkExactOutputs(step.node!, outs);
  }

  /**
   * A host step's inputs and outputs. The float32 ones are views of the arena, made once per step
   * and arena (a small model's run is mostly host steps on tiny tensors, where making the views and
   * their wrappers each run was a visible share); the others are the values' current host arrays
   * (fresh each run: Loop iterations and scan outputs keep them).
   */
  private hostValues(step: PlanStep, arena: number): HostValues {
    const buffer = this.rt.memory.buffer;
    let c = this.hostCache.get(step);
    if (!c || c.arena !== arena || c.buffer !== buffer) {
      const hv = (v: PlanValue): HostValue => {
        // a constant still in its ModelSource is read whole only if an op reads `data` (Gather reads rows)
        const readRows = v.value ? rowReaderOf(v.value) : null;
        if (readRows) return { type: v.type, dims: v.dims, get data() { return v.value!.data; }, nhwc: v.nhwc, readRows };
        return { type: v.type, dims: v.dims, data: this.viewOf(v, arena), nhwc: v.nhwc };
      };
      c = { arena, buffer, ins: step.ins.map((v) => (v ? hv(v) : null)), outs: step.outs.map(hv), ctx: { node: step.node!, opset: this.graph.opset } };
      this.hostCache.set(step, c);
      return c;
    }
    // values that are not arena views (constants are fixed; host arrays change per run); index loops, no closures
    for (let i = 0; i < step.ins.length; i++) {
      const v = step.ins[i];
      if (v && v.type !== 'float32' && !v.value) c.ins[i]!.data = this.viewOf(v, arena);
    }
    for (let i = 0; i < step.outs.length; i++) {
      const o = step.outs[i];
      if (o.type !== 'float32') c.outs[i].data = this.viewOf(o, arena);
    }
    return c;
  }

  /** whether dispose() was called */
  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.carried = null;
    for (const l of this.layers.values()) l?.dispose();
    this.disposeRetired();
    this.freeArena();
    this.plans.clear();
  }

  private freeArena(): void {
    this.spill();
    if (this.arena.ptr) this.rt.free(this.arena.ptr);
    this.arena = { ptr: 0, bytes: 0 };
  }
}

/** A host step's values and op context, made once per step and arena (hostValues). */
interface HostValues {
  arena: number;
  buffer: ArrayBufferLike;
  ins: (HostValue | null)[];
  outs: HostValue[];
  ctx: { node: GraphNode; opset: number };
}

/**
 * The carry's pairs this plan writes in place: [output value, input value] where both are float32
 * runtime values on the same arena bytes (a present planned over its past), by the carry's names.
 */
function carriedPairs(plan: Plan, outputs: readonly string[], carry: ArenaCarry): CarriedPairs {
  // made once per plan and carry (each decode step asked again: a list, two sets and a search per pair)
  const cached = pairCache.get(plan);
  if (cached && cached.carry.deref() === carry && cached.outputs === outputs) return cached.pairs;
  const pairs = findCarriedPairs(plan, outputs, carry);
  const made = { list: pairs, ins: new Set(pairs.map(([, v]) => v)), outs: new Set(pairs.map(([o]) => o)) };
  // the carry held weakly: a cached plan must not keep a finished generation's cache alive
  pairCache.set(plan, { carry: new WeakRef(carry), outputs, pairs: made });
  return made;
}

interface CarriedPairs {
  readonly list: readonly [PlanValue, PlanValue, string][];
  /** the carried inputs (kept in the arena by a continuing run), and the outputs left there */
  readonly ins: ReadonlySet<PlanValue>;
  readonly outs: ReadonlySet<PlanValue>;
}

const NO_PAIRS: CarriedPairs = { list: [], ins: new Set(), outs: new Set() };
const pairCache = new WeakMap<Plan, { carry: WeakRef<ArenaCarry>; outputs: readonly string[]; pairs: CarriedPairs }>();
const carriedNames = new WeakMap<ArenaCarry, ReadonlySet<string>>();

/** the input names a carry may leave in the arena (checkFeeds lets them be empty) */
function carriedInputs(carry: ArenaCarry): ReadonlySet<string> {
  let names = carriedNames.get(carry);
  if (!names) carriedNames.set(carry, (names = new Set(carry.pairs.map(([, i]) => i))));
  return names;
}

function findCarriedPairs(plan: Plan, outputs: readonly string[], carry: ArenaCarry): [PlanValue, PlanValue, string][] {
  const out: [PlanValue, PlanValue, string][] = [];
  for (const [o, i] of carry.pairs) {
    const ov = plan.outputs[outputs.indexOf(o)], iv = plan.inputs.find((v) => v.name === i);
    if (!ov || !iv || ov.type !== 'float32' || iv.type !== 'float32' || ov.value || iv.value) continue;
    const root = (v: PlanValue) => v.root ?? v;
    if (root(ov).offset === root(iv).offset && elementCount(ov.dims) === elementCount(iv.dims)) out.push([ov, iv, o]);
  }
  return out;
}

/** What a layer needs, read off a Conv/FusedConv/MatMul/Gemm node whose weights are constants. */
/** A host step computed another way than its operator's compute (same inputs, outputs and checks); kind and scheme name it in reports. */
export interface HostOp {
  readonly kind: string;
  readonly scheme: string;
  compute(ctx: OpContext, ins: (HostValue | null)[], outs: HostValue[]): Promise<void> | void;
}

export type LayerSpec =
  | { type: 'conv'; geometry: ConvGeometry; weight: Float32Array; bias: Float32Array | null; activation: ConvActivation | null; actName: string }
  | { type: 'linear'; k: number; n: number; weight: Float32Array; bias: Float32Array | null; transposed: boolean; fileWeights?: LayerWeights; fileNibbles?: () => Int4Nibbles; activation?: ConvActivation | null };

export function layerSpec(node: GraphNode, ins: (ValueInfo | null)[], opset: number): LayerSpec | null {
  if (node.op === 'MatMulNBits' && node.domain === 'com.microsoft') {
    // 4-bit weights as the file has them: the float32 model runs them as they are (W4A32), a
    // quantized scheme packs them as they are; dequantized rows only when a scheme asks for them
    if (!ins[0] || ins[0].type !== 'float32' || ins[0].value || ins[1]?.value === undefined) return null;
    // Each is read from the graph's tensors on use, not kept. The float model's W4A32 layer packs
    // from the file's bytes as they are (fileNibbles, codes not expanded), and then the graph's B and
    // scales decode from its packed copy (released-weights.ts): the weights are held once.
    const blocks = () => matMulNBitsBlocks({ node, opset }, ins).blocks;
    const { k, n } = matMulNBitsNibbles({ node, opset }, ins); // checked now (codes not expanded): a malformed file fails at planning, naming the node
    const b = ins[5]?.value;
    return {
      type: 'linear', k, n, bias: b ? Float32Array.from(b.data) : null, transposed: true,
      fileNibbles: () => matMulNBitsNibbles({ node, opset }, ins),
      fileWeights: {
        format: int4Format,
        get data() {
          return blocks();
        },
      },
      get weight() {
        return dequantizeInt4(blocks());
      },
    };
  }
  const w = ins[1]?.value;
  if (!w || w.type !== 'float32' || !ins[0] || ins[0].type !== 'float32') return null;
  if (node.op === 'Conv' || node.op === 'FusedConv') {
    const b = ins[2] ? ins[2].value : null;
    if (ins[2] && !b) return null;
    const sp = convSpec({ node, opset }, ins[0], ins[1]!);
    const geometry = { cin: sp.cin, cout: sp.cout, group: sp.group, kh: sp.kh, kw: sp.kw, sh: sp.sh, sw: sp.sw, dh: sp.dh, dw: sp.dw, pt: sp.pt, pl: sp.pl, pb: sp.pb, pr: sp.pr };
    let activation: ConvActivation | null = null, actName = '';
    if (node.op === 'FusedConv') {
      actName = node.attrs.get('activation') as ActivationName;
      const scale = ins[3]?.value, shift = ins[4]?.value;
      if (!scale || !shift) return null;
      activation = { kind: ACTIVATIONS[actName as ActivationName], alpha: node.attrs.get('alpha') as number, beta: node.attrs.get('beta') as number, scale: Float32Array.from(scale.data), shift: Float32Array.from(shift.data) };
    }
    return { type: 'conv', geometry, weight: w.data as Float32Array, bias: b ? Float32Array.from(b.data) : null, activation, actName };
  }
  if ((node.op === 'MatMul' || node.op === 'FusedMatMul') && w.dims.length === 2 && ins[0].dims.length >= 2) {
    const b = node.op === 'FusedMatMul' ? ins[2]?.value : undefined;
    if (node.op === 'FusedMatMul' && !b) return null;
    const actName = node.attrs.get('activation') as ActivationName | undefined;
    const n = w.dims[1];
    const activation = actName ? { kind: ACTIVATIONS[actName], alpha: node.attrs.get('alpha') as number, beta: node.attrs.get('beta') as number, scale: new Float32Array(n).fill(1), shift: new Float32Array(n) } : null;
    return { type: 'linear', k: w.dims[0], n, weight: w.data as Float32Array, bias: b ? Float32Array.from(b.data) : null, transposed: false, activation };
  }
  if (node.op === 'Gemm') {
    const a = (k: string, d: number) => (node.attrs.get(k) as number | undefined) ?? d;
    if (a('transA', 0) !== 0 || a('alpha', 1) !== 1 || w.dims.length !== 2) return null;
    const transposed = a('transB', 0) === 1;
    const [k, n] = transposed ? [w.dims[1], w.dims[0]] : w.dims;
    let bias: Float32Array | null = null;
    if (ins[2]) {
      const c = ins[2].value;
      if (!c || elementCount(c.dims) !== n || (c.dims.length === 2 && c.dims[0] !== 1)) return null;
      bias = Float32Array.from(c.data, (v) => v * a('beta', 1));
    }
    return { type: 'linear', k, n, weight: w.data as Float32Array, bias, transposed };
  }
  return null;
}

/** Decides the layer (and so the scheme) for a node; null runs the node on the host. */
export type LayerBuilder = (rt: Runtime, node: GraphNode, spec: LayerSpec) => ModelLayer | null;

export const buildFloatLayer: LayerBuilder = (rt, _node, spec) =>
  spec.type === 'conv'
    ? new ConvLayerF32(rt, spec.geometry, spec.weight, spec.bias, spec.activation, spec.actName)
    : spec.fileNibbles
      ? new Int4FileLinearLayer(rt, spec.fileNibbles(), spec.bias, spec.activation ?? null)
      : new LinearLayerF32(rt, spec.k, spec.n, spec.weight, spec.bias, spec.transposed, spec.activation ?? null);

export interface LoadOptions {
  /** graph rewrites at load: BatchNorm folding, activation recognition and fusion (default true) */
  fuse?: boolean;
  /** keep a reference to `bytes` for exportOnnx (default true; false lets them be collected, and exportOnnx then needs them again) */
  keepSource?: boolean;
}

/** The graph loadModel runs for these bytes and options, and what its rewrites did. */
export function importGraph(bytes: Uint8Array | ModelSource, options: LoadOptions = {}): { graph: Graph; report: FuseReport } {
  const imported = keepConv1dChains(lowerConv1d(importOnnx(bytes)));
  const none: FuseReport = { foldedBatchNorms: 0, foldedAffines: 0, activations: 0, layerNorms: 0, fusedConvs: 0, fusedMatMuls: 0, attentions: 0 };
  if (options.fuse === false) return { graph: imported, report: none };
  const { graph, report } = fuseGraph(fuseDynamicQuant(imported).graph);
  return { graph: fuseSubgraphs(graph, report), report };
}

/**
 * `bytes`: the .onnx file's bytes (float32, int8 and uint8 initializers are held as views into them
 * where aligned: do not modify them afterwards); or a ModelSource, random access to the file, which
 * is never read whole: large initializers are read when first used, a 4-bit weight only while its
 * layer packs it (the source must stay readable while the model lives; exportOnnx then needs the
 * bytes passed again).
 */
export function loadModel(rt: Runtime, bytes: Uint8Array | ModelSource, options: LoadOptions = {}): Model {
  rt.check();
  const { graph, report } = importGraph(bytes, options);
  if (options.keepSource !== false && bytes instanceof Uint8Array) keepSource(graph, bytes);
  return new Model(rt, graph, report);
}

/** Whether a layer built from constants `was` may serve inputs `ins`: the same tensors, or equal ones. */
function sameConstants(was: readonly (HostTensor | undefined)[] | undefined, ins: readonly (ValueInfo | null)[]): boolean {
  if (!was) return true;
  return ins.every((v, i) => {
    const a = was[i], b = v?.value;
    if (a === undefined || a === b) return true;
    if (!a || !b || a.type !== b.type || a.dims.length !== b.dims.length || a.dims.some((d, j) => d !== b.dims[j])) return false;
    const x = a.data, y = b.data;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (!Object.is(x[j], y[j])) return false;
    return true;
  });
}
