/**
 * The SIMD backend's attention step (simd/simd-attention.ts: both products on the matmul kernel,
 * softmax in float64 JavaScript) against the plain float64 attention of attention.ts, on shapes
 * that leave partial panels (lengths and head sizes not multiples of 8), and the fallback to the
 * JS kernel for sequences or heads larger than its scratch.
 */
import { describe, expect, it } from 'vitest';
import { createAttentionScratch, multiHeadSelfAttention } from '../../src/tensor/attention.ts';
import { multiHeadSelfAttentionFast } from '../../src/tensor/attention-fast.ts';
import { createSimdBackend } from '../../src/tensor/simd/simd-backend.ts';
import { simdAttentionMaxHeadSize, simdAttentionMaxLength } from '../../src/tensor/simd/simd-attention.ts';
import { firstDifference, maxRelativeError, randomArray } from '../helpers/random.ts';

/** Runs the SIMD backend's attention and the plain kernel over one batch of `lengths`. */
async function compare(lengths: number[], numHeads: number, headSize: number, seed: number) {
  const shape = { numHeads, headSize };
  const H = numHeads * headSize;
  const sequenceStarts = new Int32Array(lengths.length + 1);
  lengths.forEach((length, b) => (sequenceStarts[b + 1] = sequenceStarts[b]! + length));
  const T = sequenceStarts[lengths.length]!;
  const qkvValues = randomArray(T * 3 * H, seed, 1.5);
  const longest = Math.max(...lengths);

  const plain = new Float32Array(T * H);
  const fast = new Float32Array(T * H);
  const scratch = createAttentionScratch(longest, headSize);
  for (let b = 0; b < lengths.length; b++) {
    multiHeadSelfAttention(plain, qkvValues, sequenceStarts[b]!, lengths[b]!, shape, scratch);
    multiHeadSelfAttentionFast(fast, qkvValues, sequenceStarts[b]!, lengths[b]!, shape, scratch);
  }

  const backend = await createSimdBackend();
  try {
    const block = backend.allocate(T * 4 * H);
    const qkv = block.subarray(0, T * 3 * H);
    qkv.set(qkvValues);
    const context = block.subarray(T * 3 * H).fill(Number.NaN);
    backend.attention(context, qkv, sequenceStarts, shape, scratch);
    return { simd: context.slice(), plain, fast };
  } finally {
    backend.dispose();
  }
}

describe('SIMD attention', () => {
  for (const [lengths, numHeads, headSize] of [
    [[1], 1, 1],
    [[2, 3], 2, 5],
    [[7, 8, 9], 3, 12],
    [[16, 1, 33], 12, 32],
    [[128], 12, 32],
    [[simdAttentionMaxLength], 2, 32],
    [[65, 17], 2, simdAttentionMaxHeadSize],
  ] as const) {
    it(`lengths ${lengths.join(',')}, ${numHeads} heads of ${headSize}: within float32 rounding of the float64 kernel`, async () => {
      const { simd, plain } = await compare([...lengths], numHeads, headSize, lengths[0]! * 31 + headSize);
      expect(simd.every(Number.isFinite), 'every context value written (the output was filled with NaN)').toBe(true);
      expect(maxRelativeError(simd, plain)).toBeLessThan(1e-5);
    });
  }

  it('falls back to the JS kernel (bit-identical to attention-fast.ts) beyond its scratch', async () => {
    for (const [lengths, headSize] of [[[simdAttentionMaxLength + 3], 8], [[20, 9], simdAttentionMaxHeadSize + 8]] as const) {
      const { simd, fast } = await compare([...lengths], 2, headSize, 77 + headSize);
      expect(firstDifference(simd, fast), `lengths ${lengths.join(',')}, head size ${headSize}`).toBe(-1);
    }
  });
});
