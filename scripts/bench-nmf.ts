/**
 * Timing of NMF at the paper's scale on the WASM backend (the lab's Node default):
 * V = 16,384 pixels × 2,200 images, rank 15. Reports seconds per KL and Frobenius iteration
 * (difference of two runs, so initialization and the first readback cancel), the NNDSVD
 * initialization, the projection used for features, and the parts of one KL iteration.
 *   npx tsx scripts/bench-nmf.ts [pixels] [images] [rank]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/core/backend';
import { nodeWasmPaths } from '../src/cli/wasmPaths';
import { factorize, imageFeatures, initFactors } from '../src/core/nmf';
import { guardedProduct, klColumnSums, klDivergenceFromRatio, klRatio } from '../src/core/nmf/kl';

const [pixels, images, rank] = [Number(process.argv[2] ?? 16384), Number(process.argv[3] ?? 2200), Number(process.argv[4] ?? 15)];

async function seconds(run: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

/** Best of `reps` timings of a synchronous tensor computation (kernels on WASM run eagerly). */
function best(reps: number, make: () => tf.TensorContainer): number {
  let min = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = make();
    min = Math.min(min, performance.now() - t0);
    tf.dispose(out);
  }
  return min / 1000;
}

async function perIteration(V: tf.Tensor2D, loss: 'kl' | 'frobenius', short: number, long: number): Promise<number> {
  const run = (maxIter: number) => seconds(async () => {
    const r = await factorize(V, { rank, loss, init: 'random', maxIter, tol: 0, seed: 1 });
    tf.dispose([r.W, r.H]);
  });
  await run(short); // warm-up: kernel setup and heap growth
  const a = await run(short);
  const b = await run(long);
  return (b - a) / (long - short);
}

async function main(): Promise<void> {
  await initBackend('wasm', { wasmPaths: nodeWasmPaths() });
  console.log(`backend ${tf.getBackend()}, V ${pixels} × ${images}, rank ${rank}`);
  // Smooth non-negative "images": a rank-40 non-negative product plus uniform noise.
  const V = tf.tidy(() =>
    tf.add(
      tf.matMul(tf.randomUniform([pixels, 40], 0, 1, 'float32', 1), tf.randomUniform([40, images], 0, 0.05, 'float32', 2)),
      tf.randomUniform([pixels, images], 0, 0.1, 'float32', 3),
    ) as tf.Tensor2D,
  );

  const W = tf.randomUniform([pixels, rank], 0.1, 1, 'float32', 4) as tf.Tensor2D;
  const H = tf.randomUniform([rank, images], 0.1, 1, 'float32', 5) as tf.Tensor2D;
  const Wt = tf.transpose(W);
  const Ht = tf.transpose(H);
  const t0 = performance.now();
  const VT = tf.transpose(V);
  console.log(`Vᵀ, once per run: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  const rowSums = tf.sum(VT, 1) as tf.Tensor1D;
  // Fresh ratios for every repetition: the WASM matMul packs (and caches by tensor) its right factor.
  const fresh = (make: () => tf.Tensor2D) => Array.from({ length: 3 }, make);
  const R = fresh(() => klRatio(V, W, H));
  const Rt = fresh(() => klRatio(VT, Ht, Wt));
  let rep = 0;
  const each = (f: (i: number) => tf.TensorContainer) => () => f(rep++ % 3);
  const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
  console.log('parts of one KL iteration (best of 3, fresh operands):');
  console.log(`  WH + ε (bias fused in matMul)       ${ms(best(3, () => guardedProduct(W, H)))}`);
  console.log(`  V ⊘ (WH + ε)                        ${ms(best(3, () => klRatio(V, W, H)))}`);
  console.log(`  H update: Wᵀ R (R right factor)     ${ms(best(3, each((i) => tf.matMul(Wt, R[i]))))}`);
  console.log(`  H update: Wᵀ R via transposeA flag  ${ms(best(3, each((i) => tf.matMul(W, R[i], true, false))))}`);
  console.log(`  H update: Rᵀ W (Rᵀ left factor)     ${ms(best(3, each((i) => tf.matMul(Rt[i], W))))}`);
  console.log(`  W update: R Hᵀ (Hᵀ materialized)    ${ms(best(3, each((i) => tf.matMul(R[i], Ht))))}`);
  console.log(`  W update: R Hᵀ via transposeB flag  ${ms(best(3, each((i) => tf.matMul(R[i], H, false, true))))}`);
  console.log(`  log R                               ${ms(best(3, each((i) => tf.log(Rt[i]))))}`);
  console.log(`  divergence from Rᵀ (in use)         ${ms(best(3, each((i) => klDivergenceFromRatio(VT, Rt[i], Ht, Wt, rowSums))))}`);
  console.log(`  … its row dots as mul + sum         ${ms(best(3, each((i) => tf.tidy(() => tf.sum(tf.mul(VT, tf.log(Rt[i])), 1)))))}`);
  console.log(`  … its row dots as batched matMul    ${ms(best(3, each((i) => tf.tidy(() => tf.matMul(tf.reshape(VT, [images, 1, pixels]), tf.reshape(tf.log(Rt[i]), [images, pixels, 1]))))))}`);
  console.log(`  Wᵀ1 + ε                             ${ms(best(3, () => klColumnSums(W)))}`);
  tf.dispose([W, H, Wt, Ht, VT, rowSums, ...R, ...Rt]);

  const VTforInit = tf.transpose(V);
  const init = await seconds(() => {
    const f = initFactors(V, rank, 'nndsvda', 1, VTforInit);
    tf.dispose([f.W, f.H]);
  });
  VTforInit.dispose();
  console.log(`nndsvda init (randomized SVD, 4 power iterations, given Vᵀ): ${init.toFixed(2)} s`);
  console.log(`KL: ${(await perIteration(V, 'kl', 2, 12)).toFixed(3)} s per iteration`);
  console.log(`Frobenius: ${(await perIteration(V, 'frobenius', 2, 12)).toFixed(3)} s per iteration`);

  const basis = tf.randomUniform([pixels, rank], 0.1, 1, 'float32', 6) as tf.Tensor2D;
  const X = tf.transpose(V);
  const project = (iterations: number) => best(1, () => imageFeatures(X, basis, iterations));
  project(1);
  const perProjection = (project(11) - project(1)) / 10;
  console.log(`imageFeatures (KL) on ${images} images: ${perProjection.toFixed(3)} s per iteration`);
  tf.dispose([basis, X, V]);
}

void main();
