/** Test-only numerics: an independent path to tail probabilities by Simpson's rule. */

/** Composite Simpson's rule on [a, b] with an even number of panels. */
export function simpson(f: (x: number) => number, a: number, b: number, panels = 200_000): number {
  const h = (b - a) / panels;
  let sum = f(a) + f(b);
  for (let i = 1; i < panels; i++) sum += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
  return (sum * h) / 3;
}

/**
 * P(X > x0) for a density known up to a constant on [0, ∞): head ∫_0^x0 directly, tail ∫_x0^∞ by
 * x = x0/u (dx = x0/u² du, u ∈ (0, 1]), which maps a power-law tail to a smooth integrand on (0, 1].
 */
export function upperTail(unnormalized: (x: number) => number, x0: number): number {
  const head = simpson(unnormalized, 0, x0);
  const tail = simpson((u) => (u === 0 ? 0 : (unnormalized(x0 / u) * x0) / (u * u)), 0, 1);
  return tail / (head + tail);
}

/** Student t density up to its constant: (1 + x²/ν)^(−(ν+1)/2). */
export const tKernel = (nu: number) => (x: number) => Math.exp((-(nu + 1) / 2) * Math.log1p((x * x) / nu));

/** F(d1, d2) density up to its constant: x^(d1/2 − 1) (1 + d1 x / d2)^(−(d1+d2)/2). */
export const fKernel = (d1: number, d2: number) => (x: number) =>
  x === 0 ? (d1 === 2 ? 1 : 0) : Math.exp((d1 / 2 - 1) * Math.log(x) - ((d1 + d2) / 2) * Math.log1p((d1 * x) / d2));
