/**
 * Multi-head self-attention, fast pure-JavaScript version of `multiHeadSelfAttention`.
 *
 * Why it exists: the plain kernel (`attention.ts`) walks the packed `[tokens, 3H]` buffer with
 * strides of 3H floats and does one multiply-add per two loads; it reaches about 0.2 GFLOPS,
 * so at 256 tokens the attention of a layer took longer than its four linear layers. This
 * version does the same arithmetic, in the same order, at several GFLOPS by
 *   1. copying each head's queries, keys and values once into contiguous float64 blocks
 *      (keys and values in panels of 4, the layout `linear-packed.ts` uses for weights);
 *   2. computing scores and context as two small matrix products with 2×4 register tiles:
 *      8 accumulators in local variables, fed by 6 loads per step;
 *   3. handling queries two at a time, so only two rows of scores are ever stored.
 *
 * Exactness: every score is Σ_c q_i[c]·k_j[c] for c = 0, 1, … from 0 in float64, times 1/√d,
 * plus the mask; the softmax is the same `softmaxInPlace`; every context value is
 * Σ_j p_ij·v_j[c] for j = 0, 1, … from 0 in float64, rounded to float32 once. That is what the
 * plain kernel computes, operation for operation, so the outputs are bit-identical (the tests
 * check this). The blocks hold float32 values widened to float64, which is exact.
 *
 * Dimensions:
 *   L  sequence length (rows seqStart … seqStart+L−1 of the packed batch)
 *   A  number of heads, d head size, H = A·d hidden size
 *   Pk ⌈L/4⌉ key panels, Pv ⌈d/4⌉ value panels (4 keys, or 4 value columns, per panel)
 *
 * Per head h, with Q_h, K_h, V_h the head's [L, d] slices of `qkv`:
 *
 *   queries    [L, d]         q_i[c]                        (a copy of Q_h)
 *   keyPanels  [Pk, d, 4]     keyPanels[p, c, t] = k_{4p+t}[c]   (K_hᵀ by panels, zero padded)
 *   valuePanels[Pv, L, 4]     valuePanels[p, j, t] = v_j[4p+t]   (V_h by panels, zero padded)
 *
 *   for each pair of queries i, i+1:
 *     scores[r, j] = (q_{i+r} · k_j) / √d + mask[j]      2×4 tiles over (queries, key panels)
 *     softmax of each row
 *     context[i+r, h·d + c] = Σ_j P[r, j] · v_j[c]        2×4 tiles over (queries, value panels)
 *
 * Left out: threads, and any change of arithmetic (no pre-scaled queries, no approximate exp):
 * this kernel must agree exactly with the plain one.
 */

import {
  checkAttentionArguments,
  type AttentionProbsObserver,
  type AttentionScratch,
  type AttentionShape,
} from './attention.ts';
import { softmaxInPlace } from './softmax.ts';

/** Keys (or value columns) per panel: the width of a register tile. */
const PANEL_WIDTH = 4;

/**
 * Same contract and same results as `multiHeadSelfAttention` (see `attention.ts`).
 *
 * @param context      [tokens, H]   rows seqStart .. seqStart+L−1 written
 * @param qkv          [tokens, 3H]
 * @param scratch      from `createAttentionScratch(≥ L, d)`
 * @param additiveMask [L] or null   added to every row of scores
 * @param observeProbs called with each row of probabilities, as the plain kernel does
 */
export function multiHeadSelfAttentionFast(
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
  const L = seqLength;
  const rowStride = scratch.maxLength; // distance between the two rows of `scores`
  const scale = 1 / Math.sqrt(headSize);
  const { queries, keyPanels, valuePanels, scores, scoreRows } = scratch;
  const keyPanelCount = Math.ceil(L / PANEL_WIDTH);
  const valuePanelCount = Math.ceil(headSize / PANEL_WIDTH);

  for (let h = 0; h < numHeads; h++) {
    packHead(queries, keyPanels, valuePanels, qkv, seqStart, L, numHeads, headSize, h);
    const outColumn = h * headSize; // this head's columns in `context`
    let i = 0;
    for (; i < L; i += 2) {
      const pair = i + 1 < L; // false for the last query of an odd length
      // scores rows 0 and 1: queries i and i+1
      for (let p = 0; p < keyPanelCount; p++) {
        if (pair) scoreTile2x4(scores, queries, keyPanels, additiveMask, i, p, L, headSize, rowStride, scale);
        else scoreTile1x4(scores, queries, keyPanels, additiveMask, i, p, L, headSize, scale);
      }
      softmaxInPlace(scores, 0, L);
      if (observeProbs) observeProbs(h, i, scoreRows[0], L);
      if (pair) {
        softmaxInPlace(scores, rowStride, L);
        if (observeProbs) observeProbs(h, i + 1, scoreRows[1], L);
      }
      for (let p = 0; p < valuePanelCount; p++) {
        if (pair) contextTile2x4(context, scores, valuePanels, seqStart + i, outColumn, numHeads * headSize, p, L, headSize, rowStride);
        else contextTile1x4(context, scores, valuePanels, seqStart + i, outColumn, numHeads * headSize, p, L, headSize);
      }
    }
  }
}

/** Copies head h of rows seqStart … seqStart+L−1 of `qkv` into the three blocks (header layout). */
function packHead(
  queries: Float64Array, // [L, d]
  keyPanels: Float64Array, // [Pk, d, 4]
  valuePanels: Float64Array, // [Pv, L, 4]
  qkv: Float32Array, // [tokens, 3H]
  seqStart: number,
  L: number,
  numHeads: number,
  d: number,
  h: number,
): void {
  const H = numHeads * d;
  const keyPanelCount = Math.ceil(L / PANEL_WIDTH);
  const valuePanelCount = Math.ceil(d / PANEL_WIDTH);
  for (let j = 0; j < L; j++) {
    const q = (seqStart + j) * 3 * H + h * d; // q_j[0]; k_j[0] is at q + H, v_j[0] at q + 2H
    const keyAt = (j >> 2) * d * PANEL_WIDTH + (j & 3); // keyPanels[j/4, 0, j%4]
    const valueAt = j * PANEL_WIDTH; // valuePanels[0, j, 0]
    for (let c = 0; c < d; c++) {
      queries[j * d + c] = qkv[q + c];
      keyPanels[keyAt + c * PANEL_WIDTH] = qkv[q + H + c];
      valuePanels[(c >> 2) * L * PANEL_WIDTH + valueAt + (c & 3)] = qkv[q + 2 * H + c];
    }
  }
  // Padding lanes: keys past L in the last key panel, columns past d in the last value panel.
  for (let j = L; j < keyPanelCount * PANEL_WIDTH; j++) {
    const keyAt = (j >> 2) * d * PANEL_WIDTH + (j & 3);
    for (let c = 0; c < d; c++) keyPanels[keyAt + c * PANEL_WIDTH] = 0;
  }
  for (let c = d; c < valuePanelCount * PANEL_WIDTH; c++) {
    for (let j = 0; j < L; j++) valuePanels[(c >> 2) * L * PANEL_WIDTH + j * PANEL_WIDTH + (c & 3)] = 0;
  }
}

/** scores[r, 4p … 4p+3] for queries i + r, r = 0, 1: the hot loop of the scores. */
function scoreTile2x4(
  scores: Float64Array, // [2, rowStride]
  queries: Float64Array, // [L, d]
  keyPanels: Float64Array, // [Pk, d, 4]
  mask: Float32Array | null, // [L]
  i: number,
  p: number,
  L: number,
  d: number,
  rowStride: number,
  scale: number,
): void {
  let s00 = 0, s01 = 0, s02 = 0, s03 = 0; // s_rt: query i + r, key 4p + t
  let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  let k = (p * d * PANEL_WIDTH) | 0; // keyPanels[p, c, 0]
  let q0 = (i * d) | 0; // queries[i, c]
  let q1 = (q0 + d) | 0; // queries[i + 1, c]
  const q0End = (q0 + d) | 0;
  while (q0 < q0End) {
    const k0 = keyPanels[k], k1 = keyPanels[(k + 1) | 0], k2 = keyPanels[(k + 2) | 0], k3 = keyPanels[(k + 3) | 0];
    const a = queries[q0];
    s00 += a * k0; s01 += a * k1; s02 += a * k2; s03 += a * k3;
    const b = queries[q1];
    s10 += b * k0; s11 += b * k1; s12 += b * k2; s13 += b * k3;
    k = (k + PANEL_WIDTH) | 0;
    q0 = (q0 + 1) | 0;
    q1 = (q1 + 1) | 0;
  }
  const j = p * PANEL_WIDTH;
  storeScores(scores, 0, mask, j, L, scale, s00, s01, s02, s03);
  storeScores(scores, rowStride, mask, j, L, scale, s10, s11, s12, s13);
}

/** scores[0, 4p … 4p+3] for query i alone (the last one of an odd length). */
function scoreTile1x4(
  scores: Float64Array, // [1, ≥ L]
  queries: Float64Array, // [L, d]
  keyPanels: Float64Array, // [Pk, d, 4]
  mask: Float32Array | null, // [L]
  i: number,
  p: number,
  L: number,
  d: number,
  scale: number,
): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let k = (p * d * PANEL_WIDTH) | 0;
  let q0 = (i * d) | 0;
  const q0End = (q0 + d) | 0;
  while (q0 < q0End) {
    const a = queries[q0];
    s0 += a * keyPanels[k]; s1 += a * keyPanels[(k + 1) | 0];
    s2 += a * keyPanels[(k + 2) | 0]; s3 += a * keyPanels[(k + 3) | 0];
    k = (k + PANEL_WIDTH) | 0;
    q0 = (q0 + 1) | 0;
  }
  storeScores(scores, 0, mask, p * PANEL_WIDTH, L, scale, s0, s1, s2, s3);
}

/** scores[row + j + t] = s_t / √d + mask[j + t] for the keys j + t < L (padding keys dropped). */
function storeScores(
  scores: Float64Array,
  row: number,
  mask: Float32Array | null,
  j: number,
  L: number,
  scale: number,
  s0: number,
  s1: number,
  s2: number,
  s3: number,
): void {
  if (mask === null) {
    scores[row + j] = s0 * scale;
    if (j + 1 < L) scores[row + j + 1] = s1 * scale;
    if (j + 2 < L) scores[row + j + 2] = s2 * scale;
    if (j + 3 < L) scores[row + j + 3] = s3 * scale;
  } else {
    scores[row + j] = s0 * scale + mask[j];
    if (j + 1 < L) scores[row + j + 1] = s1 * scale + mask[j + 1];
    if (j + 2 < L) scores[row + j + 2] = s2 * scale + mask[j + 2];
    if (j + 3 < L) scores[row + j + 3] = s3 * scale + mask[j + 3];
  }
}

/** context[row + r, column + 4p … 4p+3] = Σ_j P[r, j]·v_j for r = 0, 1: the hot loop of the context. */
function contextTile2x4(
  context: Float32Array, // [tokens, H]
  probs: Float64Array, // [2, rowStride]
  valuePanels: Float64Array, // [Pv, L, 4]
  row: number,
  column: number,
  H: number,
  p: number,
  L: number,
  d: number,
  rowStride: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0; // c_rt: query row + r, column 4p + t
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let v = (p * L * PANEL_WIDTH) | 0; // valuePanels[p, j, 0]
  let p0 = 0; // probs[0, j]
  let p1 = rowStride | 0; // probs[1, j]
  while (p0 < L) {
    const v0 = valuePanels[v], v1 = valuePanels[(v + 1) | 0], v2 = valuePanels[(v + 2) | 0], v3 = valuePanels[(v + 3) | 0];
    const a = probs[p0];
    c00 += a * v0; c01 += a * v1; c02 += a * v2; c03 += a * v3;
    const b = probs[p1];
    c10 += b * v0; c11 += b * v1; c12 += b * v2; c13 += b * v3;
    v = (v + PANEL_WIDTH) | 0;
    p0 = (p0 + 1) | 0;
    p1 = (p1 + 1) | 0;
  }
  const c = p * PANEL_WIDTH;
  const o = row * H + column + c;
  storeContext(context, o, d - c, c00, c01, c02, c03);
  storeContext(context, o + H, d - c, c10, c11, c12, c13);
}

/** context[row, column + 4p … 4p+3] for one query row (the last one of an odd length). */
function contextTile1x4(
  context: Float32Array, // [tokens, H]
  probs: Float64Array, // [1, ≥ L]
  valuePanels: Float64Array, // [Pv, L, 4]
  row: number,
  column: number,
  H: number,
  p: number,
  L: number,
  d: number,
): void {
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  let v = (p * L * PANEL_WIDTH) | 0;
  let p0 = 0;
  while (p0 < L) {
    const a = probs[p0];
    c0 += a * valuePanels[v]; c1 += a * valuePanels[(v + 1) | 0];
    c2 += a * valuePanels[(v + 2) | 0]; c3 += a * valuePanels[(v + 3) | 0];
    v = (v + PANEL_WIDTH) | 0;
    p0 = (p0 + 1) | 0;
  }
  const c = p * PANEL_WIDTH;
  storeContext(context, row * H + column + c, d - c, c0, c1, c2, c3);
}

/** Stores the first `width` (≤ 4 used) of four sums at context[o …], rounding to float32. */
function storeContext(context: Float32Array, o: number, width: number, c0: number, c1: number, c2: number, c3: number): void {
  context[o] = c0;
  if (width > 1) context[o + 1] = c1;
  if (width > 2) context[o + 2] = c2;
  if (width > 3) context[o + 3] = c3;
}
