import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** The folder of tfjs-backend-wasm's .wasm binaries in node_modules, with a trailing slash. */
export function nodeWasmPaths(): string {
  const require = createRequire(import.meta.url);
  return `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`;
}
