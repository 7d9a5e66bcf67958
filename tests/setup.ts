import * as tf from '@tensorflow/tfjs';
import { beforeAll } from 'vitest';
import { initBackend } from '../src/core/backend';
import { nodeWasmPaths } from '../src/cli/wasmPaths';

// Unit tests run on WASM (the lab's Node default); LAB_TEST_BACKEND=cpu checks the CPU kernels.
beforeAll(async () => {
  const wanted = (process.env.LAB_TEST_BACKEND ?? 'wasm') as 'wasm' | 'cpu';
  await initBackend(wanted, { wasmPaths: nodeWasmPaths() });
  if (tf.getBackend() !== wanted) throw new Error(`test backend ${wanted} did not initialize`);
});
