/**
 * One attention head with the SIMD matmul kernel: the SIMD backend's attention step.
 *
 * The same mathematics as `attentionHeadFast` (../attention-fast.ts), for head h of one sequence
 * of L tokens, d = head size:
 *
 *   scores  = Q · Kᵀ                 [L, d] x [d, L] → [L, L]    kernel: x = Q, W = K
 *   P       = softmax(scores / √d)   row by row, the kernel module's `softmax` (softmax-kernel.ts)
 *   context = P · V                  [L, L] x [L, d] → [L, d]    kernel: x = P, W = Vᵀ
 *
 * Both products are exactly the kernel's out = x · Wᵀ: "W" is K itself for the scores ([N = L,
 * K = d]) and Vᵀ for the context ([N = d, K = L]). The kernel reads W in panels of 8 output
 * features (see packed-weights.ts), so the head's keys and values are copied into that layout
 * first, along with its queries (contiguous rows); that is O(L·d) copying against O(L²·d)
 * arithmetic. Every buffer is a region of the WebAssembly memory reserved once per thread
 * (`SimdAttentionScratch`), so nothing is allocated per call.
 *
 * Precision: float32 accumulation in both products (over d = 32 terms, then over L ≤ 512) and
 * in the softmax's sums, where the JS kernel accumulates in float64: differences stay at float32 rounding, inside the
 * tolerances the SIMD backend is tested to (embeddings within 1e-5 of the float64 reference).
 *
 * Limits: sequences up to `simdAttentionMaxLength` tokens and heads up to
 * `simdAttentionMaxHeadSize` wide fit the scratch; the backend runs anything larger with the JS
 * kernel (`simdAttentionFits`).
 */

import type { AttentionShape } from '../attention.ts';
import type { KernelFunctions } from './kernel-interface.ts';
import { featuresPerPanel, panelCount } from './packed-weights.ts';

/** The longest sequence the scratch holds (BERT's position table: 512). */
export const simdAttentionMaxLength = 512;
/** The widest head the scratch holds (MiniLM: 32; BERT-base: 64). */
export const simdAttentionMaxHeadSize = 64;

/** Whether a head of this sequence fits the SIMD attention scratch. */
export function simdAttentionFits(length: number, headSize: number): boolean {
  return length <= simdAttentionMaxLength && headSize <= simdAttentionMaxHeadSize;
}

/** Byte addresses (16-byte aligned) of one thread's attention buffers in the memory. */
export interface SimdAttentionScratch {
  readonly queries: number; //     [L, d]           the head's queries, one row per token
  readonly keyPanels: number; //   [⌈L/8⌉, d, 8]    keys as kernel weights: keyPanels[p, c, t] = k_{8p+t}[c]
  readonly valuePanels: number; // [⌈d/8⌉, L, 8]    Vᵀ as kernel weights: valuePanels[p, j, t] = v_j[8p+t]
  readonly scores: number; //      [L, L]           scores, then probabilities
  readonly headContext: number; // [L, d]           the head's context rows
  readonly zeroBias: number; //    [8·⌈512/8⌉]      zeros: the kernel always adds a bias
}

const maxL = simdAttentionMaxLength;
const maxD = simdAttentionMaxHeadSize;

/** Floats of each region, in the order they are laid out. */
const regionFloats = {
  queries: maxL * maxD,
  keyPanels: panelCount(maxL) * maxD * featuresPerPanel,
  valuePanels: panelCount(maxD) * maxL * featuresPerPanel,
  scores: maxL * maxL,
  headContext: maxL * maxD,
  zeroBias: panelCount(Math.max(maxL, maxD)) * featuresPerPanel,
} as const;

/** Bytes one thread's scratch takes (about 1.4 MB). */
export const simdAttentionScratchBytes = Object.values(regionFloats).reduce((sum, floats) => sum + floats * 4, 0);

/**
 * Lays a scratch out at `baseAddress` (16-byte aligned; `simdAttentionScratchBytes` reserved and
 * zeroed there). Every region size is a multiple of 16 bytes, so every region stays aligned.
 */
export function layoutSimdAttentionScratch(baseAddress: number): SimdAttentionScratch {
  if (baseAddress % 16 !== 0) throw new RangeError(`attention scratch address ${baseAddress} is not 16-byte aligned`);
  let next = baseAddress;
  const take = (floats: number): number => {
    const address = next;
    next += floats * 4;
    return address;
  };
  return {
    queries: take(regionFloats.queries),
    keyPanels: take(regionFloats.keyPanels),
    valuePanels: take(regionFloats.valuePanels),
    scores: take(regionFloats.scores),
    headContext: take(regionFloats.headContext),
    zeroBias: take(regionFloats.zeroBias),
  };
}

/**
 * Head h of the sequence at rows seqStart … seqStart+L−1: writes context columns h·d … h·d+d−1
 * of those rows. qkvAddress: [tokens, 3H], contextAddress: [tokens, H], byte addresses in
 * `memory`; the caller checked the shapes and that `simdAttentionFits(L, d)`.
 */
export function simdAttentionHead(
  { matmul, softmax }: KernelFunctions,
  memory: WebAssembly.Memory,
  scratch: SimdAttentionScratch,
  contextAddress: number,
  qkvAddress: number,
  seqStart: number,
  L: number,
  shape: AttentionShape,
  h: number,
): void {
  const { numHeads, headSize: d } = shape;
  const H = numHeads * d;
  const heap = new Float32Array(memory.buffer); // the whole memory; indices below are in floats
  const queries = scratch.queries / 4;
  const keyPanels = scratch.keyPanels / 4;
  const valuePanels = scratch.valuePanels / 4;
  const headContext = scratch.headContext / 4;
  const P = featuresPerPanel;

  // Gather the head's queries (times 1/√d, so that the kernel's products are the scaled scores),
  // keys and values into the kernel's layouts; P = 8, so j / 8 and j % 8 are j >> 3 and j & 7.
  // Padding lanes of the last panels keep old values: the kernel computes them in lanes of
  // their own, never stored.
  const scale = 1 / Math.sqrt(d);
  for (let j = 0; j < L; j++) {
    const q = qkvAddress / 4 + (seqStart + j) * 3 * H + h * d; // q_j[0]; k_j[0] at q + H, v_j[0] at q + 2H
    const keyAt = keyPanels + (j >> 3) * d * P + (j & 7); // keyPanels[j/8, 0, j%8]
    const valueAt = valuePanels + j * P; //                    valuePanels[0, j, 0]
    for (let c = 0; c < d; c++) {
      heap[queries + j * d + c] = heap[q + c]! * scale;
      heap[keyAt + c * P] = heap[q + H + c]!;
      heap[valueAt + (c >> 3) * L * P + (c & 7)] = heap[q + 2 * H + c]!;
    }
  }

  // [L, d] x [d, L] → [L, L]: scores q·k / √d
  matmul(scratch.scores, scratch.queries, scratch.keyPanels, scratch.zeroBias, L, d, L);

  // probabilities, row by row, in place in the memory
  softmax(scratch.scores, L, L);

  // [L, L] x [L, d] → [L, d], then into the context's columns of head h
  matmul(scratch.headContext, scratch.scores, scratch.valuePanels, scratch.zeroBias, L, L, d);
  for (let i = 0; i < L; i++) {
    const target = contextAddress / 4 + (seqStart + i) * H + h * d;
    heap.copyWithin(target, headContext + i * d, headContext + (i + 1) * d);
  }
}
