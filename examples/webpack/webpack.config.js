// webpack 5's usual setup: nothing for lowbit. webpack finds its .wasm files and its worker through
// `new URL(..., import.meta.url)` and copies or bundles them beside main.js.
import { fileURLToPath } from 'node:url';

export default {
  mode: 'production',
  entry: './src/main.js',
  output: { path: fileURLToPath(new URL('./public/dist/', import.meta.url)), clean: true },
};
