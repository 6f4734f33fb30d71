/**
 * The SIMD backend's Add & Norm (simd/layer-norm-kernel.ts, through `backend.addLayerNorm`)
 * against the float64 `addLayerNorm` of layer-norm.ts: within 1e-6 of it, relative to
 * max(|y|, 1), on rows of the model's widths, with `out` aliasing `residual` as the model calls
 * it; widths the kernel does not take (not a multiple of 4) go to the plain one, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { createSimdBackend } from '../../src/tensor/simd/simd-backend.ts';
import { addLayerNorm } from '../../src/tensor/layer-norm.ts';
import { randomArray } from '../helpers/random.ts';

describe('SIMD Add & Norm', () => {
  it('matches the float64 addLayerNorm within 1e-6 (relative to max(|y|, 1)), out aliasing residual', async () => {
    const backend = await createSimdBackend();
    let worst = 0;
    let seed = 1;
    for (const [rows, dim] of [[1, 4], [7, 32], [33, 384], [5, 1536], [3, 4096]] as const) {
      const x = randomArray(rows * dim, seed++, 3);
      const residual = randomArray(rows * dim, seed++, 2);
      const gamma = randomArray(dim, seed++, 1);
      const beta = randomArray(dim, seed++, 0.5);
      const want = new Float32Array(rows * dim);
      addLayerNorm(want, x, residual, gamma, beta, rows, dim, 1e-12);
      const workspace = backend.allocate(2 * rows * dim);
      const xView = workspace.subarray(0, rows * dim);
      const hidden = workspace.subarray(rows * dim); // residual in, result out
      xView.set(x);
      hidden.set(residual);
      backend.addLayerNorm(hidden, xView, hidden, gamma, beta, rows, dim, 1e-12);
      for (let i = 0; i < rows * dim; i++) worst = Math.max(worst, Math.abs(hidden[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 1));
    }
    console.log(`SIMD Add & Norm: worst error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
    backend.dispose();
  });

  it('hands widths that are not a multiple of 4 to the plain addLayerNorm (same bits)', async () => {
    const backend = await createSimdBackend();
    const [rows, dim] = [3, 30];
    const x = randomArray(rows * dim, 90, 3);
    const residual = randomArray(rows * dim, 91, 2);
    const gamma = randomArray(dim, 92, 1);
    const beta = randomArray(dim, 93, 0.5);
    const want = new Float32Array(rows * dim);
    addLayerNorm(want, x, residual, gamma, beta, rows, dim, 1e-12);
    const out = backend.allocate(rows * dim);
    backend.addLayerNorm(out, x, residual, gamma, beta, rows, dim, 1e-12);
    expect([...out]).toEqual([...want]);
    backend.dispose();
  });

  it('gives the same bits with γ and β in its memory (read where they lie) as with γ and β copied in', async () => {
    const backend = await createSimdBackend();
    const [rows, dim] = [5, 64];
    const gammaValues = randomArray(dim, 94, 1);
    const betaValues = randomArray(dim, 95, 0.5);
    const workspace = backend.allocate(2 * dim + 3 * rows * dim);
    const [gamma, beta] = [workspace.subarray(0, dim), workspace.subarray(dim, 2 * dim)];
    gamma.set(gammaValues);
    beta.set(betaValues);
    const x = workspace.subarray(2 * dim, 2 * dim + rows * dim);
    x.set(randomArray(rows * dim, 96, 3));
    const residual = workspace.subarray(2 * dim + rows * dim, 2 * dim + 2 * rows * dim);
    residual.set(randomArray(rows * dim, 97, 2));
    const out = workspace.subarray(2 * dim + 2 * rows * dim);
    backend.addLayerNorm(out, x, residual, gammaValues, betaValues, rows, dim, 1e-12); // copied in
    const fromCopies = [...out];
    out.fill(0);
    backend.addLayerNorm(out, x, residual, gamma, beta, rows, dim, 1e-12); // in place
    expect([...out]).toEqual(fromCopies);
    backend.dispose();
  });

  it('refuses arrays that are not in its memory, by name', async () => {
    const backend = await createSimdBackend();
    const inside = backend.allocate(8);
    const outside = new Float32Array(8);
    const params = new Float32Array(4).fill(1);
    expect(() => backend.addLayerNorm(inside, outside, inside, params, params, 2, 4, 1e-12)).toThrow(
      /addLayerNorm: x is not in the SIMD backend's memory/,
    );
    backend.dispose();
  });
});
