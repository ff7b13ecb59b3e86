// The client of test/fuzz/ort-child.mjs: onnxruntime runs in a child process with a deadline, so a
// mutant that hangs onnxruntime (or kills its process) is counted as such and the pass goes on (the
// child is killed and a new one started for the next run).

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Feed } from '../onnx-builder.js';
import type { Ran } from './targets.js';

/** How long one onnxruntime session (create and run) of a mutant may take before it counts as hung. */
export const ORT_DEADLINE_MS = 30_000;

/** Outputs; null: onnxruntime refused the model or the run; 'no-answer': it hung past the deadline, or its process died. */
export type OrtResult = Ran | null | 'no-answer';

let child: { proc: ChildProcess; ready: Promise<void> } | undefined;
let nextId = 0;
const pending = new Map<number, (r: OrtResult) => void>();

function start(): NonNullable<typeof child> {
  const proc = fork(fileURLToPath(new URL('./ort-child.mjs', import.meta.url)), [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const ready = new Promise<void>((resolve, reject) => {
    proc.once('error', reject);
    proc.on('message', (m: { ready?: boolean; id?: number; ran?: Ran | null }) => {
      if (m.ready) resolve();
      else if (m.id !== undefined) {
        pending.get(m.id)?.(m.ran ?? null);
        pending.delete(m.id);
      }
    });
  });
  proc.once('exit', () => {
    if (child?.proc === proc) stopOrt();
  });
  proc.unref(); // the child never keeps the test process alive
  proc.channel?.unref();
  return { proc, ready };
}

/** Kills the child (after a hang, or at the end of the pass). */
export function stopOrt(): void {
  child?.proc.kill('SIGKILL');
  child = undefined;
  for (const resolve of pending.values()) resolve('no-answer');
  pending.clear();
}

/** onnxruntime-web (or -node) on a model, in the child process. */
export async function runInOrtProcess(engine: 'web' | 'node', bytes: Uint8Array, feeds: Record<string, Feed>, optimize: boolean, deadlineMs = ORT_DEADLINE_MS): Promise<OrtResult> {
  child ??= start();
  await child.ready;
  const id = nextId++;
  const plainFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { data: v.data, dims: [...v.dims] }]));
  let timer: NodeJS.Timeout | undefined;
  const answer = new Promise<OrtResult>((resolve) => pending.set(id, resolve));
  const deadline = new Promise<'no-answer'>((resolve) => { timer = setTimeout(() => resolve('no-answer'), deadlineMs); });
  child.proc.send({ id, engine, optimize, bytes, feeds: plainFeeds });
  const r = await Promise.race([answer, deadline]);
  clearTimeout(timer);
  if (r === 'no-answer') stopOrt();
  return r;
}
