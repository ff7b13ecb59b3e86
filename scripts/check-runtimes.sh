#!/usr/bin/env bash
# The packed package in Deno, Bun and Cloudflare's workerd: each runs the smoke test (test/runtimes/)
# against lowbit installed from the tarball into a throwaway project (scripts/pack-install.sh), never
# src/. Deno and Bun run it with threads 1 and 2; workerd runs a bundled worker module with the
# kernel builds bound as precompiled wasm modules (threads 1; threads 2 must fail with a typed error
# at once, as workerd has no Web Workers). The binaries are npm's platform packages, pinned, installed
# outside the repo (not package.json dependencies: they exist for linux-x64 only) into
# $LOWBIT_RUNTIMES_DIR (default ~/.cache/lowbit-runtimes). Run after `npm run build`; exit 1 if any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

BUN_PKG=@oven/bun-linux-x64@1.4.5
DENO_PKG=@deno/linux-x64-glibc@2.9.6
WORKERD_PKG=@cloudflare/workerd-linux-64@1.20261201.1

cache=${LOWBIT_RUNTIMES_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/lowbit-runtimes}
stamp="$BUN_PKG $DENO_PKG $WORKERD_PKG"
if [ "$(cat "$cache/.installed" 2>/dev/null)" != "$stamp" ]; then
  mkdir -p "$cache"
  # the platform packages hold the binaries themselves (their wrappers' install scripts are not needed)
  npm install --no-save --no-package-lock --no-audit --no-fund --ignore-scripts --prefix "$cache" "$BUN_PKG" "$DENO_PKG" "$WORKERD_PKG" >/dev/null
  echo "$stamp" > "$cache/.installed"
fi
bun=$cache/node_modules/@oven/bun-linux-x64/bin/bun
deno=$cache/node_modules/@deno/linux-x64-glibc/deno
workerd=$cache/node_modules/@cloudflare/workerd-linux-64/bin/workerd
export DENO_NO_UPDATE_CHECK=1 DENO_DIR="$cache/deno-dir"

tmp=$(mktemp -d)
wpid=
cleanup() { [ -n "$wpid" ] && kill "$wpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
bash scripts/pack-install.sh "$tmp" >/dev/null
app=$tmp/app
cp test/runtimes/{smoke.mjs,input.mjs,main.mjs,worker.mjs,workerd.capnp,smoke-model.onnx} "$app/"
echo '{ "name": "lowbit-runtime-smoke", "private": true, "type": "module", "dependencies": { "lowbit": "*" } }' > "$app/package.json"

failed=0
# check LABEL THREADS REPORT SECONDS [--sandboxed]: the report's summary line, the wall time of the run
check() { node "$root/test/runtimes/check-report.mjs" "$1" "$2" "$3" ${5:-} || failed=1; echo "  (wall time $4 s)"; }

echo "bun $("$bun" --version)"
for t in 1 2; do
  t0=$SECONDS
  (cd "$app" && timeout 120 "$bun" run main.mjs "$t" > "$tmp/bun-$t.json" 2>&1) || true
  check bun "$t" "$tmp/bun-$t.json" $((SECONDS - t0))
done

echo "$("$deno" --version | head -1)"
for t in 1 2; do
  t0=$SECONDS
  (cd "$app" && timeout 120 "$deno" run --allow-read --node-modules-dir=manual main.mjs "$t" > "$tmp/deno-$t.json" 2>&1) || true
  check deno "$t" "$tmp/deno-$t.json" $((SECONDS - t0))
done

echo "workerd $("$workerd" --version | sed 's/^workerd //')"
node test/runtimes/bundle-worker.mjs "$app"
cp "$app"/node_modules/lowbit/build/*.wasm "$app/"
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
(cd "$app" && exec "$workerd" serve workerd.capnp --socket-addr "http=127.0.0.1:$port") > "$tmp/workerd.log" 2>&1 &
wpid=$!
fetch() { # GET the worker (waiting up to 20 s for it to listen), the body to $2
  node -e 'const [url, out] = process.argv.slice(1); const until = Date.now() + 20000;
    (async () => { for (;;) { try { const r = await fetch(url, { signal: AbortSignal.timeout(60000) });
      require("fs").writeFileSync(out, await r.text()); return; } catch (e) { if (Date.now() > until) throw e; await new Promise((f) => setTimeout(f, 200)); } } })()
    .catch((e) => { require("fs").writeFileSync(out, `fetch failed: ${e.message}`); });' "$1" "$2"
}
t0=$SECONDS
fetch "http://127.0.0.1:$port/?threads=1" "$tmp/workerd-1.json"
check workerd 1 "$tmp/workerd-1.json" $((SECONDS - t0)) --sandboxed
fetch "http://127.0.0.1:$port/?threads=2" "$tmp/workerd-2.json"
# no Web Workers in workerd: threads 2 must end at once with a typed FeatureError, not hang
if grep -q '"error":"FeatureError: threads > 1 needs Web Workers' "$tmp/workerd-2.json"; then
  echo "workerd, threads 2: ok (FeatureError: threads > 1 needs Web Workers, which this environment lacks)"
else
  echo "workerd, threads 2: FAIL, expected a FeatureError, got: $(head -c 1000 "$tmp/workerd-2.json")"; failed=1
fi
fetch "http://127.0.0.1:$port/?wasm=none" "$tmp/workerd-nowasm.json"
# without createRuntime({ wasm }) there is no URL to load the builds from: a FeatureError saying what to pass
if grep -q '"error":"FeatureError: cannot locate lowbit' "$tmp/workerd-nowasm.json"; then
  echo "workerd, no wasm option: ok ($(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).error.split("\n")[0])' "$tmp/workerd-nowasm.json"))"
else
  echo "workerd, no wasm option: FAIL, expected a FeatureError, got: $(head -c 1000 "$tmp/workerd-nowasm.json")"; failed=1
fi
if [ "$failed" != 0 ]; then echo "--- workerd log"; cat "$tmp/workerd.log"; fi
exit "$failed"
