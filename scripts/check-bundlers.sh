#!/usr/bin/env bash
# The example apps (examples/vite, examples/webpack, examples/esbuild) built as a user builds them,
# against the packed package: packs this checkout once (scripts/pack-install.sh), copies each app
# outside the repo with lowbit installed from the tarball, runs the app's own `npm run build` (the
# bundlers are this repo's pinned devDependencies, on PATH), then loads each built app in headless
# Chromium: cross-origin isolated (threads 2), not isolated (one warning, 1 thread), and under a
# strict Content-Security-Policy (no eval). See test/bundlers/check-apps.mjs. No network.
# Run after `npm run build`; exit 1 if any check fails. CHROMIUM_PATH overrides /usr/bin/chromium.
#   bash scripts/check-bundlers.sh [APP...]   (default: vite webpack esbuild)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash scripts/pack-install.sh "$tmp" >/dev/null
echo "packed and installed in $SECONDS s"
export PATH="$root/node_modules/.bin:$PATH"

failed=0
served=()
for app in ${*:-vite webpack esbuild}; do
  dir=$tmp/$app
  mkdir -p "$dir"
  # the app's sources as committed (no earlier build output), and lowbit as installed from the tarball
  (cd "examples/$app" && git ls-files -z --cached --others --exclude-standard . | xargs -0 cp --parents -t "$dir")
  cp -a "$tmp/app/node_modules" "$dir/"
  # the model the page fetches, served beside it (a user's own model goes there)
  mkdir -p "$dir/public" && cp test/runtimes/smoke-model.onnx "$dir/public/model.onnx"
  t0=$SECONDS
  if (cd "$dir" && npm run build --silent) > "$tmp/$app-build.log" 2>&1; then
    echo "$app: built in $((SECONDS - t0)) s"
    # the build's warnings, their first lines (webpack: WARNING in ..., Vite: (!) ..., esbuild: ▲ [WARNING])
    grep -E '^WARNING|^\(!\)|\[WARNING\]' "$tmp/$app-build.log" | sed 's/^/  build warning: /' || true
  else
    echo "$app: build FAILED"; cat "$tmp/$app-build.log"; failed=1; continue
  fi
  case $app in vite) out=dist ;; *) out=public ;; esac
  served+=("$app=$dir/$out")
done
t0=$SECONDS
node test/bundlers/check-apps.mjs "${served[@]}" || failed=1
echo "bundlers: Chromium checks $((SECONDS - t0)) s, all $SECONDS s"
exit "$failed"
