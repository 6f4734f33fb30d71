/**
 * The linear layer, plain version: `out = x · Wᵀ + b`.
 *
 * This is where a transformer spends almost all of its time (about 21 MFLOP per token for
 * all-MiniLM-L6-v2). This file is the readable reference: three nested loops, float64
 * accumulation. The fast kernels (`linear-packed.ts`, the optional SIMD backend) are tested
 * against it.
 *
 * Dimensions:
 *   rows         R  number of token vectors (all tokens of a batch, packed)
 *   inFeatures   K  length of each input vector
 *   outFeatures  N  length of each output vector
 *
 * The weight uses PyTorch's `nn.Linear` layout `[outFeatures, inFeatures]`, exactly as stored
 * in the checkpoint, so row n of W is the weight vector of output feature n.
 */

/**
 * out[r, n] = b[n] + Σ_k x[r, k] · W[n, k]
 *
 * @param out    [rows, outFeatures]   written, not read
 * @param x      [rows, inFeatures]
 * @param weight [outFeatures, inFeatures]
 * @param bias   [outFeatures] or null
 */
export function linear(
  out: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array | null,
  rows: number,
  inFeatures: number,
  outFeatures: number,
): void {
  for (let r = 0; r < rows; r++) {
    const xRow = r * inFeatures;
    for (let n = 0; n < outFeatures; n++) {
      const wRow = n * inFeatures;
      // Accumulate in float64 (a JS number): more accurate than float32, and free in JS.
      let sum = bias === null ? 0 : bias[n];
      for (let k = 0; k < inFeatures; k++) sum += x[xRow + k] * weight[wRow + k];
      out[r * outFeatures + n] = sum;
    }
  }
}
