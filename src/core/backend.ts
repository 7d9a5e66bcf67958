/**
 * Choose and initialize the tfjs backend, and say why. Order: WebGPU → WebGL → WASM → CPU, except
 * that a software WebGPU adapter (isFallbackAdapter, e.g. SwiftShader) is measured far slower than
 * single-threaded WASM, so 'auto' then prefers WASM.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendName } from './config';
import { patchWasmMatMul } from './wasmMatMul';
import { patchWasmSlice } from './wasmSlice';
import { registerWasmConvFilterGrad } from './wasmConvFilter';
import { patchWasmConvInputGrad } from './wasmConvInput';
import { patchWasmMaxPoolGrad } from './wasmMaxPoolGrad';
import { registerWasmRowDotLog } from './wasmRowDotLog';

export interface BackendInfo {
  name: BackendName;
  /** Why this backend runs: the request, or what 'auto' found. */
  reason: string;
  /** GPU adapter description when WebGPU was probed. */
  adapter?: string;
}

export interface BackendOptions {
  /** Folder (URL or path ending in '/') holding the tfjs-backend-wasm .wasm binaries, or a URL per
   * binary file name (what a bundler hands out). */
  wasmPaths?: string | Record<string, string>;
  /** false: the single-threaded (SIMD) WASM binary even where threads are possible. */
  wasmThreads?: boolean;
}

export interface GpuAdapterLike {
  /** Older Chromium: on the adapter; newer (GPUAdapterInfo): on `info`. */
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
}

/** A CPU implementation of WebGPU (SwiftShader, WARP, llvmpipe) is not a GPU. */
export function isSoftwareAdapter(a: GpuAdapterLike): boolean {
  if (a.isFallbackAdapter === true || a.info?.isFallbackAdapter === true) return true;
  const i = a.info ?? {};
  return /swiftshader|llvmpipe|lavapipe|microsoft basic render|\bwarp\b/i.test([i.vendor, i.architecture, i.description].join(' '));
}

async function probeWebGpu(): Promise<GpuAdapterLike | null> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } }).navigator?.gpu;
  if (!gpu) return null;
  try {
    return await gpu.requestAdapter();
  } catch {
    return null;
  }
}

function describeAdapter(a: GpuAdapterLike): string {
  const i = a.info ?? {};
  return [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'unnamed adapter';
}

async function trySet(name: BackendName, opts: BackendOptions): Promise<boolean> {
  try {
    if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
    if (name === 'wasm' && opts.wasmPaths) setWasmPaths(opts.wasmPaths as Parameters<typeof setWasmPaths>[0]);
    if (name === 'wasm' && opts.wasmThreads === false) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const ok = await tf.setBackend(name);
    await tf.ready();
    if (name === 'wasm') {
      patchWasmMatMul();
      patchWasmSlice();
      registerWasmConvFilterGrad();
      patchWasmConvInputGrad();
      patchWasmMaxPoolGrad();
      registerWasmRowDotLog();
    }
    // A failed init can silently leave another backend in place.
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

export async function initBackend(requested: BackendName | 'auto', opts: BackendOptions = {}): Promise<BackendInfo> {
  if (requested !== 'auto') {
    let adapter: string | undefined;
    if (requested === 'webgpu') {
      const a = await probeWebGpu();
      if (!a) throw new Error('backend webgpu requested, but this host exposes no WebGPU adapter');
      adapter = describeAdapter(a);
    }
    if (!(await trySet(requested, opts))) throw new Error(`backend ${requested} requested, but it failed to initialize`);
    return { name: requested, reason: 'requested', adapter };
  }
  const notes: string[] = [];
  const adapter = await probeWebGpu();
  const software = adapter ? isSoftwareAdapter(adapter) : false;
  if (adapter && !software) {
    if (await trySet('webgpu', opts)) return { name: 'webgpu', reason: 'hardware WebGPU adapter', adapter: describeAdapter(adapter) };
    notes.push('WebGPU adapter found but init failed');
  } else if (adapter) {
    notes.push(`WebGPU adapter is software (${describeAdapter(adapter)}), slower than WASM`);
  } else {
    notes.push('no WebGPU adapter');
  }
  const hasDom = typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined';
  if (!software && hasDom && (await trySet('webgl', opts))) {
    return { name: 'webgl', reason: notes.join('; '), adapter: adapter ? describeAdapter(adapter) : undefined };
  }
  if (await trySet('wasm', opts)) return { name: 'wasm', reason: notes.join('; '), adapter: adapter ? describeAdapter(adapter) : undefined };
  notes.push('WASM failed to initialize');
  await trySet('cpu', opts);
  return { name: 'cpu', reason: notes.join('; ') };
}
