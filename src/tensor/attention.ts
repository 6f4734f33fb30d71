/**
 * Scaled dot-product multi-head self-attention over one sequence.
 *
 *   for each head h:  P = softmax(Q_h K_hᵀ / √d + mask),  context_h = P V_h
 *
 * Dimensions:
 *   L  sequence length (rows of this sequence, starting at row `seqStart` of the packed batch)
 *   A  number of heads, d head size, H = A·d hidden size
 *
 * Layout: `qkv` is the output of the fused query/key/value projection, [tokens, 3H]; row t holds
 * q_t in columns [0, H), k_t in [H, 2H), v_t in [2H, 3H), and head h owns columns [h·d, (h+1)·d)
 * of each third (this is how Hugging Face's `transpose_for_scores` splits heads).
 *
 * The additive mask is what Hugging Face BERT uses for padding: 0 for keys that may be attended
 * to, a huge negative number (here −Infinity) for padded keys, so exp() gives them weight 0.
 * The model itself never needs it (it packs real tokens only, see `model/bert.ts`), but the
 * kernel keeps it so padded and unpadded inputs can be compared in tests.
 */

import { softmaxInPlace } from './softmax.ts';

export interface AttentionShape {
  numHeads: number; // A
  headSize: number; // d
}

/** Float64 scratch rows, allocated once by the caller for the longest sequence. */
export interface AttentionScratch {
  scores: Float64Array; // [≥ L]  one row of scores, then probabilities
  accumulator: Float64Array; // [≥ d]  one head's context row
}

/** A scratch big enough for sequences up to `maxLength` tokens. */
export function createAttentionScratch(maxLength: number, headSize: number): AttentionScratch {
  return { scores: new Float64Array(maxLength), accumulator: new Float64Array(headSize) };
}

/** Called with each head's attention probabilities for one query row, when tracing. */
export type AttentionProbsObserver = (head: number, query: number, probs: Float64Array, length: number) => void;

/**
 * context[seqStart + i, h·d : (h+1)·d] = Σ_j P_h[i, j] · v_{seqStart + j}[h·d : (h+1)·d]
 *
 * @param context      [tokens, H]   rows seqStart .. seqStart+L−1 written
 * @param qkv          [tokens, 3H]
 * @param scratch      float64 rows for one query at a time (see `createAttentionScratch`)
 * @param additiveMask [L] or null   added to every row of scores
 */
export function multiHeadSelfAttention(
  context: Float32Array,
  qkv: Float32Array,
  seqStart: number,
  seqLength: number,
  shape: AttentionShape,
  scratch: AttentionScratch,
  additiveMask: Float32Array | null = null,
  observeProbs?: AttentionProbsObserver,
): void {
  const { numHeads, headSize } = shape;
  const hidden = numHeads * headSize;
  const qkvStride = 3 * hidden;
  const scale = 1 / Math.sqrt(headSize);
  const { scores, accumulator } = scratch;

  for (let h = 0; h < numHeads; h++) {
    const qCol = h * headSize; // this head's columns in the query third
    const kCol = hidden + qCol; // ... in the key third
    const vCol = 2 * hidden + qCol; // ... in the value third
    for (let i = 0; i < seqLength; i++) {
      const qRow = (seqStart + i) * qkvStride + qCol;
      // scores[j] = q_i · k_j / √d + mask[j]
      for (let j = 0; j < seqLength; j++) {
        const kRow = (seqStart + j) * qkvStride + kCol;
        let dot = 0;
        for (let c = 0; c < headSize; c++) dot += qkv[qRow + c] * qkv[kRow + c];
        scores[j] = dot * scale + (additiveMask === null ? 0 : additiveMask[j]);
      }
      softmaxInPlace(scores, 0, seqLength);
      if (observeProbs) observeProbs(h, i, scores, seqLength);
      // context_i = Σ_j p_j · v_j, accumulated in float64, walking each v_j row contiguously
      accumulator.fill(0, 0, headSize);
      for (let j = 0; j < seqLength; j++) {
        const p = scores[j];
        const vRow = (seqStart + j) * qkvStride + vCol;
        for (let c = 0; c < headSize; c++) accumulator[c] += p * qkv[vRow + c];
      }
      const outRow = (seqStart + i) * hidden + qCol;
      for (let c = 0; c < headSize; c++) context[outRow + c] = accumulator[c];
    }
  }
}
