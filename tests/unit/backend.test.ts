import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { nodeWasmPaths } from '../../src/cli/wasmPaths';

describe('backend choice', () => {
  afterAll(async () => {
    await initBackend('wasm', { wasmPaths: nodeWasmPaths() });
  });
  it("'auto' in Node (no WebGPU adapter, no WebGL) picks WASM and says why", async () => {
    const info = await initBackend('auto', { wasmPaths: nodeWasmPaths() });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.reason).toContain('no WebGPU adapter');
  });
  it('a requested backend is used, or refused with a reason', async () => {
    const cpu = await initBackend('cpu');
    expect(cpu).toEqual({ name: 'cpu', reason: 'requested', adapter: undefined });
    expect(tf.getBackend()).toBe('cpu');
    await expect(initBackend('webgpu')).rejects.toThrow(/no WebGPU adapter/);
  });
});
