#!/usr/bin/python3
"""Generates src/model/ops/onnx-schemas.ts: every default-domain ONNX operator's versions (since-version,
input and output counts, attributes with their types and which are required, formal inputs with their
type constraints), what src/model/validate-schema.ts checks a model against at load.

Two sources, both generated from ONNX's own operator definitions:
  - opsets 1..17 from the onnx Python package (Debian's python3-onnx 1.12: apt-get install python3-onnx);
  - opsets 18..23 from onnx's docs/Changelog.md (which onnx generates from the same definitions), read
    from a checkout of github.com/onnx/onnx given with --changelog (the committed file: onnx commit
    f7546912001bc31e92a238b17068a21b373d882e, 2026-08-22).

Where the two overlap (opsets <= 17) the parser agrees with python3-onnx on every operator version but
Erf-13 and GridSample-16, whose type constraints onnx corrected after 1.12, and the deprecated
Scatter-11 and Upsample-10, whose Changelog sections have no body (--verify-parser shows them).

  /usr/bin/python3 scripts/gen-op-schemas.py --changelog onnx/docs/Changelog.md    write the file
  /usr/bin/python3 scripts/gen-op-schemas.py --check [--changelog ...]             compare with the file
  /usr/bin/python3 scripts/gen-op-schemas.py --verify-parser --changelog ...       the Changelog parser
      against the Python package on opsets 1..17 (where both know every operator)

--check without --changelog checks the opset 1..17 part only; it needs python3-onnx and exits 0 with a
note where it is not installed.
"""

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'src', 'model', 'ops', 'onnx-schemas.ts')
PY_MAX_OPSET = 17  # what python3-onnx 1.12 knows
MAX_OPSET = 23  # what lowbit reads (src/model/onnx.ts)
UNBOUNDED = 2147483647  # ONNX's max_input/max_output of a variadic parameter

# ONNX type names -> lowbit's ElemType names (src/model/graph.ts); others keep ONNX's name
ELEM = {
    'float': 'float32', 'double': 'float64', 'float16': 'float16', 'bfloat16': 'bfloat16',
    'int8': 'int8', 'int16': 'int16', 'int32': 'int32', 'int64': 'int64',
    'uint8': 'uint8', 'uint16': 'uint16', 'uint32': 'uint32', 'uint64': 'uint64', 'bool': 'bool',
    'string': 'string', 'complex64': 'complex64', 'complex128': 'complex128',
    'float8e4m3fn': 'float8e4m3fn', 'float8e4m3fnuz': 'float8e4m3fnuz', 'float8e5m2': 'float8e5m2',
    'float8e5m2fnuz': 'float8e5m2fnuz', 'uint4': 'uint4', 'int4': 'int4', 'float4e2m1': 'float4e2m1',
}
ATTR_TYPES = {
    'FLOAT': 'float', 'INT': 'int', 'STRING': 'string', 'TENSOR': 'tensor', 'GRAPH': 'graph',
    'SPARSE_TENSOR': 'sparse_tensor', 'TYPE_PROTO': 'type_proto', 'FLOATS': 'floats', 'INTS': 'ints',
    'STRINGS': 'strings', 'TENSORS': 'tensors', 'GRAPHS': 'graphs', 'SPARSE_TENSORS': 'sparse_tensors',
    'TYPE_PROTOS': 'type_protos',
}
DOC_ATTR_TYPES = {
    'float': 'float', 'int': 'int', 'string': 'string', 'tensor': 'tensor', 'graph': 'graph',
    'sparse_tensor': 'sparse_tensor', 'type_proto': 'type_proto', 'list of floats': 'floats',
    'list of ints': 'ints', 'list of strings': 'strings', 'list of tensors': 'tensors',
    'list of graphs': 'graphs', 'list of sparse_tensors': 'sparse_tensors', 'list of type_protos': 'type_protos',
}


def type_name(t):
    """'tensor(float)' -> 'float32'; sequences and optionals keep ONNX's spelling."""
    m = re.fullmatch(r'tensor\((\w+)\)', t)
    return ELEM.get(m.group(1), m.group(1)) if m else t


def formal(name, type_str, option, params):
    """A formal parameter as 'name:T' plus '?' optional, '*' variadic, '&' heterogeneous variadic; T is a
    type parameter of `params`, or a type ('tensor(float)' -> 'float32')."""
    return f'{name}:{type_str if type_str in params else type_name(type_str)}{option}'


def from_python():
    """{op: {since: entry}} for the default domain, from the onnx package."""
    import onnx.defs
    ops = {}
    for s in onnx.defs.get_all_schemas_with_history():
        if s.domain not in ('', 'ai.onnx'):
            continue
        params = {c.type_param_str for c in s.type_constraints}
        opt = lambda p: {'Single': '', 'Optional': '?', 'Variadic': '*' if p.isHomogeneous else '&'}[str(p.option).split('.')[-1]]
        ops.setdefault(s.name, {})[s.since_version] = {
            'since': s.since_version,
            'inputs': [s.min_input, s.max_input],
            'outputs': [s.min_output, s.max_output],
            'attrs': {k: ATTR_TYPES[str(a.type).split('.')[-1]] + ('!' if a.required else '') for k, a in sorted(s.attributes.items())},
            'ins': [formal(p.name, p.typeStr, opt(p), params) for p in s.inputs],
            'outs': [formal(p.name, p.typeStr, opt(p), params) for p in s.outputs],
            'types': {c.type_param_str: sorted(type_name(t) for t in c.allowed_type_strs) for c in s.type_constraints},
            **({'deprecated': True} if s.deprecated else {}),
        }
    return ops


def from_changelog(path):
    """{op: {since: entry}} for the default domain, from onnx's docs/Changelog.md."""
    text = open(path, encoding='utf-8').read()
    text = text.split("## Version 1 of the 'ai.onnx.preview' operator set")[0]  # other domains follow
    ops = {}
    sections = re.split(r'^### <a name="[^"]*"></a>\*\*', text, flags=re.M)[1:]
    for sec in sections:
        head = re.match(r'(\w+)-(\d+)\*\*', sec)
        op, since = head.group(1), int(head.group(2))
        parts = {m.group(1): m for m in re.finditer(r'^#### (\w[\w ]*?)(?: \((\d+) - (\d+|&#8734;)\))?$', sec, flags=re.M)}
        body = lambda title: sec[parts[title].end():].split('####')[0].split('</dl>')[0] if title in parts else ''
        attrs = {}
        for m in re.finditer(r'<dt><tt>(\w+)</tt> : ([a-z_ ]+?)(?: \((required|default is .*)\))?</dt>', body('Attributes')):
            attrs[m.group(1)] = DOC_ATTR_TYPES[m.group(2).strip()] + ('!' if m.group(3) == 'required' else '')

        types = {}
        for m in re.finditer(r'<dt><tt>(\w+)</tt> : (.+?)</dt>', body('Type Constraints')):
            types[m.group(1)] = sorted(type_name(t) for t in m.group(2).split(', '))

        def params(title):
            out = []
            for m in re.finditer(r'<dt><tt>([^<]+)</tt>(?: \(([^)]*)\))? : (.+?)</dt>', body(title)):
                flags = (m.group(2) or '').split(', ')
                opt = '?' if 'optional' in flags else ('&' if 'heterogeneous' in flags else '*') if 'variadic' in flags else ''
                out.append(formal(m.group(1), m.group(3), opt, types))
            return out

        def count(title, formals):
            m = parts.get(title)
            if m and m.group(2):
                hi = m.group(3)
                return [int(m.group(2)), UNBOUNDED if hi == '&#8734;' else int(hi)]
            return [len(formals), len(formals)]

        ins, outs = params('Inputs'), params('Outputs')
        ops.setdefault(op, {})[since] = {
            'since': since, 'inputs': count('Inputs', ins), 'outputs': count('Outputs', outs),
            'attrs': dict(sorted(attrs.items())), 'ins': ins, 'outs': outs, 'types': types,
            **({'deprecated': True} if 'has been deprecated since version' in sec.split('#### Version')[-1].split('####')[0] else {}),
        }
    return ops


# A deprecated version's Changelog section has no body; onnx/defs/nn/old.cc has GroupNormalization-18's
# (deprecated at opset 21 for a per-group scale and bias; lowbit implements it, onnxruntime runs it).
DEPRECATED_BODIES = {
    ('GroupNormalization', 18): {
        'inputs': [3, 3], 'outputs': [1, 1], 'attrs': {'epsilon': 'float', 'num_groups': 'int!'},
        'ins': ['X:T', 'scale:T', 'bias:T'], 'outs': ['Y:T'], 'types': {'T': ['bfloat16', 'float16', 'float32', 'float64']},
    },
}


def merge(py, doc):
    """python3-onnx for opsets <= 17, the Changelog for 18..23."""
    ops = {}
    for op, vs in py.items():
        ops.setdefault(op, {}).update(vs)
    for op, vs in (doc or {}).items():
        for v, e in vs.items():
            if PY_MAX_OPSET < v <= MAX_OPSET:
                ops.setdefault(op, {})[v] = {**e, **DEPRECATED_BODIES.get((op, v), {})}
    return {op: [vs[v] for v in sorted(vs)] for op, vs in sorted(ops.items())}


HEADER = '''// GENERATED by scripts/gen-op-schemas.py from ONNX's operator definitions (python3-onnx 1.12 for
// opsets 1..17, onnx docs/Changelog.md for 18..23): do not edit; regenerate. Every version of every
// default-domain operator: what src/model/validate-schema.ts checks nodes against.
// ins/outs: 'name:T' with '?' optional, '*' variadic, '&' heterogeneous variadic; T a key of types or
// a type itself. attrs: type, '!' when required.

import type { OpSchema } from './schema-types.js';

'''


def render(ops):
    lines = [HEADER, 'export const ONNX_SCHEMAS: Readonly<Record<string, readonly OpSchema[]>> = {\n']
    for op, versions in ops.items():
        lines.append(f'  {op}: [\n')
        for e in versions:
            lines.append(f'    {json.dumps(e, separators=(",", ":"))},\n')
        lines.append('  ],\n')
    lines.append('};\n')
    return ''.join(lines)


def parse_rendered(text):
    """{op: {since: entry}} from the committed file."""
    ops, op = {}, None
    for line in text.splitlines():
        m = re.match(r'  (\w+): \[$', line)
        if m:
            op = m.group(1)
        elif line.startswith('    {'):
            e = json.loads(line.strip().rstrip(','))
            ops.setdefault(op, {})[e['since']] = e
    return ops


def diff(a, b, what_a, what_b, keep=lambda v: True):
    problems = []
    for op in sorted(set(a) | set(b)):
        for v in sorted(set(a.get(op, {})) | set(b.get(op, {}))):
            if not keep(v):
                continue
            x, y = a.get(op, {}).get(v), b.get(op, {}).get(v)
            if x != y:
                problems.append(f'{op}-{v}:\n  {what_a}: {json.dumps(x)}\n  {what_b}: {json.dumps(y)}')
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--changelog')
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--verify-parser', action='store_true')
    args = ap.parse_args()
    try:
        py = from_python()
    except ImportError:
        if args.check:
            print('gen-op-schemas --check: python3-onnx is not installed (apt-get install python3-onnx); skipped')
            return 0
        raise
    doc = from_changelog(args.changelog) if args.changelog else None
    if args.verify_parser:
        problems = diff(py, doc, 'python3-onnx', 'Changelog.md', keep=lambda v: v <= PY_MAX_OPSET)
        print('\n'.join(problems) or f'the Changelog parser agrees with python3-onnx on every operator version <= {PY_MAX_OPSET}')
        return 1 if problems else 0
    if args.check:
        committed = parse_rendered(open(OUT, encoding='utf-8').read())
        want = {op: {e['since']: e for e in vs} for op, vs in merge(py, doc).items()}
        keep = (lambda v: True) if doc else (lambda v: v <= PY_MAX_OPSET)
        problems = diff(want, committed, 'generated', 'committed', keep)
        print('\n'.join(problems) or f'{os.path.relpath(OUT, ROOT)} matches its sources')
        return 1 if problems else 0
    if not doc:
        ap.error('--changelog is needed to write the file (opsets 18..23 come from it)')
    open(OUT, 'w', encoding='utf-8').write(render(merge(py, doc)))
    print(f'wrote {os.path.relpath(OUT, ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
