/// <reference lib="webworker" />
/** The lab's engine in a dedicated worker, exposed through Comlink (see labApi.ts). */
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { createLabApi, gpuDevice } from './labApi';

const api = createLabApi(
  {
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
    },
    // tfjs-backend-wasm 4.22's threaded build re-evaluates its bundled emscripten glue inside each
    // pthread worker, where the bundler's minified names are undefined ("e is not defined"): use
    // the single-threaded SIMD binary until that is solved.
    wasmThreads: false,
  },
  new URL(import.meta.env.BASE_URL, self.location.origin).href,
);

Comlink.expose(api);

/**
 * Fault injection, for the end-to-end tests and for anyone checking the recovery by hand from the
 * worker's console: what a crashed worker and a lost GPU look like to the page.
 */
Object.assign(self, {
  labFaults: {
    crash: () => setTimeout(() => {
      throw new Error('injected worker crash');
    }),
    loseDevice: () => gpuDevice()?.destroy(),
    /** Stops silently, as a worker the browser closed would: the page only notices the silence. */
    hang: () => self.close(),
  },
  /** What the tests read of the engine's memory: tensors, bytes, and on WebGPU the GPU's share. */
  labProbe: { memory: () => tf.memory() },
});
