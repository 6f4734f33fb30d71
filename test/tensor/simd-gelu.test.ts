/**
 * The SIMD kernel's GELU (simd/gelu-kernel.ts) against the exact float64 GELU of gelu.ts: within
 * 8 float32 units in the last place wherever the exact result is a normal float32 (measured: at
 * most 2 ulp for x > 0; 5-7.5 ulp for x < 0, where the erfc fit's 1.2e-7, two exponentials and
 * four products add their roundings), and within 1e-37 of it below that (where the exact one
 * underflows, x < −13.2, the kernel's stays tiny). Also: every
 * count (whole pairs of vectors, the one-at-a-time tail) and unaligned addresses give the same
 * values, and nothing outside [address, address + 4·count) is touched.
 */
import { describe, expect, it } from 'vitest';
import { buildMatmulKernel } from '../../src/tensor/simd/matmul-kernel.ts';
import { kernelFunctions } from '../../src/tensor/simd/kernel-interface.ts';
import { gelu } from '../../src/tensor/gelu.ts';
import { mulberry32 } from '../../src/model/synthetic.ts';

const memory = new WebAssembly.Memory({ initial: 64 }); // 4 MiB
const { gelu: simdGelu } = kernelFunctions(new WebAssembly.Instance(new WebAssembly.Module(buildMatmulKernel('unshared')), { env: { memory } }));

/** GELU of `values` by the kernel, at byte address `address`. */
function runKernel(values: Float32Array, address = 0): Float32Array {
  const view = new Float32Array(memory.buffer, address, values.length);
  view.set(values);
  simdGelu(address, values.length);
  return view.slice();
}

/** Error of `got` in float32 units in the last place of the exact value. */
function ulpError(got: number, exact: number): number {
  const exponent = Math.max(Math.floor(Math.log2(Math.abs(exact))), -126);
  return Math.abs(got - exact) / 2 ** (exponent - 23);
}

function sweepInputs(): Float32Array {
  const random = mulberry32(11);
  const values: number[] = [];
  for (let i = 0; i <= 200_000; i++) values.push(-20 + (40 * i) / 200_000); // every region, densely
  for (let i = 0; i < 100_000; i++) values.push(((random() >>> 0) / 2 ** 32 - 0.5) * 12); // activations' range
  for (let e = -40; e <= 40; e++) values.push(2 ** e, -(2 ** e), 1.5 * 2 ** e, -1.5 * 2 ** e); // tiny to huge
  values.push(0, -0, 0.7071067, -0.7071067, 0.70710677, -0.70710677, 1e-45, -1e-45); // the switch point z = ½, denormals
  return Float32Array.from(values);
}

describe('SIMD GELU', () => {
  it('is within 8 ulp of the exact GELU, and within 1e-37 where the exact one underflows', () => {
    const inputs = sweepInputs();
    const got = runKernel(inputs);
    let worstUlp = 0;
    let worstInput = 0;
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i]!;
      const exact = gelu(x);
      if (Math.abs(exact) >= 2 ** -126) {
        const error = ulpError(got[i]!, exact);
        if (error > worstUlp) [worstUlp, worstInput] = [error, x];
      } else if (!(Math.abs(got[i]! - exact) < 1e-37)) {
        expect.fail(`gelu(${x}): exact ${exact}, kernel ${got[i]}`);
      }
    }
    console.log(`SIMD GELU: worst ${worstUlp.toFixed(2)} ulp, at x = ${worstInput}`);
    expect(worstUlp, `worst at x = ${worstInput}`).toBeLessThanOrEqual(8);
  });

  it('keeps the sign of zero and passes NaN through', () => {
    const got = runKernel(Float32Array.from([0, -0, Number.NaN, 3, -3, Number.NaN, 1, 2]));
    expect(Object.is(got[0], 0)).toBe(true);
    expect(Object.is(got[1], -0)).toBe(true);
    expect(got[2]).toBeNaN();
    expect(got[5]).toBeNaN();
  });

  it('gives the same values for every count and 4-byte-aligned address, and writes nothing else', () => {
    const inputs = Float32Array.from({ length: 40 }, (_, i) => (i - 20) * 0.37);
    const reference = runKernel(inputs, 1024);
    for (let count = 0; count <= inputs.length; count++) {
      for (const address of [2048, 2052, 2056, 2060]) {
        const guard = new Float32Array(memory.buffer, address - 16, count + 8).fill(12345);
        new Float32Array(memory.buffer, address, count).set(inputs.subarray(0, count));
        simdGelu(address, count);
        expect([...new Float32Array(memory.buffer, address, count)]).toEqual([...reference.subarray(0, count)]);
        expect([...guard.subarray(0, 4)]).toEqual([12345, 12345, 12345, 12345]);
        expect([...guard.subarray(4 + count)]).toEqual([12345, 12345, 12345, 12345]);
      }
    }
  });
});
