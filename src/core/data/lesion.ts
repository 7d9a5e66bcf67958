/**
 * A synthetic brain tumor drawn into one T1 slice: an irregular mass (radius perturbed by a few
 * angular harmonics) with an enhancing heterogeneous body (hyperintense, as on post-contrast T1),
 * a brighter rim and a dark necrotic core, a mildly hypointense edema halo, and mass effect
 * (surrounding tissue pushed radially away from the centre).
 * Intensities are on the [0,1] scale of the shipped slices (white matter ≈ 0.67, gray ≈ 0.5,
 * CSF ≈ 0.2).
 */
import type { RandomStream } from '../random';

export interface LesionParams {
  /** Centre (pixels, x = column, y = row). */
  cx: number;
  cy: number;
  /** Mean mass radius in pixels. */
  radius: number;
  /** 0 → the lesion is invisible, 1 → full contrast. */
  contrast: number;
  /** Peak fractional radial compression at the centre of the mass-effect warp (0 = none). */
  massEffect: number;
}

const HARMONICS = 4; // angular orders 2..5
const WAVES = 3; // plane waves summed for the body's texture

/** Lesion size, contrast and mass effect for a difficulty in [0,1]: 0 = large and bright, 1 = small and faint. */
export function lesionScale(difficulty: number, side: number): { radius: number; contrast: number; massEffect: number } {
  const d = Math.min(1, Math.max(0, difficulty));
  return {
    radius: side * (0.15 - 0.07 * d),
    contrast: 1 - 0.8 * d,
    massEffect: 0.45 - 0.3 * d,
  };
}

/** Distance (pixels, 3-4 chamfer / 3) from each head pixel to the outside; 0 outside the head. */
export function headDistance(slice: Float32Array, side: number, threshold = 0.08): Float32Array {
  const n = side * side;
  // Background = below threshold and connected to the border; everything else (including the dark
  // skull ring and the ventricles it encloses) is head.
  const outside = new Uint8Array(n);
  const stack: number[] = [];
  for (let i = 0; i < side; i++) stack.push(i, n - 1 - i, i * side, i * side + side - 1);
  while (stack.length) {
    const p = stack.pop()!;
    if (outside[p] || slice[p] > threshold) continue;
    outside[p] = 1;
    const x = p % side;
    if (x > 0) stack.push(p - 1);
    if (x < side - 1) stack.push(p + 1);
    if (p >= side) stack.push(p - side);
    if (p < n - side) stack.push(p + side);
  }
  const dist = new Float32Array(n);
  const big = 1e9;
  for (let p = 0; p < n; p++) dist[p] = outside[p] ? 0 : big;
  const relax = (p: number, q: number, w: number) => {
    if (dist[q] + w < dist[p]) dist[p] = dist[q] + w;
  };
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const p = y * side + x;
      if (x > 0) relax(p, p - 1, 3);
      if (y > 0) {
        relax(p, p - side, 3);
        if (x > 0) relax(p, p - side - 1, 4);
        if (x < side - 1) relax(p, p - side + 1, 4);
      }
    }
  }
  for (let y = side - 1; y >= 0; y--) {
    for (let x = side - 1; x >= 0; x--) {
      const p = y * side + x;
      if (x < side - 1) relax(p, p + 1, 3);
      if (y < side - 1) {
        relax(p, p + side, 3);
        if (x < side - 1) relax(p, p + side + 1, 4);
        if (x > 0) relax(p, p + side - 1, 4);
      }
    }
  }
  for (let p = 0; p < n; p++) dist[p] = Math.min(dist[p], 3 * side) / 3;
  return dist;
}

/** Bilinear sample of a side×side image at (x, y) in pixel-centre coordinates; 0 outside. */
export function bilinear(img: Float32Array, side: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  if (x0 >= 0 && y0 >= 0 && x0 < side - 1 && y0 < side - 1) {
    const p = y0 * side + x0;
    const top = img[p] + (img[p + 1] - img[p]) * fx;
    const bottom = img[p + side] + (img[p + side + 1] - img[p + side]) * fx;
    return top + (bottom - top) * fy;
  }
  if (x0 < -1 || y0 < -1 || x0 >= side || y0 >= side) return 0;
  const inX0 = x0 >= 0;
  const inX1 = x0 + 1 < side;
  const inY0 = y0 >= 0;
  const inY1 = y0 + 1 < side;
  const r0 = y0 * side;
  const r1 = r0 + side;
  const a = inX0 && inY0 ? img[r0 + x0] : 0;
  const b = inX1 && inY0 ? img[r0 + x0 + 1] : 0;
  const c = inX0 && inY1 ? img[r1 + x0] : 0;
  const d = inX1 && inY1 ? img[r1 + x0 + 1] : 0;
  return (a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy;
}

function smoothstep(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

/**
 * Draws the lesion into a copy of `slice`; returns the lesioned slice and the mass's mask (0/1,
 * necrotic core included, edema excluded). Randomness (shape, texture, levels) comes from `rng`.
 */
export function renderLesion(
  slice: Float32Array,
  side: number,
  p: LesionParams,
  rng: RandomStream,
): { image: Float32Array; mask: Float32Array } {
  const image = Float32Array.from(slice);
  const mask = new Float32Array(side * side);
  // Irregular outline: R(θ) = r · (1 + Σ_k a_k cos(kθ + φ_k)), k = 2..5.
  const hc = new Float64Array(HARMONICS);
  const hs = new Float64Array(HARMONICS);
  let wobble = 0;
  for (let k = 0; k < HARMONICS; k++) {
    const a = rng.uniform(0, 0.16) / (1 + 0.4 * k);
    const phi = rng.uniform(0, 2 * Math.PI);
    hc[k] = a * Math.cos(phi);
    hs[k] = -a * Math.sin(phi);
    wobble += a;
  }
  // Texture: plane waves with wavelengths ~0.5–0.9 r in random directions.
  const wx = new Float64Array(WAVES);
  const wy = new Float64Array(WAVES);
  const wp = new Float64Array(WAVES);
  for (let k = 0; k < WAVES; k++) {
    const freq = (2 * Math.PI) / (p.radius * rng.uniform(0.5, 0.9));
    const dir = rng.uniform(0, 2 * Math.PI);
    wx[k] = freq * Math.cos(dir);
    wy[k] = freq * Math.sin(dir);
    wp[k] = rng.uniform(0, 2 * Math.PI);
  }
  const coreEdge = rng.uniform(0.2, 0.4);
  const edemaEdge = rng.uniform(1.5, 2.1);
  // Post-contrast T1 (the papers' MRI): an enhancing, hyperintense mass around a dark necrotic core.
  const bodyLevel = rng.uniform(0.8, 0.92);
  const rimLevel = rng.uniform(0.92, 1);
  const coreLevel = rng.uniform(0.15, 0.3);
  const edemaGain = 1 - rng.uniform(0.15, 0.25);
  const c = p.contrast;
  // Mass effect (inverse map): the output at distance ρ shows the source at ρ·(1 − m·e^{−ρ²/σ²}),
  // monotone in ρ for m < 1, so tissue is compressed outward without folding.
  const sigma = 1.8 * p.radius;
  const invSigma2 = 1 / (sigma * sigma);
  // Beyond 2.5σ the displacement is below 0.1 px.
  const reach = Math.max(2.5 * sigma, edemaEdge * 1.1 * p.radius * (1 + wobble));
  const reach2 = reach * reach;
  const x0 = Math.max(0, Math.floor(p.cx - reach));
  const x1 = Math.min(side - 1, Math.ceil(p.cx + reach));
  const y0 = Math.max(0, Math.floor(p.cy - reach));
  const y1 = Math.min(side - 1, Math.ceil(p.cy + reach));
  for (let y = y0; y <= y1; y++) {
    const dy = y - p.cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x - p.cx;
      const rho2 = dx * dx + dy * dy;
      if (rho2 > reach2) continue;
      const shrink = 1 - p.massEffect * Math.exp(-rho2 * invSigma2);
      let v = bilinear(slice, side, p.cx + dx * shrink, p.cy + dy * shrink);
      const rho = Math.sqrt(rho2);
      // cos kθ, sin kθ by the angle-addition recurrence from cos θ, sin θ (no trig per pixel).
      const ct = rho > 0 ? dx / rho : 1;
      const st = rho > 0 ? dy / rho : 0;
      let ck = ct * ct - st * st;
      let sk = 2 * ct * st;
      let outline = 1;
      for (let k = 0; k < HARMONICS; k++) {
        outline += hc[k] * ck + hs[k] * sk;
        const next = ck * ct - sk * st;
        sk = sk * ct + ck * st;
        ck = next;
      }
      const rn = rho / (p.radius * outline);
      if (rn < edemaEdge + 0.3) {
        const inMass = 1 - smoothstep(0.9, 1.1, rn);
        const inCore = 1 - smoothstep(coreEdge - 0.1, coreEdge + 0.1, rn);
        const inEdema = 1 - smoothstep(edemaEdge - 0.3, edemaEdge + 0.3, rn);
        v *= 1 - c * (1 - edemaGain) * inEdema * (1 - inMass);
        if (inMass > 0) {
          let tex = 0;
          for (let k = 0; k < WAVES; k++) tex += Math.cos(wx[k] * dx + wy[k] * dy + wp[k]);
          const rim = smoothstep(coreEdge, 0.85, rn) * (1 - smoothstep(0.85, 1.05, rn));
          let level = bodyLevel + 0.06 * (tex / WAVES) + rim * (rimLevel - bodyLevel);
          level += inCore * (coreLevel - level);
          v += c * inMass * (level - v);
        }
        if (rn < 1) mask[y * side + x] = 1;
      }
      image[y * side + x] = v;
    }
  }
  return { image, mask };
}
