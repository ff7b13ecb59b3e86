#!/usr/bin/env bash
# The package as npm would publish it, installed into a throwaway project: packs this checkout once
# (without rebuilding; run after `npm run build`) into DIR, extracts the tarball as DIR/app/node_modules/lowbit
# and links lowbit's dependencies from this checkout's node_modules (no network). Prints the tarball's path.
#   bash scripts/pack-install.sh DIR
# Used by scripts/check-package.sh and scripts/check-runtimes.sh.
set -euo pipefail
dir=$1
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tgz=$(npm pack --ignore-scripts --silent --pack-destination "$dir" | tail -1)
mkdir -p "$dir/app/node_modules"
tar -xzf "$dir/$tgz" -C "$dir/app/node_modules" && mv "$dir/app/node_modules/package" "$dir/app/node_modules/lowbit"
for dep in onnx-proto @noble/hashes clipper-lib protobufjs long @protobufjs; do
  if [ -e "node_modules/$dep" ]; then
    mkdir -p "$(dirname "$dir/app/node_modules/$dep")" && ln -s "$root/node_modules/$dep" "$dir/app/node_modules/$dep"
  fi
done
echo "$dir/$tgz"
