/**
 * Pooling: one vector per sequence from its token vectors, then optional L2 normalisation.
 *
 *   mean: s = Σ_t h_t / (number of real tokens)   (all-MiniLM-L6-v2; only unmasked tokens count)
 *   cls:  s = h_0                                  (the [CLS] token, e.g. bge models)
 *   max:  s_i = max_t h_t,i
 *   normalise: s / max(‖s‖₂, 1e-12)               (sentence-transformers' Normalize module)
 *
 * The batch is packed (real tokens only), so "over the attention mask" is simply "over the
 * sequence's rows". Sums are float64. Hugging Face: sentence_transformers/models/Pooling.py.
 */

import type { TokenBatch } from './token-batch.ts';

export type PoolingMode = 'mean' | 'cls' | 'max';

/** Writes one [H] vector per sequence into `out` ([B, H]) from `hidden` ([T, H]). */
export function poolSequences(
  out: Float32Array,
  hidden: Float32Array,
  batch: TokenBatch,
  hiddenSize: number,
  mode: PoolingMode,
): void {
  const H = hiddenSize;
  const sum = new Float64Array(H);
  for (let b = 0; b + 1 < batch.sequenceStarts.length; b++) {
    const start = batch.sequenceStarts[b];
    const end = batch.sequenceStarts[b + 1];
    if (mode === 'cls') {
      out.set(hidden.subarray(start * H, start * H + H), b * H);
      continue;
    }
    sum.fill(mode === 'max' ? -Infinity : 0);
    for (let t = start; t < end; t++) {
      for (let i = 0; i < H; i++) {
        const v = hidden[t * H + i];
        sum[i] = mode === 'max' ? Math.max(sum[i], v) : sum[i] + v;
      }
    }
    const scale = mode === 'mean' ? 1 / (end - start) : 1;
    for (let i = 0; i < H; i++) out[b * H + i] = sum[i] * scale;
  }
}

/** Scales each of the `rows` vectors of `data` ([rows, dim]) to unit L2 norm, in place. */
export function normalizeRows(data: Float32Array, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    for (let i = 0; i < dim; i++) squares += data[r * dim + i] ** 2;
    const inv = 1 / Math.max(Math.sqrt(squares), 1e-12);
    for (let i = 0; i < dim; i++) data[r * dim + i] *= inv;
  }
}
