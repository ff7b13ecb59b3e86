// Values a run leaves in the model's activation arena for the next run of the same plan: a decoder's
// KV cache between decode steps. GroupQueryAttention writes its present over the past it was fed
// (OpDef.inPlace), so after a step the arena already holds the next step's past, where that step's
// plan wants it: feeding it again would copy it out to JS and back in, each token, and keep a second
// copy in JS. With a carry, run() leaves such outputs where they are and skips the copy in on the next
// run of that plan (RunOptions.carry). Before anything else uses the arena (another run, another
// plan, the arena given back) the model copies the carried values out through spill(), so they are
// never lost; the owner then feeds them again from valuesOf().

export interface ArenaCarry {
  /** [output, input] name pairs: the output, written in place over the input, is the next run's input */
  readonly pairs: readonly (readonly [string, string])[];
  /** the input's values when the arena does not hold them; null: it does (the run before left them) */
  valuesOf(input: string): Float32Array | null;
  /** the model left the outputs of the run that just ended in the arena (valuesOf gives null until spill) */
  held(): void;
  /** an output's values, copied out of the arena before something else uses it */
  spill(output: string, values: Float32Array): void;
}
