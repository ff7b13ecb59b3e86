// Node's built-in modules, for the Node-only paths (reading the .wasm files, worker_threads), loaded
// so that a bundler building for the browser neither tries to resolve them nor warns: Node >= 20.16,
// Deno and Bun have process.getBuiltinModule; older Nodes import a specifier no bundler follows.

type Proc = { getBuiltinModule?: (id: string) => unknown };

export async function nodeBuiltin<T>(name: string): Promise<T> {
  const get = (globalThis as { process?: Proc }).process?.getBuiltinModule;
  if (get) return get(name) as T;
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ name)) as T;
}
