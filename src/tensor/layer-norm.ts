/**
 * LayerNorm over the last dimension, and its fused twin "residual add + LayerNorm".
 *
 *   y = (x − mean(x)) / √(var(x) + eps) · γ + β        (biased variance, as PyTorch)
 *
 * Dimensions: rows R (tokens), dim D (hidden size). Every buffer is [R, D] row-major.
 *
 * BERT uses eps = 1e-12 (GPT-2 uses 1e-5): with activations of size ~1 it is far below float32
 * resolution, so it only guards against a zero variance; it comes from config.json.
 * Mean and variance are computed in float64 (two passes: mean first, then squared deviations),
 * which avoids the cancellation of the one-pass E[x²] − E[x]² formula.
 */

/** out = LayerNorm(x). `out` may be the same array as `x`. */
export function layerNorm(
  out: Float32Array,
  x: Float32Array,
  gamma: Float32Array, // [D]
  beta: Float32Array, // [D]
  rows: number,
  dim: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) normalizeRow(out, x, null, r * dim, gamma, beta, dim, eps);
}

/**
 * out = LayerNorm(x + residual), the "Add & Norm" that closes both halves of a BERT layer.
 * Fused so the sum is never written to memory: one sweep instead of two.
 * Plain version: add `residual` into `x`, then call `layerNorm`. `out` may alias `x` or `residual`.
 */
export function addLayerNorm(
  out: Float32Array,
  x: Float32Array,
  residual: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  rows: number,
  dim: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) normalizeRow(out, x, residual, r * dim, gamma, beta, dim, eps);
}

/** Normalises one row starting at `offset`, adding `residual` first when it is given. */
function normalizeRow(
  out: Float32Array,
  x: Float32Array,
  residual: Float32Array | null,
  offset: number,
  gamma: Float32Array,
  beta: Float32Array,
  dim: number,
  eps: number,
): void {
  // The (x + residual) row; the sum stays in float64 (more accurate than storing it as float32).
  const value = (i: number): number => (residual === null ? x[offset + i] : x[offset + i] + residual[offset + i]);
  let sum = 0;
  for (let i = 0; i < dim; i++) sum += value(i);
  const mean = sum / dim;
  let squares = 0;
  for (let i = 0; i < dim; i++) {
    const d = value(i) - mean;
    squares += d * d;
  }
  const invStd = 1 / Math.sqrt(squares / dim + eps);
  for (let i = 0; i < dim; i++) out[offset + i] = (value(i) - mean) * invStd * gamma[i] + beta[i];
}
