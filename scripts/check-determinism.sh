#!/usr/bin/env bash
# Same bits on every CPU (DESIGN.md section 3): runs scripts/determinism.mjs on the host (x64) and on
# an emulated arm64 Node (../shared/tools/arm64-node/node.sh) with several engine flag sets, then
# compares every digest. One case name must have one digest in every run and on every build:
#   - integer kernels (qs8 int32/uint8/int8 outputs, MatMulInteger, QLinearMatMul, Quantize/
#     DequantizeLinear, DynamicQuantizeLinear, qs8_stage_f32_c2), the qs8 float32 epilogue (with its
#     activations), qb4, lut4, f8f8, the fp8 codec and the float32 kernels with plain mul/add in
#     both builds (activations, softmax, pooling, channel scaling, f32_matmul_rows, im2col):
#     identical across runs, builds (baseline, relaxed), weight layouts (c2, c4) and the scalar
#     reference ('ref');
#   - f32 GEMM / MatMul / Gemm, f32_dwconv_nhwc and f8w of the baseline build (IEEE mul + add):
#     identical across runs and 'ref';
#   - the same of the relaxed build (fused multiply-add), named '*.relaxed': identical across runs
#     (x64 and arm64, 1 and 2 threads).
# Exits non-zero on any difference, on a missing case, or when a run that should run the relaxed
# build did not. DETERMINISM_OUT=dir keeps the digest files there (otherwise a temp dir, kept on failure).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/.." && pwd))
cd "$ROOT"

ARM_NODE="$ROOT/../shared/tools/arm64-node/node.sh"
[ -x "$ARM_NODE" ] || ARM_NODE=/work/shared/tools/arm64-node/node.sh
if [ ! -x "$ARM_NODE" ]; then
  echo "check-determinism: no arm64 node runner at $ROOT/../shared/tools/arm64-node/node.sh or $ARM_NODE" >&2
  exit 1
fi

if [ ! -f dist/index.js ] || [ ! -f dist/kernels.js ] || [ ! -f build/baseline.wasm ] || [ ! -f build/relaxed.wasm ] \
  || [ ! -f build/baseline-mt.wasm ] || [ ! -f build/relaxed-mt.wasm ]; then
  echo "== dist/ or build/*.wasm missing: npm run build"
  npm run build
fi

if [ -n "${DETERMINISM_OUT:-}" ]; then
  OUT=$DETERMINISM_OUT
  mkdir -p "$OUT"
  KEEP=1
else
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/lowbit-determinism.XXXXXX")
  KEEP=0
fi
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] || [ "$KEEP" = 1 ]; then echo "digest files kept in $OUT"; else rm -rf "$OUT"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

RELAXED=--experimental-wasm-relaxed-simd
LABELS=()
EXPECT=()
TIMES=()
T_ALL=$(now)

# run LABEL EXPECTED_BUILDS RUNNER [node flags...] -- [script args...]
run() {
  local label=$1 expected=$2 runner=$3
  shift 3
  local flags=() sargs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do flags+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  sargs=("$@")
  local t0 t1
  t0=$(now)
  printf '== %-24s %s %s scripts/determinism.mjs %s\n' "$label" "$runner" "${flags[*]:-}" "${sargs[*]:-}"
  local cmd
  if [ "$runner" = node ]; then cmd=(node); else cmd=("$ARM_NODE"); fi
  if ! env ${RUN_ENV:-} "${cmd[@]}" ${flags[@]+"${flags[@]}"} scripts/determinism.mjs ${sargs[@]+"${sargs[@]}"} >"$OUT/$label.txt" 2>"$OUT/$label.err"; then
    echo "check-determinism: run '$label' failed; its stderr:" >&2
    tail -n 40 "$OUT/$label.err" >&2
    exit 1
  fi
  t1=$(now)
  grep '^# build' "$OUT/$label.txt" | grep -v ': [0-9.]* s$' | sed 's/^/     /'
  LABELS+=("$label=$OUT/$label.txt")
  for b in ${expected//,/ }; do EXPECT+=(--expect "$label:$b"); done
  TIMES+=("$(printf '%-24s %6s s' "$label" "$(secs "$t0" "$t1")")")
}

echo "== host: node $(node --version) ($(uname -m))"
run x64-default          baseline          node
run x64-relaxed          baseline,relaxed  node "$RELAXED" --no-liftoff
run x64-relaxed-liftoff  baseline          node "$RELAXED"
run x64-liftoff-only     baseline          node "$RELAXED" --liftoff-only
run x64-threads2         baseline,relaxed  node "$RELAXED" --no-liftoff -- --threads 2

echo "== arm64 (emulated; first use installs qemu-user-static and the arm64 node): $ARM_NODE"
t0=$(now)
"$ARM_NODE" -p '"arm64 node " + process.version + " (" + process.arch + ", V8 " + process.versions.v8 + ")"'
TIMES+=("$(printf '%-24s %6s s' "arm64 setup/startup" "$(secs "$t0" "$(now)")")")
run arm64-relaxed          baseline,relaxed  arm64 "$RELAXED" --no-liftoff
run arm64-relaxed-liftoff  baseline          arm64 "$RELAXED"
run arm64-liftoff-only     baseline          arm64 "$RELAXED" --liftoff-only
run arm64-threads2         baseline,relaxed  arm64 "$RELAXED" --no-liftoff -- --threads 2
# a CPU without the dotprod extension (V8 lowers the relaxed dot product without SDOT)
RUN_ENV=ARM64_CPU=cortex-a57 run arm64-nodotprod baseline,relaxed arm64 "$RELAXED" --no-liftoff

echo "== timing"
printf '   %s\n' "${TIMES[@]}"
printf '   %-24s %6s s\n' total "$(secs "$T_ALL" "$(now)")"

echo "== compare"
if node scripts/determinism.mjs --compare "${EXPECT[@]}" "${LABELS[@]}"; then
  echo "check-determinism: PASS - every case has one digest across x64 and arm64, builds, layouts, threads and the reference"
else
  echo "check-determinism: FAIL - see DIFFERS / MISSING / EXPECT lines above" >&2
  exit 1
fi
