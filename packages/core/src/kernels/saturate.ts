/**
 * In-place saturation kernel for the optimiser's hot loop (see `saturate`).
 */

/**
 * Replaces every value θ of `masks` by tanh(2ζ(θ − ½)) / (2 tanh ζ) + ½ (= θ + ε(θ), SPEC §6 step 4).
 * Computed as (1 − 2/(exp(4ζ(θ − ½)) + 1)) / (2 tanh ζ) + ½ (same function, cheaper than Math.tanh).
 * No validation: `zeta` must be > 0 (the caller checks options once). Allocation-free.
 * @example const m = Float32Array.of(0, 0.25, 1); saturateInPlace(m, 0.8); // m ≈ [0, 0.2139, 1]
 */
export function saturateInPlace(masks: Float32Array, zeta: number): void {
  // tanh(z) = 1 − 2 / (exp(2z) + 1): one exp is cheaper than Math.tanh in V8
  const a = 4 * zeta;
  const b = 1 / (2 * Math.tanh(zeta));
  for (let i = 0; i < masks.length; i++) {
    const e = Math.exp(a * ((masks[i] as number) - 0.5));
    masks[i] = (1 - 2 / (e + 1)) * b + 0.5;
  }
}
