// One version of an operator's schema, as ONNX defines it (src/model/ops/onnx-schemas.ts, generated) or
// onnxruntime's contrib operators do (src/model/ops/contrib-schemas.ts).

export interface OpSchema {
  /** the opset version this definition takes effect at */
  since: number;
  /** how many inputs a node may have, [min, max] (2147483647: any number) */
  inputs: [number, number];
  outputs: [number, number];
  /** attribute name -> type ('int', 'floats', 'graph', ...), '!' at the end when required */
  attrs: Record<string, string>;
  /** formal inputs 'name:T': T a key of `types` or a type; '?' optional, '*' variadic, '&' variadic of mixed types */
  ins: string[];
  outs: string[];
  /** type parameter -> the element types it allows */
  types: Record<string, string[]>;
  /** ONNX removed the operator at this version */
  deprecated?: boolean;
}
