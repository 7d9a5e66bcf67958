/**
 * The DDPM noise schedule (Ho et al. 2020, §2 and §4): a variance β_t that grows linearly with t,
 * α_t = 1 − β_t and ᾱ_t = Π_{s ≤ t} α_s, so that q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I).
 *
 * Index convention (used everywhere in the lab): arrays are 0-based with T entries and a timestep
 * t ∈ {0, …, T−1} reads entry t, i.e. alphaBar[t] = α_0 · α_1 ⋯ α_t. The lab noises at
 * t ∈ {1, …, T−1}; t = 0 would be one step of noise only. The default purification timestep
 * t = 41 of T = 3000 therefore means ᾱ = α_0 ⋯ α_41 (42 factors), about 0.990 for β ∈ [1e-4, 0.02].
 */

export interface NoiseSchedule {
  steps: number;
  betas: Float32Array;
  alphas: Float32Array;
  alphaBar: Float32Array;
}

/** β_t = betaStart + (betaEnd − betaStart) · t / (T − 1), so β_0 = betaStart and β_{T−1} = betaEnd. */
export function linearSchedule(steps: number, betaStart: number, betaEnd: number): NoiseSchedule {
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`linearSchedule: steps = ${steps} must be an integer ≥ 2`);
  if (!(betaStart > 0 && betaEnd >= betaStart && betaEnd < 1)) {
    throw new Error(`linearSchedule: need 0 < betaStart ≤ betaEnd < 1, got ${betaStart}, ${betaEnd}`);
  }
  const betas = new Float32Array(steps);
  const alphas = new Float32Array(steps);
  const alphaBar = new Float32Array(steps);
  // The running product is kept in float64 and rounded once per entry, so float32 storage does not
  // compound rounding error over T factors.
  let product = 1;
  for (let t = 0; t < steps; t++) {
    const beta = betaStart + ((betaEnd - betaStart) * t) / (steps - 1);
    betas[t] = beta;
    alphas[t] = 1 - beta;
    product *= 1 - beta;
    alphaBar[t] = product;
  }
  return { steps, betas, alphas, alphaBar };
}
