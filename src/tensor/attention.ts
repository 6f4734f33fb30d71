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
 *
 * This is the plain, readable kernel: three loops straight from the formula. The model runs its
 * fast twin, `multiHeadSelfAttentionFast` in `attention-fast.ts`, which gives bit-identical
 * results several times faster; the tests hold the two together.
 */

import { LARGEST_CURSOR } from './linear-packed.ts';
import { softmaxInPlace } from './softmax.ts';

export interface AttentionShape {
  numHeads: number; // A
  headSize: number; // d
}

/** Bad shapes or buffers passed to an attention kernel. */
export class AttentionShapeError extends Error {
  override name = 'AttentionShapeError';
}

/**
 * Float64 work buffers, allocated once by the caller for the longest sequence and one head size.
 * The plain kernel uses score row 0 and `accumulator`; the fast one (`attention-fast.ts`) uses
 * both score rows and the three per-head blocks, whose layouts it documents.
 *   L_max longest sequence, S = 4·⌈L_max/4⌉ score row stride (whole panels of 4 keys)
 */
export interface AttentionScratch {
  readonly maxLength: number; // L_max
  readonly headSize: number; // d
  readonly scoreRowStride: number; // S
  readonly scores: Float64Array; // [2, S]  two rows of scores, then probabilities
  readonly scoreRows: readonly [Float64Array, Float64Array]; // views of rows 0 and 1, [S] each
  readonly accumulator: Float64Array; // [d]  one context row (plain kernel)
  readonly queries: Float64Array; // [L_max, d]  one head's queries (fast kernel)
  readonly keyPanels: Float64Array; // [S/4, d, 4]  one head's keys, in panels of 4 keys
  readonly valuePanels: Float64Array; // [⌈d/4⌉, L_max, 4]  one head's values, in panels of 4 columns
}

/** A scratch big enough for sequences up to `maxLength` tokens and heads of `headSize`. */
export function createAttentionScratch(maxLength: number, headSize: number): AttentionScratch {
  for (const [name, value] of [['maxLength', maxLength], ['headSize', headSize]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new AttentionShapeError(`attention scratch: ${name} must be a positive integer, got ${value}`);
    }
  }
  const S = Math.ceil(maxLength / 4) * 4;
  // The fast kernel's cursors are masked to [0, 2^30) (see "Cursors" in linear-packed.ts): no
  // block of this scratch may hold more floats than that.
  const largestBlock = Math.max(2 * S, S * Math.ceil(headSize / 4) * 4);
  if (largestBlock > LARGEST_CURSOR) {
    throw new AttentionShapeError(
      `attention scratch: ${maxLength} tokens × head size ${headSize} is past the fast kernel's index limit (${LARGEST_CURSOR} floats)`,
    );
  }
  const scores = new Float64Array(2 * S);
  return {
    maxLength,
    headSize,
    scoreRowStride: S,
    scores,
    scoreRows: [scores.subarray(0, S), scores.subarray(S)],
    accumulator: new Float64Array(headSize),
    queries: new Float64Array(maxLength * headSize),
    keyPanels: new Float64Array(S * headSize),
    valuePanels: new Float64Array(Math.ceil(headSize / 4) * 4 * maxLength),
  };
}

/**
 * Runs `computeHead(start, length, head)` for items [first, end) of a batch's attention step,
 * item k being head k mod A of sequence ⌊k / A⌋: the numbering by which threads share the
 * (sequence, head) pairs (`LinearBackend.attention`). sequenceStarts: [B + 1] (or longer).
 */
export function computeAttentionItems(
  sequenceStarts: ArrayLike<number>,
  numHeads: number,
  first: number,
  end: number,
  computeHead: (start: number, length: number, head: number) => void,
): void {
  for (let item = first; item < end; item++) {
    const sequence = Math.floor(item / numHeads);
    const start = sequenceStarts[sequence]!;
    computeHead(start, sequenceStarts[sequence + 1]! - start, item % numHeads);
  }
}

/**
 * The checks for an attention step over a whole packed batch (`LinearBackend.attention`): every
 * sequence as `checkAttentionArguments` checks it. Returns the multiply-adds the step takes
 * (scores and context: 2·L²·d per head), by which a backend decides whether to share it.
 */
export function checkBatchAttention(
  context: Float32Array,
  qkv: Float32Array,
  sequenceStarts: Int32Array,
  shape: AttentionShape,
  scratch: AttentionScratch,
): number {
  let multiplyAdds = 0;
  for (let b = 0; b + 1 < sequenceStarts.length; b++) {
    const length = sequenceStarts[b + 1]! - sequenceStarts[b]!;
    checkAttentionArguments(context, qkv, sequenceStarts[b]!, length, shape, scratch, null);
    multiplyAdds += 2 * length * length * shape.numHeads * shape.headSize;
  }
  return multiplyAdds;
}

/**
 * The checks shared by both kernels, so that neither reads past an array (which in JavaScript
 * yields `undefined`, then NaN, silently) nor writes outside its sequence's rows.
 */
export function checkAttentionArguments(
  context: Float32Array,
  qkv: Float32Array,
  seqStart: number,
  seqLength: number,
  shape: AttentionShape,
  scratch: AttentionScratch,
  additiveMask: Float32Array | null,
): void {
  const { numHeads, headSize } = shape;
  if (!Number.isSafeInteger(numHeads) || numHeads < 1 || !Number.isSafeInteger(headSize) || headSize < 1) {
    throw new AttentionShapeError(`numHeads and headSize must be positive integers, got ${numHeads} and ${headSize}`);
  }
  if (!Number.isSafeInteger(seqStart) || seqStart < 0 || !Number.isSafeInteger(seqLength) || seqLength < 1) {
    throw new AttentionShapeError(`sequence must have an integer start ≥ 0 and length ≥ 1, got start ${seqStart}, length ${seqLength}`);
  }
  const hidden = numHeads * headSize;
  const end = seqStart + seqLength;
  if (qkv.length < end * 3 * hidden) {
    throw new AttentionShapeError(`qkv has ${qkv.length} floats, rows up to ${end} × 3H (H = ${hidden}) need ${end * 3 * hidden}`);
  }
  if (context.length < end * hidden) {
    throw new AttentionShapeError(`context has ${context.length} floats, rows up to ${end} × H (H = ${hidden}) need ${end * hidden}`);
  }
  if (scratch.maxLength < seqLength || scratch.headSize !== headSize) {
    throw new AttentionShapeError(
      `attention scratch was made for ≤ ${scratch.maxLength} tokens and head size ${scratch.headSize}, ` +
        `the sequence has ${seqLength} tokens and head size ${headSize}`,
    );
  }
  if (additiveMask !== null && additiveMask.length < seqLength) {
    throw new AttentionShapeError(`additive mask has ${additiveMask.length} entries, the sequence has ${seqLength} tokens`);
  }
  if (context.buffer === qkv.buffer) {
    const contextStart = context.byteOffset + seqStart * hidden * 4, contextEnd = context.byteOffset + end * hidden * 4;
    const qkvStart = qkv.byteOffset + seqStart * 3 * hidden * 4, qkvEnd = qkv.byteOffset + end * 3 * hidden * 4;
    if (contextStart < qkvEnd && qkvStart < contextEnd) {
      throw new AttentionShapeError('context overlaps qkv: the kernel would read its own output');
    }
  }
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
  checkAttentionArguments(context, qkv, seqStart, seqLength, shape, scratch, additiveMask);
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
