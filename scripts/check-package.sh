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
# packed, and installed as $tmp/app/node_modules/lowbit (dependencies linked from this checkout)
tgz=$(bash scripts/pack-install.sh "$tmp")
npx --no-install publint run "$tgz" --strict
npx --no-install attw "$tgz" --profile esm-only --format table-flipped
# a CommonJS user of the installed package
(cd "$tmp/app" && node -e '
  const lowbit = require("lowbit");
  if (typeof lowbit.createRuntime !== "function") throw new Error("require(\"lowbit\") has no createRuntime");
  lowbit.createRuntime({ threads: 1 }).then((rt) => { console.log(`require("lowbit") from CommonJS: ok (${rt.features.simd} build)`); rt.dispose?.(); });')
node scripts/size-report.mjs
