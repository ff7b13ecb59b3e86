// `lowbit wakeword FILE.wav…` (packages/cli/src/wakeword-command.ts), in-process on the sources:
// committed clips give the expected words; other rates and stereo are resampled and mixed down.

import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ArgumentError } from '../src/index.js';
import { readWav, wakewordCommand } from '../packages/cli/src/wakeword-command.js';
import { SIMD } from './helpers.js';
import { SOX, hasSystemPackage } from './system-packages.js';

const clips = new URL('../packages/cli/data/wakeword/', import.meta.url).pathname;

/** wakewordCommand's --json output, parsed */
async function run(files: string[], words = ['hey_jarvis', 'alexa', 'hey_mycroft']) {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await wakewordCommand({ files, words, threshold: 0.5, threads: 1, simd: SIMD, json: true });
    return JSON.parse(log.mock.calls.map((c) => c.join(' ')).join('\n'));
  } finally {
    log.mockRestore();
  }
}

describe.skipIf(SIMD !== 'baseline')('lowbit wakeword', () => {
  it('finds the wake word in each committed clip and none in a negative', async () => {
    const out = await run([`${clips}pos-alexa-en-gb-190-20.wav`, `${clips}pos-hey_mycroft-en-gb-130-clean.wav`, `${clips}neg-what_time_is_it-en-us-160-10.wav`]);
    const found = out.files.map((f: { words: { name: string; detected: boolean }[] }) => f.words.filter((w) => w.detected).map((w) => w.name));
    expect(found).toEqual([['alexa'], ['hey_mycroft'], []]);
    const at = out.files[0].words[1].at;
    expect(at).toBeGreaterThan(0.3); // after the speech starts (0.3 s into the clip)
    expect(at).toBeLessThan(2);
  }, 120_000);

  it.runIf(hasSystemPackage('sox'))('reads 44.1 kHz stereo: resampled to 16 kHz and mixed down, same detection', async () => {
    const wav = join(tmpdir(), `lowbit-ww-${process.pid}.wav`);
    execFileSync(SOX, [`${clips}pos-hey_mycroft-en-gb-130-clean.wav`, '-r', '44100', '-c', '2', wav]);
    try {
      const s = readWav(wav);
      expect(Math.abs(s.length - 32000)).toBeLessThanOrEqual(2);
      const out = await run([wav], ['hey_mycroft']);
      expect(out.files[0].words[0].detected).toBe(true);
    } finally {
      rmSync(wav);
    }
  }, 120_000);

  it('bad arguments are typed errors', async () => {
    await expect(run([`${clips}pos-alexa-en-gb-190-20.wav`], ['hey_siri'])).rejects.toThrow(/--words takes/);
    expect(() => readWav('/nonexistent.wav')).toThrow(ArgumentError);
    expect(() => readWav(`${clips}manifest.json`)).toThrow(/cannot read .* as a WAV file/);
  });
});
