/** The WAT source of every kernel, by the name its generated `<name>.wasm.ts` carries. */
import { maxPoolGradWat } from './maxPoolGrad.source';
import { rowDotLogWat } from './rowDotLog.source';

export const WASM_KERNELS: Record<string, string> = { maxPoolGrad: maxPoolGradWat, rowDotLog: rowDotLogWat };
