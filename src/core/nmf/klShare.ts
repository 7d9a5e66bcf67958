/**
 * A share of each KL iteration's work, so that threads can split it (see factorize's `helpers`).
 * Both multiplicative updates are row-separable once the small factor is known in full:
 *   Hᵀ's row j needs only image j (a row of Vᵀ) and the whole W;
 *   W's row i needs only pixel i (a row of V) and the whole H;
 * and the divergence is a sum over images of per-image terms. A share holds a block of images and a
 * block of pixels and does their part of the products; the thread that owns the iteration gathers
 * the blocks. Every element is computed by the same kernels, over the same operands and in the same
 * order as in the whole-matrix form, so the factors and losses are the same bits
 * (tests/unit/nmf/klShare.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { KL_EPSILON, klMultiplyW, klRatio, klRowDivergences, klRowSums } from './kl';

/** Half-open row ranges of Vᵀ (images) and of V (pixels). */
export interface KlShareRange {
  images: [number, number];
  pixels: [number, number];
}

/** The share's rows of the data: Vᵀ + guard for its images (as factorize forms it) and V for its pixels. */
export interface KlShareBlocks extends KlShareRange {
  VgT: tf.Tensor2D;
  V: tf.Tensor2D;
}

/** Arguments are the caller's; results are the caller's to dispose. */
export interface KlShare {
  /**
   * For the iterate (W, H): the ratio Vᵀ ⊘ (HᵀWᵀ + ε) on this share's images and their divergence
   * terms; with `next`, also this share's rows of the next Hᵀ = Hᵀ ⊙ (Rᵀ W) ⊘ (1ᵀW + ε).
   * W and Ht are whole (pixels × rank, images × rank).
   */
  ratio(W: tf.Tensor2D, Ht: tf.Tensor2D, next: boolean): Promise<{ divergence: tf.Tensor1D; nextHt: tf.Tensor2D | null }>;
  /** This share's pixel rows of the next W, from the W of the last ratio call and the whole next Hᵀ. */
  updateW(nextHt: tf.Tensor2D): Promise<tf.Tensor2D>;
  dispose(): void;
}

/** Makes a share on another thread from its blocks (which it may read but does not own). */
export type KlShareFactory = (blocks: KlShareBlocks) => Promise<KlShare>;

/** `count` rows cut into `parts` contiguous ranges whose sizes differ by at most one. */
export function splitRows(count: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, p) => [Math.floor((count * p) / parts), Math.floor((count * (p + 1)) / parts)]);
}

/** A share computed in the calling thread. Takes ownership of the blocks' tensors. */
export function localKlShare(blocks: KlShareBlocks): KlShare {
  const { VgT, V, images, pixels } = blocks;
  const rank = () => (W ? W.shape[1] : 0);
  const rowSumsVgT = tf.tidy(() => tf.sum(VgT, 1) as tf.Tensor1D);
  // This share's rows of the W given to the last ratio call, for the W update that follows it.
  let W: tf.Tensor2D | null = null;
  let disposed = false;
  const live = () => {
    if (disposed) throw new Error('KL share used after dispose');
  };
  return {
    async ratio(Wfull, Ht, next) {
      live();
      W?.dispose();
      W = tf.slice(Wfull, [pixels[0], 0], [pixels[1] - pixels[0], Wfull.shape[1]]);
      const HtBlock = tf.slice(Ht, [images[0], 0], [images[1] - images[0], Ht.shape[1]]);
      const Wt = tf.transpose(Wfull);
      const Rt = klRatio(VgT, HtBlock, Wt);
      try {
        const divergence = klRowDivergences(VgT, Rt, HtBlock, Wt, rowSumsVgT);
        const nextHt = next ? tf.tidy(() => klMultiplyW(HtBlock, Rt, Wfull, tf.add(tf.sum(Wfull, 0), KL_EPSILON))) : null;
        return { divergence, nextHt };
      } finally {
        tf.dispose([HtBlock, Wt, Rt]);
      }
    },
    async updateW(nextHt) {
      live();
      if (!W || rank() !== nextHt.shape[1]) throw new Error('KL share: updateW needs a ratio call first, with the same rank');
      const current = W;
      return tf.tidy(() => {
        const Hn = tf.transpose(nextHt);
        return klMultiplyW(current, klRatio(V, current, Hn), nextHt, klRowSums(Hn));
      });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose([VgT, V, rowSumsVgT]);
      W?.dispose();
      W = null;
    },
  };
}

/** A factory for shares in the calling thread (tests, and hosts whose helper runs here). */
export const inThreadKlShare: KlShareFactory = async (b) => localKlShare({ ...b, VgT: b.VgT.clone(), V: b.V.clone() });
