/**
 * Multi-head self-attention, fast pure-JavaScript version of `multiHeadSelfAttention`.
 *
 * Why it exists: the plain kernel (`attention.ts`) walks the packed `[tokens, 3H]` buffer with
 * strides of 3H floats and does one multiply-add per two loads, at about 0.2–0.9 GFLOPS; at 256
 * tokens the attention of a layer took longer than its four linear layers. This version does
 * the same arithmetic, in the same order, about 3× faster, by
 *   1. copying each head's queries, keys and values once into contiguous float64 blocks (keys
 *      and values in panels of 4, so that a 2×4 tile reads 4 adjacent numbers per step);
 *   2. computing scores and context as two small matrix products with 2×4 register tiles:
 *      8 accumulators in local variables, fed by 6 loads per step (see `linear-packed.ts` for
 *      why 2×4 and not 4×4 on V8);
 *   3. taking the queries two at a time, so only two rows of scores are ever stored.
 * What is left is mostly Math.exp in the softmax (about a quarter of the time).
 * The tiles' cursors are masked to [0, 2^30) as in `linear-packed.ts` (see "Cursors" there);
 * `createAttentionScratch` refuses a scratch with a block longer than that.
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
 *   S  row stride of the two score rows, a multiple of 4 (from the scratch)
 *
 * Per head h, with q_j, k_j, v_j the head's slices [d] of token j of the sequence:
 *
 *   queries     [L, d]       queries[j, c]        = q_j[c]
 *   keyPanels   [Pk, d, 4]   keyPanels[p, c, t]   = k_{4p+t}[c]    (unused lanes past the last key)
 *   valuePanels [Pv, L, 4]   valuePanels[p, j, t] = v_j[4p+t]      (unused lanes past column d)
 *
 *   for each pair of queries i, i+1 (the last one alone if L is odd):
 *     scores[r, j] = (q_{i+r} · k_j) / √d + mask[j]     2×4 tiles: (queries i, i+1) × (keys 4p … 4p+3)
 *     softmax of each row
 *     context[i+r, h·d + c] = Σ_j P[r, j] · v_j[c]       2×4 tiles: (queries i, i+1) × (columns 4p … 4p+3)
 *
 * Threads: heads are independent; the threaded backends hand (sequence, head) pairs to their
 * workers, each running `attentionHeadFast` with its own scratch.
 *
 * Left out: any change of arithmetic (no pre-scaled queries, no approximate exp): this kernel
 * must agree exactly with the plain one.
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
  for (let h = 0; h < shape.numHeads; h++) {
    attentionHeadFast(context, qkv, seqStart, seqLength, shape, scratch, h, additiveMask, observeProbs);
  }
}

/**
 * One head of `multiHeadSelfAttentionFast`: writes context columns h·d … h·d+d−1 of the
 * sequence's rows. Heads are independent, so threads may take different (sequence, head) pairs
 * (see the `attention` of the threaded backends); arguments are those of the caller above,
 * already checked.
 */
export function attentionHeadFast(
  context: Float32Array,
  qkv: Float32Array,
  seqStart: number,
  seqLength: number,
  shape: AttentionShape,
  scratch: AttentionScratch,
  h: number,
  additiveMask: Float32Array | null = null,
  observeProbs?: AttentionProbsObserver,
): void {
  const { numHeads, headSize: d } = shape;
  const L = seqLength;
  const H = numHeads * d;
  const scale = 1 / Math.sqrt(d);
  const { queries, keyPanels, valuePanels, scores, scoreRows, scoreRowStride: S } = scratch;

  packHead(queries, keyPanels, valuePanels, qkv, seqStart, L, H, d, h);
  const column = h * d; // this head's first column in `context`
  for (let i = 0; i < L; i += 2) {
    const pair = i + 1 < L; // false for the last query of an odd length
    // scores rows 0 and 1: queries i and i+1
    if (pair) scoresForQueryPair(scores, queries, keyPanels, i, L, d, S, scale);
    else scoresForQuery(scores, queries, keyPanels, i, L, d, scale);
    // scores → probabilities, row by row (as in the plain kernel: mask, softmax, observer)
    if (additiveMask !== null) addMask(scores, 0, additiveMask, L);
    softmaxInPlace(scores, 0, L);
    if (observeProbs) observeProbs(h, i, scoreRows[0], L);
    if (pair) {
      if (additiveMask !== null) addMask(scores, S, additiveMask, L);
      softmaxInPlace(scores, S, L);
      if (observeProbs) observeProbs(h, i + 1, scoreRows[1], L);
    }
    if (pair) contextForQueryPair(context, scores, valuePanels, seqStart + i, column, H, L, d, S);
    else contextForQuery(context, scores, valuePanels, seqStart + i, column, H, L, d);
  }
}

/**
 * Copies head h of rows seqStart … seqStart+L−1 of `qkv` into the three blocks (header layout).
 * The padding lanes (keys past L, columns past d) keep whatever they held: each lane has its own
 * accumulator, and the scores and context values they produce are never read or stored.
 */
function packHead(
  queries: Float64Array, // [L, d]
  keyPanels: Float64Array, // [Pk, d, 4]
  valuePanels: Float64Array, // [Pv, L, 4]
  qkv: Float32Array, // [tokens, 3H]
  seqStart: number,
  L: number,
  H: number,
  d: number,
  h: number,
): void {
  for (let j = 0; j < L; j++) {
    const q = (seqStart + j) * 3 * H + h * d; // q_j[0] in qkv; k_j[0] is at q + H, v_j[0] at q + 2H
    const keyAt = (j >> 2) * d * PANEL_WIDTH + (j & 3); // keyPanels[j/4, 0, j%4]
    for (let c = 0; c < d; c++) {
      queries[j * d + c] = qkv[q + c];
      keyPanels[keyAt + c * PANEL_WIDTH] = qkv[q + H + c];
      valuePanels[(c >> 2) * L * PANEL_WIDTH + j * PANEL_WIDTH + (c & 3)] = qkv[q + 2 * H + c];
    }
  }
}

/**
 * scores[r, j] = (q_{i+r} · k_j) / √d for r = 0, 1 and every key j: the hot loop of the scores.
 * Keys past L (padding of the last panel) get a score too, in the row's padding; it is never read.
 */
function scoresForQueryPair(
  scores: Float64Array, // [2, S]
  queries: Float64Array, // [L, d]
  keyPanels: Float64Array, // [Pk, d, 4]
  i: number,
  L: number,
  d: number,
  S: number,
  scale: number,
): void {
  const CURSOR_MASK = 0x3fffffff; // = LARGEST_CURSOR: non-negative cursors, see "Cursors" in linear-packed.ts
  const keyPanelCount = Math.ceil(L / PANEL_WIDTH);
  for (let p = 0; p < keyPanelCount; p++) {
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0; // s_rt: query i + r, key 4p + t
    let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    let k = (p * d * PANEL_WIDTH) & CURSOR_MASK; // keyPanels[p, c, 0]
    let q0 = (i * d) & CURSOR_MASK; // queries[i, c]
    let q1 = (q0 + d) & CURSOR_MASK; // queries[i + 1, c]
    const q0End = (q0 + d) & CURSOR_MASK;
    while (q0 < q0End) {
      const k0 = keyPanels[k], k1 = keyPanels[k + 1], k2 = keyPanels[k + 2], k3 = keyPanels[k + 3];
      const a = queries[q0];
      s00 += a * k0; s01 += a * k1; s02 += a * k2; s03 += a * k3;
      const b = queries[q1];
      s10 += b * k0; s11 += b * k1; s12 += b * k2; s13 += b * k3;
      k = (k + PANEL_WIDTH) & CURSOR_MASK;
      q0 = (q0 + 1) & CURSOR_MASK;
      q1 = (q1 + 1) & CURSOR_MASK;
    }
    const o = p * PANEL_WIDTH; // scores[0, 4p]
    scores[o] = s00 * scale; scores[o + 1] = s01 * scale; scores[o + 2] = s02 * scale; scores[o + 3] = s03 * scale;
    const o1 = o + S; // scores[1, 4p]
    scores[o1] = s10 * scale; scores[o1 + 1] = s11 * scale; scores[o1 + 2] = s12 * scale; scores[o1 + 3] = s13 * scale;
  }
}

/** scores[0, j] = (q_i · k_j) / √d for every key j: query i alone (the last one of an odd length). */
function scoresForQuery(
  scores: Float64Array, // [1, S]
  queries: Float64Array, // [L, d]
  keyPanels: Float64Array, // [Pk, d, 4]
  i: number,
  L: number,
  d: number,
  scale: number,
): void {
  const CURSOR_MASK = 0x3fffffff; // = LARGEST_CURSOR: non-negative cursors, see "Cursors" in linear-packed.ts
  const keyPanelCount = Math.ceil(L / PANEL_WIDTH);
  for (let p = 0; p < keyPanelCount; p++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let k = (p * d * PANEL_WIDTH) & CURSOR_MASK;
    let q0 = (i * d) & CURSOR_MASK;
    const q0End = (q0 + d) & CURSOR_MASK;
    while (q0 < q0End) {
      const a = queries[q0];
      s0 += a * keyPanels[k]; s1 += a * keyPanels[k + 1];
      s2 += a * keyPanels[k + 2]; s3 += a * keyPanels[k + 3];
      k = (k + PANEL_WIDTH) & CURSOR_MASK;
      q0 = (q0 + 1) & CURSOR_MASK;
    }
    const o = p * PANEL_WIDTH;
    scores[o] = s0 * scale; scores[o + 1] = s1 * scale; scores[o + 2] = s2 * scale; scores[o + 3] = s3 * scale;
  }
}

/** row[j] += mask[j] for the L keys: the same float64 addition the plain kernel does. */
function addMask(scores: Float64Array, row: number, mask: Float32Array, L: number): void {
  for (let j = 0; j < L; j++) scores[row + j] += mask[j];
}

/** context[row + r, column + c] = Σ_j P[r, j]·v_j[c] for r = 0, 1: the hot loop of the context. */
function contextForQueryPair(
  context: Float32Array, // [tokens, H]
  probs: Float64Array, // [2, S]
  valuePanels: Float64Array, // [Pv, L, 4]
  row: number,
  column: number,
  H: number,
  L: number,
  d: number,
  S: number,
): void {
  const CURSOR_MASK = 0x3fffffff; // = LARGEST_CURSOR: non-negative cursors, see "Cursors" in linear-packed.ts
  const valuePanelCount = Math.ceil(d / PANEL_WIDTH);
  for (let p = 0; p < valuePanelCount; p++) {
    let c00 = 0, c01 = 0, c02 = 0, c03 = 0; // c_rt: query row + r, column 4p + t
    let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
    let v = (p * L * PANEL_WIDTH) & CURSOR_MASK; // valuePanels[p, j, 0]
    let p0 = 0; // probs[0, j]
    let p1 = S & CURSOR_MASK; // probs[1, j]
    while (p0 < L) {
      const v0 = valuePanels[v], v1 = valuePanels[v + 1], v2 = valuePanels[v + 2], v3 = valuePanels[v + 3];
      const a = probs[p0];
      c00 += a * v0; c01 += a * v1; c02 += a * v2; c03 += a * v3;
      const b = probs[p1];
      c10 += b * v0; c11 += b * v1; c12 += b * v2; c13 += b * v3;
      v = (v + PANEL_WIDTH) & CURSOR_MASK;
      p0 = (p0 + 1) & CURSOR_MASK;
      p1 = (p1 + 1) & CURSOR_MASK;
    }
    const c = p * PANEL_WIDTH;
    const o = row * H + column + c;
    storeContext(context, o, d - c, c00, c01, c02, c03);
    storeContext(context, o + H, d - c, c10, c11, c12, c13);
  }
}

/** context[row, column + c] = Σ_j P[0, j]·v_j[c]: one query row (the last one of an odd length). */
function contextForQuery(
  context: Float32Array, // [tokens, H]
  probs: Float64Array, // [1, S]
  valuePanels: Float64Array, // [Pv, L, 4]
  row: number,
  column: number,
  H: number,
  L: number,
  d: number,
): void {
  const CURSOR_MASK = 0x3fffffff; // = LARGEST_CURSOR: non-negative cursors, see "Cursors" in linear-packed.ts
  const valuePanelCount = Math.ceil(d / PANEL_WIDTH);
  for (let p = 0; p < valuePanelCount; p++) {
    let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    let v = (p * L * PANEL_WIDTH) & CURSOR_MASK;
    let p0 = 0;
    while (p0 < L) {
      const a = probs[p0];
      c0 += a * valuePanels[v]; c1 += a * valuePanels[v + 1];
      c2 += a * valuePanels[v + 2]; c3 += a * valuePanels[v + 3];
      v = (v + PANEL_WIDTH) & CURSOR_MASK;
      p0 = (p0 + 1) & CURSOR_MASK;
    }
    const c = p * PANEL_WIDTH;
    storeContext(context, row * H + column + c, d - c, c0, c1, c2, c3);
  }
}

/** Stores the first `width` of four sums at context[o …], rounding to float32 (padding columns dropped). */
function storeContext(context: Float32Array, o: number, width: number, c0: number, c1: number, c2: number, c3: number): void {
  context[o] = c0;
  if (width > 1) context[o + 1] = c1;
  if (width > 2) context[o + 2] = c2;
  if (width > 3) context[o + 3] = c3;
}
