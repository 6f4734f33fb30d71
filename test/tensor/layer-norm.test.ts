/** LayerNorm and the fused residual + LayerNorm against a naive textbook version. */
import { describe, expect, it } from 'vitest';
import { addLayerNorm, layerNorm } from '../../src/tensor/layer-norm.ts';
import { maxRelativeError, randomArray } from '../helpers/random.ts';

/** The definition, one row at a time, with plain arrays and float64 throughout. */
function naiveLayerNorm(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, rows: number, dim: number, eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: dim }, (_, i) => x[r * dim + i]!);
    const mean = row.reduce((a, b) => a + b, 0) / dim;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / dim;
    for (let i = 0; i < dim; i++) out.push(((row[i]! - mean) / Math.sqrt(variance + eps)) * gamma[i]! + beta[i]!);
  }
  return out;
}

describe('layerNorm', () => {
  for (const [rows, dim] of [[1, 1], [3, 7], [16, 384], [5, 32]] as const) {
    it(`matches the naive version on [${rows}, ${dim}]`, () => {
      const x = randomArray(rows * dim, rows * 100 + dim, 3);
      const gamma = randomArray(dim, 7, 1);
      const beta = randomArray(dim, 8, 0.1);
      const out = new Float32Array(rows * dim);
      layerNorm(out, x, gamma, beta, rows, dim, 1e-12);
      expect(maxRelativeError(out, naiveLayerNorm(x, gamma, beta, rows, dim, 1e-12))).toBeLessThan(1e-6);
    });
  }

  it('works in place and on a constant row (variance 0: eps keeps it finite)', () => {
    const x = new Float32Array([2, 2, 2, 2, 1, 2, 3, 4]);
    const gamma = new Float32Array([1, 1, 1, 1]);
    const beta = new Float32Array([0.5, 0.5, 0.5, 0.5]);
    const expected = naiveLayerNorm(x, gamma, beta, 2, 4, 1e-12);
    layerNorm(x, x, gamma, beta, 2, 4, 1e-12);
    expect(Array.from(x.subarray(0, 4))).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(maxRelativeError(x, expected)).toBeLessThan(1e-6);
  });
});

describe('addLayerNorm', () => {
  it('equals adding the residual then layerNorm, and may write over its input', () => {
    const rows = 9, dim = 48;
    const x = randomArray(rows * dim, 1, 2);
    const residual = randomArray(rows * dim, 2, 2);
    const gamma = randomArray(dim, 3, 1);
    const beta = randomArray(dim, 4, 0.1);
    const sum = x.map((v, i) => v + residual[i]!);
    const expected = naiveLayerNorm(sum, gamma, beta, rows, dim, 1e-12);
    addLayerNorm(residual, x, residual, gamma, beta, rows, dim, 1e-12);
    expect(maxRelativeError(residual, expected)).toBeLessThan(1e-6);
  });
});
