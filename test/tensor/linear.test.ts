/** The plain linear kernel and the plain backend against the definition. */
import { describe, expect, it } from 'vitest';
import { plainBackend } from '../../src/tensor/backend.ts';
import { gelu } from '../../src/tensor/gelu.ts';
import { linear } from '../../src/tensor/linear.ts';
import { maxRelativeError, randomArray } from '../helpers/random.ts';

function naiveLinear(x: Float32Array, w: Float32Array, b: Float32Array | null, rows: number, inF: number, outF: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < outF; n++) {
      const terms = Array.from({ length: inF }, (_, k) => x[r * inF + k]! * w[n * inF + k]!);
      out.push(terms.reduce((a, t) => a + t, b ? b[n]! : 0));
    }
  }
  return out;
}

describe('linear (plain)', () => {
  for (const [rows, inF, outF] of [[1, 1, 1], [3, 5, 7], [8, 64, 48]] as const) {
    it(`x[${rows}, ${inF}] · W[${outF}, ${inF}]ᵀ + b`, () => {
      const x = randomArray(rows * inF, 1, 1), w = randomArray(outF * inF, 2, 1), b = randomArray(outF, 3, 1);
      const out = new Float32Array(rows * outF);
      linear(out, x, w, b, rows, inF, outF);
      expect(maxRelativeError(out, naiveLinear(x, w, b, rows, inF, outF))).toBeLessThan(1e-6);
      linear(out, x, w, null, rows, inF, outF);
      expect(maxRelativeError(out, naiveLinear(x, w, null, rows, inF, outF))).toBeLessThan(1e-6);
    });
  }

  it('plainBackend computes the same, with the fused GELU', () => {
    const rows = 4, inF = 10, outF = 6;
    const x = randomArray(rows * inF, 4, 1), w = randomArray(outF * inF, 5, 1), b = randomArray(outF, 6, 1);
    const out = plainBackend.allocate(rows * outF);
    plainBackend.linear(out, x, plainBackend.prepare(w, outF, inF), b, rows, 'gelu');
    expect(maxRelativeError(out, naiveLinear(x, w, b, rows, inF, outF).map(gelu))).toBeLessThan(1e-6);
  });
});
