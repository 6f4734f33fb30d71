/**
 * Pooling: one vector per sequence from its token vectors, then optional L2 normalisation.
 *
 *   H  hidden size      M  number of modes      B  sequences      T  packed tokens (all sequences)
 *
 *   mean                  s = Σ_t h_t / n                  (all-MiniLM-L6-v2; n = real tokens)
 *   cls                   s = h_0                          (the [CLS] row, e.g. bge models)
 *   max                   s_i = max_t h_t,i
 *   mean_sqrt_len_tokens  s = Σ_t h_t / √n
 *   normalise             s / max(‖s‖₂, 1e-12)             (sentence-transformers' Normalize module)
 *
 * The batch is packed (real tokens only), so "over the attention mask" is simply "over the
 * sequence's rows". Several modes are concatenated, as sentence-transformers' Pooling module does.
 * When `skipRows[b]` > 0 (a prompt with include_prompt = false) the first skipRows[b] rows
 * ([CLS] + the prompt's tokens) are left out, exactly as upstream zeroes the attention mask of
 * those positions; with no row left, upstream's clamps give mean 0 and max −1e9, and so do we.
 * Sums are float64. Hugging Face: sentence_transformers/models/Pooling.py (`forward`).
 */

import type { SentencePoolingMode } from './sentence-transformers-config.ts';

/** The value upstream writes into masked positions before taking the max. */
const MASKED_MAX = -1e9;

/**
 * Writes one [M·H] vector per sequence into `out` ([B, M·H]) from `hidden` ([T, H]); sequence b
 * owns rows sequenceStarts[b] .. sequenceStarts[b+1]−1.
 */
export function poolSentences(
  out: Float32Array,
  hidden: Float32Array,
  sequenceStarts: Int32Array,
  hiddenSize: number,
  modes: readonly SentencePoolingMode[],
  skipRows?: ArrayLike<number>,
): void {
  const H = hiddenSize;
  const width = modes.length * H;
  const B = sequenceStarts.length - 1;
  const sum = new Float64Array(H); // [H]
  const max = new Float64Array(H); // [H]
  for (let b = 0; b < B; b++) {
    const start = sequenceStarts[b]!;
    const end = sequenceStarts[b + 1]!;
    const first = Math.min(end, start + (skipRows?.[b] ?? 0)); // first pooled row
    const n = end - first;
    sum.fill(0);
    max.fill(n === 0 ? MASKED_MAX : -Infinity);
    for (let t = first; t < end; t++) {
      const row = t * H;
      for (let i = 0; i < H; i++) {
        const v = hidden[row + i]!;
        sum[i] += v;
        if (v > max[i]!) max[i] = v;
      }
    }
    const meanScale = 1 / Math.max(n, 1e-9);
    const sqrtScale = 1 / Math.sqrt(Math.max(n, 1e-9));
    for (let m = 0; m < modes.length; m++) {
      const at = b * width + m * H;
      switch (modes[m]) {
        case 'cls':
          out.set(hidden.subarray(start * H, start * H + H), at);
          break;
        case 'max':
          for (let i = 0; i < H; i++) out[at + i] = max[i]!;
          break;
        case 'mean':
          for (let i = 0; i < H; i++) out[at + i] = sum[i]! * meanScale;
          break;
        case 'mean_sqrt_len_tokens':
          for (let i = 0; i < H; i++) out[at + i] = sum[i]! * sqrtScale;
          break;
      }
    }
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
