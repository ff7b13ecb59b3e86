// What the 'auto' search decided, readably: the budget, the mix against all-int8 on the search's
// inputs and on the held-back ones, then per layer each candidate's measurement and why it won.

import type { LayerChoice, MixReport, OutputScore } from 'lowbit';
import { printColumns } from './model-demo.js';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;

function scoreText(s: OutputScore): string {
  const parts = [`SQNR ${s.sqnrDb.toFixed(1)} dB`, `cosine ${s.cosine.toFixed(5)}`];
  if (s.top1 !== undefined) parts.push(`top-1 ${(100 * s.top1).toFixed(1)}%`);
  if (s.metric !== undefined) parts.push(`metric ${s.metric.toPrecision(4)}`);
  return parts.join(', ');
}

export function budgetText(mix: MixReport): string {
  const b = mix.budget;
  const parts: string[] = [];
  if (b.maxSqnrDropDb !== undefined) parts.push(`output SQNR (against float32) at most ${b.maxSqnrDropDb} dB below the int8 baseline's`);
  if (b.maxBytes !== undefined) parts.push(`weights at most ${mib(b.maxBytes)}`);
  const speed = 'speed' in mix ? mix.speed : undefined; // (a library before it weighed speed: none)
  if (speed) parts.push(`at most ${(speed.maxSlowdown * 100).toFixed(0)}% slower than the int8 baseline${'from' in speed && speed.from === 'measured' ? ' (timed here)' : ' (by the cost table)'}`);
  return parts.join(' and ');
}

/** The search's summary and per-layer table on stdout. */
export function printMix(mix: MixReport, choices: readonly LayerChoice[], layerName: (c: LayerChoice) => string): void {
  console.log(`auto: budget ${budgetText(mix)}; candidates ${mix.candidates.join(', ')}`);
  console.log(`  search, ${mix.search.inputs} calibration input(s): mix ${scoreText(mix.search.mix)}; all-int8 ${scoreText(mix.search.int8)}`);
  const h = mix.heldOut;
  if (h) console.log(`  held back, ${h.inputs} calibration input(s) the search never measured: mix ${scoreText(h.mix)}; all-int8 ${scoreText(h.int8)}; ${h.withinBudget ? 'within' : 'NOT within'} the budget`);
  else console.log('  held back: none (one calibration input, or holdOut 0): the choice is unchecked');
  type Gate = { inputs: number; int8: { inputs: number; frames: number; totalFrames: number }; mix: { inputs: number; frames: number; totalFrames: number }; outcome: string; gaveBack: string[]; checks: number; misses: string[] };
  const gate = 'gate' in mix ? (mix as { gate?: Gate }).gate : undefined; // (a library before the final gate: none)
  const gateText = (g: Gate) => `every calibration input the search did not measure on (${g.inputs}), per input and per frame: mix ${g.mix.inputs} inputs read as float32 reads them, ${g.mix.frames}/${g.mix.totalFrames} frames; all-int8 ${g.int8.inputs}, ${g.int8.frames}/${g.int8.totalFrames}`;
  if (mix.fallback !== 'none' && gate?.outcome !== 'int8') console.log(`  fallback: the first mix missed the budget when measured; ${mix.fallback === 'int8' ? 'no mix chosen again passed: every layer went back to int8' : `a mix chosen again ${gate?.outcome === 'gave-back' ? 'or given back by the final gate ' : ''}passed (${h?.checks ?? 0} held-back checks)`}`);
  if (gate) console.log(`  final gate: ${gateText(gate)}; ${gate.outcome === 'pass' ? 'no worse than int8' : gate.outcome === 'gave-back' ? `worse than int8, passed after ${gate.gaveBack.length} layer(s) went back to int8 (${gate.gaveBack.join(', ')})` : 'worse than int8 until every change went back: the model is all-int8'}${gate.misses.length ? ` [${gate.misses.join('; ')}]` : ''}`);
  // each round: the knapsack's prediction against what the mix measured (noise over all-int8's)
  type Round = { factor: number; changes: number; bytes: number; predicted: number; search: { noiseRatio: number; ok: boolean }; heldOut?: { noiseRatio: number; ok: boolean } };
  const rounds = 'rounds' in mix ? ((mix as { rounds?: Round[] }).rounds ?? []) : []; // (a library before it reported rounds: none)
  for (const [i, r] of rounds.entries()) {
    const x = (m: { noiseRatio: number; ok: boolean }) => `x${m.noiseRatio.toFixed(3)}${m.ok ? '' : ' (missed)'}`;
    console.log(`  round ${i + 1}: factor ${r.factor.toFixed(2)}, ${r.changes} layer(s) changed, ${mib(r.bytes)}; noise over all-int8's: predicted x${r.predicted.toFixed(3)}, search ${x(r.search)}${r.heldOut ? `, held back ${x(r.heldOut)}` : ''}`);
  }
  const judged = 'judgedOn' in mix ? (mix.judgedOn as Record<string, string>) : {}; // (a library before it reported judgedOn: none)
  const logits = Object.entries(judged).filter(([, on]) => on !== 'output');
  if (logits.length) console.log(`  judged on: ${logits.map(([name, on]) => `${name}: ${on}`).join('; ')} (SQNR, cosine and top-1 above are the logits')`);
  console.log(`  weights ${mib(mix.bytes)} (all-int8 ${mib(mix.int8Bytes)})`);
  const speed = 'speed' in mix ? mix.speed : undefined;
  if (speed) console.log(`  searched layers' step times${'from' in speed && speed.from === 'measured' ? ' (least, timed here)' : ' (the cost table by GEMM shape)'}: ${speed.ms.toFixed(2)} ms (all-int8 ${speed.int8Ms.toFixed(2)} ms, x${(speed.ms / speed.int8Ms).toFixed(3)}, allowed x${(1 + speed.maxSlowdown).toFixed(3)})`);
  const searched = choices.filter((c) => c.trials);
  const cands = mix.candidates;
  console.log(`\nper layer: output SQNR with only that layer in a format (the rest int8) / the Hessian proxy's layer SQNR, dB; '-' pruned by the proxy`);
  printColumns(
    ['layer', 'scheme', ...cands],
    choices.map((c) => [
      layerName(c), c.scheme,
      ...cands.map((s) => {
        const t = c.trials?.find((x) => x.scheme === s);
        if (!t) return '';
        const proxy = Number.isFinite(t.proxySqnrDb) ? t.proxySqnrDb.toFixed(1) : 'inf';
        return `${t.output ? t.output.sqnrDb.toFixed(1) : '-'}/${proxy}`;
      }),
    ]),
  );
  if (searched.length === 0) console.log('(no layer was searched)');
  console.log('\nwhy:');
  for (const c of choices) console.log(`  ${layerName(c)}: ${c.why ?? ''}`);
}
