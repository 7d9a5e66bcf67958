/** WAT text → WASM binary with wabt (build time and tests only; the app loads the committed binaries). */
import wabtInit from 'wabt';

export async function assembleWat(name: string, source: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat(`${name}.wat`, source, { simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}
