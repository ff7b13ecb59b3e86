// Every error lowbit throws on purpose is a LowbitError: a stable `code` for programs and a message
// for people that names the argument, the value it got and what was expected.

export type LowbitErrorCode =
  | 'ERR_SHAPE' // dims don't match, or a size is out of range
  | 'ERR_DTYPE' // wrong element type
  | 'ERR_RANGE' // a value is outside what the operator accepts (zero point, scale, ...)
  | 'ERR_OUT_OF_MEMORY' // wasm32 linear memory is exhausted
  | 'ERR_FEATURE' // the engine lacks something the caller asked for
  | 'ERR_DISPOSED' // used after dispose()
  | 'ERR_ARGUMENT' // anything else about an argument
  | 'ERR_MODEL' // a model file is malformed, truncated or inconsistent
  | 'ERR_UNSUPPORTED_OP'; // a model uses an operator (or an attribute value) lowbit does not implement

export class LowbitError extends Error {
  readonly code: LowbitErrorCode;
  constructor(code: LowbitErrorCode, message: string) {
    super(message);
    this.name = 'LowbitError';
    this.code = code;
  }
}

export class ShapeError extends LowbitError {
  constructor(message: string) {
    super('ERR_SHAPE', message);
    this.name = 'ShapeError';
  }
}

export class DTypeError extends LowbitError {
  constructor(message: string) {
    super('ERR_DTYPE', message);
    this.name = 'DTypeError';
  }
}

export class ValueRangeError extends LowbitError {
  constructor(message: string) {
    super('ERR_RANGE', message);
    this.name = 'ValueRangeError';
  }
}

export class OutOfMemoryError extends LowbitError {
  constructor(message: string) {
    super('ERR_OUT_OF_MEMORY', message);
    this.name = 'OutOfMemoryError';
  }
}

export class FeatureError extends LowbitError {
  constructor(message: string) {
    super('ERR_FEATURE', message);
    this.name = 'FeatureError';
  }
}

export class ArgumentError extends LowbitError {
  constructor(message: string) {
    super('ERR_ARGUMENT', message);
    this.name = 'ArgumentError';
  }
}

export class ModelError extends LowbitError {
  constructor(message: string) {
    super('ERR_MODEL', message);
    this.name = 'ModelError';
  }
}

export class UnsupportedOperatorError extends LowbitError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED_OP', message);
    this.name = 'UnsupportedOperatorError';
  }
}

/** Short, readable description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.slice(0, 8).join(', ')}${v.length > 8 ? ', …' : ''}]`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return String(v);
}
