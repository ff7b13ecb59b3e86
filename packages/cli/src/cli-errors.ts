// How the lowbit command reports a failure: one line saying what went wrong and what to do, and
// the stack trace only with --verbose. Errors lowbit throws on purpose (LowbitError) and the
// system's file errors are the user's to fix (exit code 2); anything else is a bug in lowbit (1).

import { LowbitError } from 'lowbit';

/** What to do about each kind of LowbitError. */
const ADVICE: Record<string, string> = {
  ERR_MODEL: 'check that the file is an ONNX model, or a file `lowbit quantize` wrote for this model',
  ERR_UNSUPPORTED_OP: 'lowbit cannot run this model yet; the README lists the operators it runs',
  ERR_SHAPE: 'check the dims given with --shape or --input against the model\'s inputs',
  ERR_DTYPE: 'check the element types of the inputs',
  ERR_RANGE: 'check the values given',
  ERR_FEATURE: 'update Node.js (20 or later), or try --simd baseline or --threads 1',
  ERR_OUT_OF_MEMORY: 'try a smaller input or fewer threads',
};

/** Node's file errors, in words */
const SYSTEM: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on the device',
};

export interface ErrorReport {
  /** what to print on stderr (one line, or more with the stack under --verbose) */
  text: string;
  exitCode: number;
}

export function reportError(e: unknown, verbose: boolean): ErrorReport {
  const stack = verbose && e instanceof Error && e.stack ? `\n${e.stack}` : '';
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  if (e instanceof LowbitError) {
    const advice = ADVICE[e.code];
    return { text: `lowbit: ${oneLine(e.message)}${advice ? ` (${advice})` : ''}${stack}`, exitCode: 2 };
  }
  const sys = e as NodeJS.ErrnoException;
  if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    const what = SYSTEM[sys.code] ?? sys.code;
    const path = sys.path ? `'${sys.path}'` : 'a file';
    return { text: `lowbit: cannot ${sys.syscall === 'open' || sys.syscall === 'read' ? 'read' : sys.syscall === 'write' ? 'write' : sys.syscall} ${path}: ${what} (check the path and its permissions)${stack}`, exitCode: 2 };
  }
  if (e instanceof SyntaxError) return { text: `lowbit: ${oneLine(e.message)} (an --input file must be JSON: { "dims": [...], "data": [...] })${stack}`, exitCode: 2 };
  const message = e instanceof Error ? oneLine(e.message) : String(e);
  return { text: `lowbit: internal error: ${message}${verbose ? stack : ' (run again with --verbose for the stack trace, and please report it)'}`, exitCode: 1 };
}
