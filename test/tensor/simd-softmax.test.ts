/**
 * The SIMD kernel's softmax (simd/softmax-kernel.ts) against a float64 softmax of the same
 * float32 scores, on rows of attention's lengths: probabilities above 1e-6 within 1e-6 relative,
 * smaller ones within 1e-11 absolute (their exponent s − max is rounded to float32 before exp,
 * which is a relative error of up to |s − max|·6e-8: about 1e-6 at p = 1e-6, more below);
 * several rows per call exactly as one per call, and nothing written outside the rows.
 */
import { describe, expect, it } from 'vitest';
import { buildMatmulKernel } from '../../src/tensor/simd/matmul-kernel.ts';
import { kernelFunctions } from '../../src/tensor/simd/kernel-interface.ts';
import { mulberry32 } from '../../src/model/synthetic.ts';

const memory = new WebAssembly.Memory({ initial: 64 }); // 4 MiB
const { softmax } = kernelFunctions(new WebAssembly.Instance(new WebAssembly.Module(buildMatmulKernel('unshared')), { env: { memory } }));

function float64Softmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  const out = Float64Array.from(row, (v) => Math.exp(v - max));
  const sum = out.reduce((a, b) => a + b, 0);
  return out.map((v) => v / sum);
}

function randomScores(length: number, seed: number, scale: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => (((random() >>> 0) / 2 ** 32) * 2 - 1) * scale);
}

describe('SIMD softmax', () => {
  it('is within 1e-6 relative of the float64 softmax (1e-11 absolute below p = 1e-6), on every length attention runs', () => {
    let worst = 0;
    let seed = 1;
    for (const length of [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 31, 64, 127, 128, 130, 256, 257, 511, 512]) {
      for (const scale of [0.1, 3, 30, 200]) {
        const scores = randomScores(length, seed++, scale);
        const want = float64Softmax(scores);
        const row = new Float32Array(memory.buffer, 64, length);
        row.set(scores);
        softmax(64, 1, length);
        for (let j = 0; j < length; j++) {
          const error = Math.abs(row[j]! - want[j]!);
          if (want[j]! < 1e-6) expect(error, `length ${length}, scale ${scale}, j ${j}`).toBeLessThan(1e-11);
          else worst = Math.max(worst, error / want[j]!);
        }
      }
    }
    console.log(`SIMD softmax: worst relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
  });

  it('does several rows in one call exactly as one call per row, and writes nothing else', () => {
    for (const length of [1, 3, 4, 6, 8, 21]) {
      const rows = 5;
      const scores = randomScores(rows * length, 100 + length, 4);
      const one = new Float32Array(memory.buffer, 4096, rows * length);
      one.set(scores);
      for (let r = 0; r < rows; r++) softmax(4096 + r * length * 4, 1, length);
      const guard = new Float32Array(memory.buffer, 65536 - 16, rows * length + 8).fill(777);
      const many = guard.subarray(4, 4 + rows * length);
      many.set(scores);
      softmax(65536, rows, length);
      expect([...many]).toEqual([...one]);
      expect([...guard.subarray(0, 4)]).toEqual([777, 777, 777, 777]);
      expect([...guard.subarray(4 + rows * length)]).toEqual([777, 777, 777, 777]);
    }
  });
});
