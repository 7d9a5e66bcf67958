import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, isSoftwareAdapter } from '../../src/core/backend';
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

describe('software WebGPU adapters', () => {
  it('are recognized by the flag on the adapter, on its info, or by name', () => {
    expect(isSoftwareAdapter({ isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ info: { isFallbackAdapter: true } })).toBe(true);
    // Chromium 156 with --enable-unsafe-webgpu and no GPU: no flag anywhere, vendor google, architecture swiftshader.
    expect(isSoftwareAdapter({ info: { vendor: 'google', architecture: 'swiftshader', description: '' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } })).toBe(true);
    expect(isSoftwareAdapter({ isFallbackAdapter: false, info: { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100' } })).toBe(false);
    expect(isSoftwareAdapter({ info: { vendor: 'apple', architecture: 'metal-3' } })).toBe(false);
  });
});
