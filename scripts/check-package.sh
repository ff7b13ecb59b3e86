#!/usr/bin/env bash
# The package as npm would publish it: pack it once (without rebuilding), then lint its manifest
# (publint, warnings are errors), check its type declarations resolve for every entry ("are the types
# wrong", ESM-only profile: lowbit is an ES module; Node >= 20.19 can also require() it), check that
# require('lowbit') from CommonJS works from the installed tarball, and check the size budget.
# Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tgz=$(npm pack --ignore-scripts --silent --pack-destination "$tmp" | tail -1)
npx --no-install publint run "$tmp/$tgz" --strict
npx --no-install attw "$tmp/$tgz" --profile esm-only --format table-flipped
# a CommonJS user of the installed package (dependencies from this checkout's node_modules)
mkdir -p "$tmp/app/node_modules"
tar -xzf "$tmp/$tgz" -C "$tmp/app/node_modules" && mv "$tmp/app/node_modules/package" "$tmp/app/node_modules/lowbit"
for dep in onnx-proto @noble/hashes clipper-lib protobufjs long @protobufjs; do
  [ -e "node_modules/$dep" ] && mkdir -p "$(dirname "$tmp/app/node_modules/$dep")" && ln -s "$PWD/node_modules/$dep" "$tmp/app/node_modules/$dep"
done
(cd "$tmp/app" && node -e '
  const lowbit = require("lowbit");
  if (typeof lowbit.createRuntime !== "function") throw new Error("require(\"lowbit\") has no createRuntime");
  lowbit.createRuntime({ threads: 1 }).then((rt) => { console.log(`require("lowbit") from CommonJS: ok (${rt.features.simd} build)`); rt.dispose?.(); });')
node scripts/size-report.mjs
