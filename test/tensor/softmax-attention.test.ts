/** Softmax and multi-head attention against naive versions written from the formulas. */
import { describe, expect, it } from 'vitest';
import { AttentionShapeError, createAttentionScratch, multiHeadSelfAttention } from '../../src/tensor/attention.ts';
import { softmaxInPlace } from '../../src/tensor/softmax.ts';
import { maxRelativeError, randomArray } from '../helpers/random.ts';

describe('softmaxInPlace', () => {
  it('matches exp(s)/Σexp(s) and sums to 1', () => {
    const scores = Float64Array.from(randomArray(50, 3, 5));
    const expected = Array.from(scores, Math.exp);
    const total = expected.reduce((a, b) => a + b, 0);
    softmaxInPlace(scores, 0, scores.length);
    expect(maxRelativeError(scores, expected.map((e) => e / total))).toBeLessThan(1e-15);
    expect(Math.abs(scores.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-14);
  });

  it('is stable for huge scores and gives masked (−∞) entries exactly 0', () => {
    const scores = new Float64Array([1000, 999, -Infinity, 1000]);
    softmaxInPlace(scores, 0, 4);
    expect(scores[2]).toBe(0);
    expect(scores[0]).toBeCloseTo(1 / (2 + Math.exp(-1)), 14);
  });

  it('works on a window of the row and refuses an all-masked row', () => {
    const scores = new Float64Array([7, 0, 0, 7]);
    softmaxInPlace(scores, 1, 2);
    expect(Array.from(scores)).toEqual([7, 0.5, 0.5, 7]);
    expect(() => softmaxInPlace(new Float64Array([-Infinity, -Infinity]), 0, 2)).toThrow(/masked/);
  });
});

/** Attention straight from the definition: per head, P = softmax(QKᵀ/√d + mask), out = PV. */
function naiveAttention(qkv: Float32Array, start: number, length: number, heads: number, d: number, mask: number[] | null): Float64Array {
  const H = heads * d;
  const out = new Float64Array((start + length) * H);
  const at = (t: number, part: number, h: number, c: number) => qkv[(start + t) * 3 * H + part * H + h * d + c]!;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < length; i++) {
      const s = Array.from({ length }, (_, j) => {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += at(i, 0, h, c) * at(j, 1, h, c);
        return dot / Math.sqrt(d) + (mask ? mask[j]! : 0);
      });
      const max = Math.max(...s);
      const e = s.map((v) => Math.exp(v - max));
      const z = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < d; c++) {
        let sum = 0;
        for (let j = 0; j < length; j++) sum += (e[j]! / z) * at(j, 2, h, c);
        out[(start + i) * H + h * d + c] = sum;
      }
    }
  }
  return out;
}

describe('multiHeadSelfAttention', () => {
  it('matches the naive version for several head layouts and an offset sequence', () => {
    for (const [heads, d, start, length] of [[1, 1, 0, 1], [4, 8, 3, 11], [12, 32, 2, 20]] as const) {
      const H = heads * d;
      const qkv = randomArray((start + length) * 3 * H, heads * 31 + d, 1);
      const context = new Float32Array((start + length) * H);
      multiHeadSelfAttention(context, qkv, start, length, { numHeads: heads, headSize: d }, createAttentionScratch(length, d));
      const expected = naiveAttention(qkv, start, length, heads, d, null);
      expect(maxRelativeError(context.subarray(start * H), expected.subarray(start * H))).toBeLessThan(1e-6);
      expect(Array.from(context.subarray(0, start * H)).every((v) => v === 0)).toBe(true); // other rows untouched
    }
  });

  it('an additive −∞ mask on padded keys gives the unpadded rows exactly the result without padding', () => {
    const heads = 3, d = 4, H = heads * d, real = 5, padded = 8;
    const qkv = randomArray(padded * 3 * H, 99, 1);
    const mask = new Float32Array(padded).fill(0).fill(-Infinity, real);
    const withPadding = new Float32Array(padded * H);
    const withoutPadding = new Float32Array(real * H);
    const shape = { numHeads: heads, headSize: d };
    multiHeadSelfAttention(withPadding, qkv, 0, padded, shape, createAttentionScratch(padded, d), mask);
    multiHeadSelfAttention(withoutPadding, qkv, 0, real, shape, createAttentionScratch(real, d));
    expect(Array.from(withPadding.subarray(0, real * H))).toEqual(Array.from(withoutPadding));
    expect(maxRelativeError(withPadding, naiveAttention(qkv, 0, padded, heads, d, Array.from(mask)))).toBeLessThan(1e-6);
  });

  it('reports probabilities that sum to 1 to an observer', () => {
    const qkv = randomArray(6 * 3 * 8, 5, 1);
    const sums: number[] = [];
    multiHeadSelfAttention(new Float32Array(6 * 8), qkv, 0, 6, { numHeads: 2, headSize: 4 }, createAttentionScratch(6, 4), null,
      (_h, _q, probs, length) => sums.push(probs.subarray(0, length).reduce((a, b) => a + b, 0)));
    expect(sums).toHaveLength(12);
    for (const s of sums) expect(s).toBeCloseTo(1, 14);
  });

  it('refuses a scratch too short for the sequence instead of writing past it', () => {
    const qkv = randomArray(6 * 3 * 8, 6, 1);
    const run = () => multiHeadSelfAttention(new Float32Array(6 * 8), qkv, 0, 6, { numHeads: 2, headSize: 4 }, createAttentionScratch(5, 4));
    expect(run).toThrow(AttentionShapeError);
    expect(run).toThrow(/scratch was made for ≤ 5 tokens/);
  });

  it('refuses, before allocating, a scratch with a block past the fast kernel\'s cursor limit (2^30 − 1 floats)', () => {
    // keyPanels would hold 2^25 tokens × 32 = 2^30 floats: one too many.
    expect(() => createAttentionScratch(2 ** 25, 32)).toThrow(AttentionShapeError);
    expect(() => createAttentionScratch(2 ** 25, 32)).toThrow(/past the fast kernel's index limit \(1073741823 floats\)/);
    // The head size counts in whole panels of 4: 2^28 tokens × head size 1 is 2^30 floats too.
    expect(() => createAttentionScratch(2 ** 28, 1)).toThrow(/index limit/);
  });
});
