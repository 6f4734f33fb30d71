/**
 * Sentence pooling as sentence-transformers' Pooling module does it: one or several modes,
 * concatenated, with the prompt optionally left out.
 *
 *   H  hidden size      M  number of modes      B  sequences      T  packed tokens (all sequences)
 *
 *   cls                   s = h_0                          (the [CLS] row, always, as upstream)
 *   max                   s_i = max_t h_t,i                over the pooled rows
 *   mean                  s = Σ_t h_t / n                  n = number of pooled rows
 *   mean_sqrt_len_tokens  s = Σ_t h_t / √n
 *
 * The pooled rows of a sequence are all its tokens, or, when `skipRows[b]` > 0 (a prompt with
 * include_prompt = false), all but the first skipRows[b] ([CLS] + the prompt's tokens), exactly as
 * upstream zeroes the attention mask of those positions. With no row left, upstream's clamps give
 * mean 0 and max −1e9; so do we. Sums are float64.
 * Hugging Face: sentence_transformers/models/Pooling.py (`forward`). The single-mode version
 * without prompt handling is `poolSequences` in pooling.ts.
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
