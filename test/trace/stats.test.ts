/**
 * tensorStats against a direct computation (reduce, Math.min/max over a spread, Math.hypot), on
 * random inputs of several sizes and scales, and its refusals.
 */
import { describe, expect, it } from 'vitest';
import { tensorStats } from '../../src/trace/stats.ts';
import { randomArray } from '../helpers/random.ts';

function direct(values: Float32Array): { mean: number; std: number; min: number; max: number; l2: number } {
  const list = Array.from(values);
  const mean = list.reduce((a, b) => a + b, 0) / list.length;
  const variance = list.map((v) => (v - mean) ** 2).reduce((a, b) => a + b, 0) / list.length;
  return { mean, std: Math.sqrt(variance), min: Math.min(...list), max: Math.max(...list), l2: Math.hypot(...list) };
}

describe('tensorStats', () => {
  for (const [length, scale, offset] of [[1, 1, 0], [7, 3, 0], [384, 1, 0.5], [4 * 384, 5, -2], [10_000, 0.01, 100]] as const) {
    it(`matches the direct computation on ${length} values (scale ${scale}, offset ${offset})`, () => {
      const values = randomArray(length, 1000 + length, scale).map((v) => v + offset);
      const stats = tensorStats(values);
      const expected = direct(values);
      const magnitude = Math.abs(offset) + scale;
      expect(Math.abs(stats.mean - expected.mean)).toBeLessThanOrEqual(1e-12 * magnitude);
      expect(Math.abs(stats.std - expected.std)).toBeLessThanOrEqual(1e-9 * magnitude);
      expect(stats.min).toBe(expected.min);
      expect(stats.max).toBe(expected.max);
      expect(Math.abs(stats.l2 - expected.l2)).toBeLessThanOrEqual(1e-12 * expected.l2);
    });
  }

  it('gives std 0 for a constant tensor, even a large one', () => {
    const stats = tensorStats(new Float32Array(1000).fill(12345.5));
    expect(stats.std).toBe(0);
    expect(stats.mean).toBe(12345.5);
  });

  it('refuses an empty tensor and non-finite values, naming the element', () => {
    expect(() => tensorStats(new Float32Array(0))).toThrow(/empty/);
    expect(() => tensorStats([1, 2, NaN])).toThrow(/element 2 is NaN/);
    expect(() => tensorStats([Infinity])).toThrow(/element 0 is Infinity/);
  });
});
