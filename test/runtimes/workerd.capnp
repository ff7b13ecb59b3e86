# workerd config for the runtime smoke test (scripts/check-runtimes.sh copies it beside worker.js, the
# bundled worker.mjs, and the package's build/*.wasm). The socket's address is set on the command line:
#   workerd serve workerd.capnp --socket-addr http=127.0.0.1:PORT
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .smokeWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const smokeWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "baseline.wasm", wasm = embed "baseline.wasm"),
    (name = "relaxed.wasm", wasm = embed "relaxed.wasm"),
    (name = "baseline-mt.wasm", wasm = embed "baseline-mt.wasm"),
    (name = "relaxed-mt.wasm", wasm = embed "relaxed-mt.wasm"),
    (name = "smoke-model.onnx", data = embed "smoke-model.onnx"),
  ],
  compatibilityDate = "2025-01-01",
);
