/**
 * The WebAssembly SIMD backend: its assembler against byte sequences worked out by hand from the
 * WebAssembly specification, the committed kernel against a fresh build, and the kernel against
 * the plain float64 `linear` on random inputs of many shapes (every tile remainder).
 */

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { plainBackend } from '../../src/tensor/backend.ts';
import { linear } from '../../src/tensor/linear.ts';
import { gelu } from '../../src/tensor/gelu.ts';
import type { MatmulFunction, MatmulRowsFunction } from '../../src/tensor/simd/kernel-interface.ts';
import { buildMatmulRows } from '../../src/tensor/simd/matmul-rows-kernel.ts';
import {
  buildMatmulKernel,
  generatedKernelPath,
  renderGeneratedKernelFile,
} from '../../src/tensor/simd/matmul-kernel.ts';
import { matmulKernelSharedBase64, matmulKernelUnsharedBase64 } from '../../src/tensor/simd/matmul-kernel.wasm.ts';
import { packWeightPanels, packedWeightLength } from '../../src/tensor/simd/packed-weights.ts';
import { simdAttentionScratchBytes } from '../../src/tensor/simd/simd-attention.ts';
import { randomArray } from '../helpers/random.ts';
import {
  type SimdBackend,
  SimdBackendError,
  createSimdBackend,
  layerNormMaxDim,
  simdSupported,
} from '../../src/tensor/simd/simd-backend.ts';
import {
  FunctionBuilder,
  encodeI32,
  encodeLimits,
  encodeModule,
  encodeSection,
  encodeU32,
  f32x4,
  i32,
  local,
  v128,
  valueType,
} from '../../src/tensor/simd/wasm-assembler.ts';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fillUniform(target: Float32Array, random: () => number, scale = 1): Float32Array {
  for (let i = 0; i < target.length; i++) target[i] = (random() * 2 - 1) * scale;
  return target;
}

const float32UnitRoundoff = 2 ** -24;

interface Comparison {
  /** max |simd − plain| / (|b| + Σ_k |x·w|): the error relative to the sum's magnitude. */
  maxRelativeError: number;
  /** how many times the rigorous bound (K + 2)·u·(|b| + Σ|x·w|) the worst element used. */
  worstFractionOfBound: number;
}

/**
 * Compares `actual` with the float64 reference for out = x·Wᵀ + b. The tolerance is the classic
 * worst-case bound for a float32 sum of K + 1 terms, (K + 2)·u·(|b| + Σ_k |x_k·w_k|), u = 2⁻²⁴,
 * with one more u for rounding the reference itself to float32. A kernel that drops or repeats
 * one term of the sum misses it by ~Σ/K, well above the bound.
 */
function compareWithReference(
  actual: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array | null,
  rows: number,
  inFeatures: number,
  outFeatures: number,
): Comparison {
  const reference = new Float32Array(rows * outFeatures);
  linear(reference, x, weight, bias, rows, inFeatures, outFeatures);
  let maxRelativeError = 0;
  let worstFractionOfBound = 0;
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < outFeatures; n++) {
      let magnitude = bias === null ? 0 : Math.abs(bias[n]!);
      for (let k = 0; k < inFeatures; k++) magnitude += Math.abs(x[r * inFeatures + k]! * weight[n * inFeatures + k]!);
      const difference = Math.abs(actual[r * outFeatures + n]! - reference[r * outFeatures + n]!);
      const bound = (inFeatures + 3) * float32UnitRoundoff * magnitude;
      if (!(difference <= bound)) {
        throw new Error(
          `out[${r}, ${n}] = ${actual[r * outFeatures + n]}, reference ${reference[r * outFeatures + n]}, ` +
            `difference ${difference} > bound ${bound} (rows ${rows}, K ${inFeatures}, N ${outFeatures})`,
        );
      }
      if (magnitude > 0) {
        maxRelativeError = Math.max(maxRelativeError, difference / magnitude);
        worstFractionOfBound = Math.max(worstFractionOfBound, difference / bound);
      }
    }
  }
  return { maxRelativeError, worstFractionOfBound };
}

/** One random problem computed by the SIMD backend; returns what `compareWithReference` found. */
function runRandomCase(
  backend: SimdBackend,
  random: () => number,
  rows: number,
  inFeatures: number,
  outFeatures: number,
  withBias: boolean,
): Comparison {
  const weight = fillUniform(new Float32Array(outFeatures * inFeatures), random); // [N, K]
  const bias = withBias ? fillUniform(new Float32Array(outFeatures), random) : null; // [N]
  const prepared = backend.prepare(weight, outFeatures, inFeatures);
  // One allocation sliced in two: a second allocate could grow the memory and detach the first.
  const workspace = backend.allocate(rows * inFeatures + rows * outFeatures);
  const x = fillUniform(workspace.subarray(0, rows * inFeatures), random); // [rows, K]
  const out = workspace.subarray(rows * inFeatures); //                       [rows, N]
  backend.linear(out, x, prepared, bias, rows);
  return compareWithReference(out, x, weight, bias, rows, inFeatures, outFeatures);
}

// ---------------------------------------------------------------------------------------------
// The assembler, against bytes computed by hand from the specification
// ---------------------------------------------------------------------------------------------

describe('wasm-assembler encodings', () => {
  it('encodes unsigned LEB128 (spec 5.2.2)', () => {
    expect(encodeU32(0)).toEqual([0x00]);
    expect(encodeU32(127)).toEqual([0x7f]);
    expect(encodeU32(128)).toEqual([0x80, 0x01]);
    expect(encodeU32(228)).toEqual([0xe4, 0x01]); // f32x4.add's SIMD opcode
    expect(encodeU32(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(encodeU32(65536)).toEqual([0x80, 0x80, 0x04]);
    expect(encodeU32(0xffff_ffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => encodeU32(-1)).toThrow(RangeError);
    expect(() => encodeU32(2 ** 32)).toThrow(RangeError);
    expect(() => encodeU32(1.5)).toThrow(RangeError);
  });

  it('encodes signed LEB128 (spec 5.2.2)', () => {
    expect(encodeI32(0)).toEqual([0x00]);
    expect(encodeI32(-1)).toEqual([0x7f]);
    expect(encodeI32(63)).toEqual([0x3f]);
    expect(encodeI32(64)).toEqual([0xc0, 0x00]); // bit 6 set: needs a second byte to stay positive
    expect(encodeI32(-64)).toEqual([0x40]);
    expect(encodeI32(-65)).toEqual([0xbf, 0x7f]);
    expect(encodeI32(-8)).toEqual([0x78]);
    expect(encodeI32(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(encodeI32(0x7fff_ffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
    expect(encodeI32(-0x8000_0000)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
    expect(() => encodeI32(2 ** 31)).toThrow(RangeError);
  });

  it('encodes sections and limits', () => {
    expect(encodeSection(1, [0xaa, 0xbb])).toEqual([0x01, 0x02, 0xaa, 0xbb]);
    const body = new Array<number>(200).fill(0);
    expect(encodeSection(10, body).slice(0, 3)).toEqual([0x0a, 0xc8, 0x01]); // size 200 as LEB128
    expect(encodeLimits({ minimumPages: 1, shared: false })).toEqual([0x00, 0x01]);
    expect(encodeLimits({ minimumPages: 2, maximumPages: 3, shared: false })).toEqual([0x01, 0x02, 0x03]);
    expect(encodeLimits({ minimumPages: 1, maximumPages: 65536, shared: true })).toEqual([0x03, 0x01, 0x80, 0x80, 0x04]);
    expect(() => encodeLimits({ minimumPages: 1, shared: true })).toThrow(RangeError);
  });

  it('encodes SIMD instructions as 0xFD, LEB128 sub-opcode, memarg', () => {
    const a = { index: 0, type: valueType.v128, name: 'a' };
    const b = { index: 1, type: valueType.v128, name: 'b' };
    const p = { index: 2, type: valueType.i32, name: 'p' };
    expect(f32x4.add(local.get(a), local.get(b))).toEqual([0x20, 0x00, 0x20, 0x01, 0xfd, 0xe4, 0x01]);
    expect(f32x4.mul(local.get(a), local.get(b))).toEqual([0x20, 0x00, 0x20, 0x01, 0xfd, 0xe6, 0x01]);
    // v128.load32_splat: sub-opcode 9, align 2 (4 bytes), offset 4
    expect(v128.load32Splat(local.get(p), 4)).toEqual([0x20, 0x02, 0xfd, 0x09, 0x02, 0x04]);
    // v128.store: sub-opcode 11, align 4 (16 bytes), offset 200 (two LEB bytes)
    expect(v128.store(local.get(p), local.get(a), 200)).toEqual([0x20, 0x02, 0x20, 0x00, 0xfd, 0x0b, 0x04, 0xc8, 0x01]);
    expect(f32x4.extractLane(local.get(a), 3)).toEqual([0x20, 0x00, 0xfd, 0x1f, 0x03]);
    expect(() => f32x4.extractLane(local.get(a), 4)).toThrow(RangeError);
  });

  it('turns label names into relative branch depths', () => {
    const fn = new FunctionBuilder([{ name: 'n', type: valueType.i32 }]);
    fn.block('outer', () => {
      fn.loop('inner', () => {
        fn.brIf('outer', local.get(fn.param('n'))); // depth 1
        fn.brIf('inner', local.get(fn.param('n'))); // depth 0
      });
    });
    expect(fn.finish().body).toEqual([
      0x02, 0x40, //              block (no result)
      0x03, 0x40, //                loop
      0x20, 0x00, 0x0d, 0x01, //      local.get 0; br_if 1
      0x20, 0x00, 0x0d, 0x00, //      local.get 0; br_if 0
      0x0b, //                      end
      0x0b, //                    end
    ]);
    expect(() => fn.brIf('nowhere', i32.const(1))).toThrow(/no enclosing label/);
  });

  it('encodes a whole module exactly as the specification lays it out, and it runs', () => {
    const fn = new FunctionBuilder(
      [{ name: 'a', type: valueType.i32 }, { name: 'b', type: valueType.i32 }],
      [valueType.i32],
    );
    fn.emit(i32.add(local.get(fn.param('a')), local.get(fn.param('b'))));
    const bytes = encodeModule({
      memory: { module: 'env', name: 'memory', minimumPages: 1, shared: false },
      functions: [fn.finish('add')],
    });
    expect([...bytes]).toEqual([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, //                    "\0asm", version 1
      0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, //              type: [(i32 i32) → i32]
      0x02, 0x0f, 0x01, //                                                  import section, 1 import
      0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, //  "env" "memory"
      0x02, 0x00, 0x01, //                                                  memory, limits min 1
      0x03, 0x02, 0x01, 0x00, //                                            function 0 has type 0
      0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, //              export "add" = func 0
      0x0a, 0x09, 0x01, 0x07, 0x00, //                                      code: 1 body, 7 bytes, no locals
      0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, //                                local.get 0; local.get 1; i32.add; end
    ]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    expect((instance.exports.add as (a: number, b: number) => number)(2, 40)).toBe(42);
  });
});

// ---------------------------------------------------------------------------------------------
// The committed kernel
// ---------------------------------------------------------------------------------------------

describe('generated kernel file', () => {
  it('is what `npm run build:simd` would write now', () => {
    const committed = readFileSync(new URL(`../../${generatedKernelPath}`, import.meta.url), 'utf8');
    expect(committed).toBe(renderGeneratedKernelFile());
  });

  it('holds the bytes of the current kernel build, which are valid WebAssembly', () => {
    const decode = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const unshared = buildMatmulKernel('unshared');
    expect(decode(matmulKernelUnsharedBase64)).toEqual(unshared);
    expect(decode(matmulKernelSharedBase64)).toEqual(buildMatmulKernel('shared'));
    expect(WebAssembly.validate(unshared)).toBe(true);
  });
});

describe('kernel generator', () => {
  it('builds correct kernels for every tile height and k unrolling the benchmark compares', () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const random = randomSource(7);
    for (const tileRows of [1, 2, 3, 4, 5, 6]) {
      for (const kUnroll of [1, 2, 4]) {
        const module = new WebAssembly.Module(buildMatmulKernel('unshared', { tileRows, kUnroll }));
        const matmul = new WebAssembly.Instance(module, { env: { memory } }).exports.matmul as MatmulFunction;
        for (const [rows, inFeatures, outFeatures] of [[13, 11, 21], [6, 4, 8], [1, 1, 1], [7, 33, 3]] as const) {
          let next = 16;
          const take = (length: number) => {
            const view = new Float32Array(memory.buffer, next, length);
            next += Math.ceil(length / 4) * 16;
            return view;
          };
          const weight = fillUniform(new Float32Array(outFeatures * inFeatures), random);
          const packed = take(packedWeightLength(outFeatures, inFeatures)); // [P, K, 8]
          packWeightPanels(packed, weight, outFeatures, inFeatures);
          const bias = take(Math.ceil(outFeatures / 8) * 8).fill(0); //       [P · 8]
          fillUniform(bias.subarray(0, outFeatures), random);
          const x = fillUniform(take(rows * inFeatures), random); //          [R, K]
          const out = take(rows * outFeatures); //                            [R, N]
          matmul(out.byteOffset, x.byteOffset, packed.byteOffset, bias.byteOffset, rows, inFeatures, outFeatures);
          compareWithReference(out, x, weight, bias.slice(0, outFeatures), rows, inFeatures, outFeatures);
        }
      }
    }
  });

  it('rejects shapes it cannot build', () => {
    expect(() => buildMatmulKernel('unshared', { tileRows: 7, kUnroll: 1 })).toThrow(RangeError);
    expect(() => buildMatmulKernel('unshared', { tileRows: 4, kUnroll: 3 })).toThrow(RangeError);
  });
});

describe('packWeightPanels', () => {
  it('stores W [N, K] as panels [P, K, 8], zero-padding the missing features', () => {
    // W is 3 × 2: W[n, k] = 10·(n+1) + k
    const weight = new Float32Array([10, 11, 20, 21, 30, 31]);
    const packed = new Float32Array(packedWeightLength(3, 2)).fill(NaN);
    packWeightPanels(packed, weight, 3, 2);
    expect([...packed]).toEqual([
      10, 20, 30, 0, 0, 0, 0, 0, // k = 0: W[0..7, 0]
      11, 21, 31, 0, 0, 0, 0, 0, // k = 1: W[0..7, 1]
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// The kernel against the plain float64 linear
// ---------------------------------------------------------------------------------------------

describe('SIMD backend vs plain linear', () => {
  it('is supported by this runtime', () => {
    expect(simdSupported()).toBe(true);
  });

  it('matches on every combination of small, odd and tile-boundary sizes', async () => {
    const backend = await createSimdBackend();
    const random = randomSource(1);
    const rowCounts = [1, 2, 3, 4, 5, 7, 8, 9, 17];
    const inCounts = [1, 2, 3, 4, 5, 7, 8, 9, 31];
    const outCounts = [1, 3, 4, 7, 8, 9, 15, 16, 17, 33];
    let cases = 0;
    for (const rows of rowCounts) {
      for (const inFeatures of inCounts) {
        for (const outFeatures of outCounts) {
          runRandomCase(backend, random, rows, inFeatures, outFeatures, (cases++ & 1) === 0);
        }
      }
    }
    expect(cases).toBe(rowCounts.length * inCounts.length * outCounts.length);
  });

  it('matches on the model shapes within float32 rounding, K up to 1536', async () => {
    const backend = await createSimdBackend();
    const random = randomSource(2);
    let maxRelativeError = 0;
    let worstFractionOfBound = 0;
    for (const [rows, inFeatures, outFeatures] of [
      [16, 384, 384],
      [16, 384, 1536],
      [16, 1536, 384],
      [37, 384, 1152], // query, key and value in one matrix
      [13, 1536, 389], // no dimension a multiple of anything
    ] as const) {
      const result = runRandomCase(backend, random, rows, inFeatures, outFeatures, true);
      maxRelativeError = Math.max(maxRelativeError, result.maxRelativeError);
      worstFractionOfBound = Math.max(worstFractionOfBound, result.worstFractionOfBound);
    }
    console.log(
      `SIMD vs float64 linear: max |error| / Σ|x·w| = ${maxRelativeError.toExponential(2)} ` +
        `(${(worstFractionOfBound * 100).toFixed(1)}% of the worst-case float32 bound)`,
    );
    // Random rounding errors grow like √K·u, far inside the worst case K·u; 10·√1536·u ≈ 2.3e-5.
    expect(maxRelativeError).toBeLessThan(10 * Math.sqrt(1536) * float32UnitRoundoff);
  });

  it('computes zero rows without touching out', async () => {
    const backend = await createSimdBackend();
    const prepared = backend.prepare(new Float32Array(6).fill(1), 2, 3);
    const out = backend.allocate(4).fill(7);
    backend.linear(out, backend.allocate(0), prepared, null, 0);
    expect([...out]).toEqual([7, 7, 7, 7]);
  });

  it('applies the exact GELU, like the plain backend', async () => {
    const backend = await createSimdBackend();
    const random = randomSource(3);
    for (const [rows, inFeatures, outFeatures] of [[5, 384, 37], [16, 64, 1536], [1, 7, 3]] as const) {
      const weight = fillUniform(new Float32Array(outFeatures * inFeatures), random, 0.2);
      const bias = fillUniform(new Float32Array(outFeatures), random);
      const prepared = backend.prepare(weight, outFeatures, inFeatures);
      const workspace = backend.allocate(rows * inFeatures + rows * outFeatures);
      const x = fillUniform(workspace.subarray(0, rows * inFeatures), random); // [rows, K]
      const out = workspace.subarray(rows * inFeatures); //                       [rows, N]
      backend.linear(out, x, prepared, bias, rows, 'gelu');

      const plainOut = new Float32Array(rows * outFeatures);
      plainBackend.linear(plainOut, x, plainBackend.prepare(weight, outFeatures, inFeatures), bias, rows, 'gelu');
      const preActivation = new Float32Array(rows * outFeatures);
      linear(preActivation, x, weight, bias, rows, inFeatures, outFeatures);
      for (let i = 0; i < out.length; i++) {
        // gelu' is within [−0.17, 1.13], so the matmul's float32 error passes through at most
        // 1.13×; allow that plus one float32 rounding of the result.
        const tolerance = 1.13 * (inFeatures + 3) * float32UnitRoundoff * (Math.abs(preActivation[i]!) + inFeatures * 0.2);
        expect(Math.abs(out[i]! - plainOut[i]!)).toBeLessThanOrEqual(tolerance + float32UnitRoundoff * Math.abs(plainOut[i]!));
      }
      expect(out[0]).toBeCloseTo(gelu(preActivation[0]!), 4);
    }
  });

  it('reuses a prepared weight with different biases, including none', async () => {
    const backend = await createSimdBackend();
    const random = randomSource(4);
    const [rows, inFeatures, outFeatures] = [6, 10, 11];
    const weight = fillUniform(new Float32Array(outFeatures * inFeatures), random);
    const prepared = backend.prepare(weight, outFeatures, inFeatures);
    const x = fillUniform(backend.allocate(rows * inFeatures), random);
    const out = backend.allocate(rows * outFeatures);
    for (const bias of [fillUniform(new Float32Array(outFeatures), random), null, fillUniform(new Float32Array(outFeatures), random)]) {
      backend.linear(out, x, prepared, bias, rows);
      compareWithReference(out, x, weight, bias, rows, inFeatures, outFeatures);
    }
  });

  it('accepts subarrays of one workspace allocation, at any offset', async () => {
    const backend = await createSimdBackend();
    const random = randomSource(5);
    const [rows, inFeatures, outFeatures] = [5, 7, 9];
    const weight = fillUniform(new Float32Array(outFeatures * inFeatures), random);
    const prepared = backend.prepare(weight, outFeatures, inFeatures);
    const workspace = backend.allocate(1 + rows * inFeatures + 3 + rows * outFeatures);
    const x = fillUniform(workspace.subarray(1, 1 + rows * inFeatures), random); // 4-byte aligned only
    const out = workspace.subarray(1 + rows * inFeatures + 3);
    backend.linear(out, x, prepared, null, rows);
    compareWithReference(out, x, weight, null, rows, inFeatures, outFeatures);
  });
});

// ---------------------------------------------------------------------------------------------
// Memory: allocation, growth, detached and foreign views
// ---------------------------------------------------------------------------------------------

describe('SIMD backend memory', () => {
  it('hands out zeroed, disjoint, 16-byte-aligned views of its memory', async () => {
    const backend = await createSimdBackend();
    const first = backend.allocate(3);
    const second = backend.allocate(5);
    expect(first.buffer).toBe(backend.memory.buffer);
    expect([...first, ...second]).toEqual(new Array(8).fill(0));
    expect(first.byteOffset % 16).toBe(0);
    expect(second.byteOffset % 16).toBe(0);
    expect(second.byteOffset).toBeGreaterThanOrEqual(first.byteOffset + 12);
    // The first allocate also reserves the attention scratch (simd-attention.ts) and the Add &
    // Norm's γ/β slot, before its view.
    expect(backend.usedBytes).toBe(simdAttentionScratchBytes + 2 * layerNormMaxDim * 4 + 16 + 32);
  });

  it('reports a view detached by growing a plain memory, by name', async () => {
    const backend = await createSimdBackend();
    const x = backend.allocate(4);
    // 70 000 floats do not fit in the first 64 KiB page: the memory grows and x is detached.
    const prepared = backend.prepare(new Float32Array(70_000 * 4), 70_000, 4);
    const out = backend.allocate(70_000);
    expect(() => backend.linear(out, x, prepared, null, 1)).toThrow(/x was detached/);
  });

  it('avoids the growth with initialBytes', async () => {
    // 1.1 MB of weights, plus the attention scratch the first allocate reserves
    const backend = await createSimdBackend({ initialBytes: 2 * 1024 * 1024 + simdAttentionScratchBytes });
    const x = backend.allocate(4).fill(1);
    const prepared = backend.prepare(new Float32Array(70_000 * 4).fill(0.5), 70_000, 4);
    const out = backend.allocate(70_000);
    backend.linear(out, x, prepared, null, 1);
    expect(out[69_999]).toBe(2);
  });

  it('keeps old views valid when a shared memory grows', async () => {
    const backend = await createSimdBackend({ sharedMemory: true, maximumBytes: 64 * 1024 * 1024 });
    expect(backend.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const random = randomSource(6);
    const x = fillUniform(backend.allocate(3 * 5), random);
    const weight = fillUniform(new Float32Array(70_000 * 5), random);
    const prepared = backend.prepare(weight, 70_000, 5); // grows the memory
    const out = backend.allocate(3 * 70_000);
    expect(x.buffer).not.toBe(out.buffer);
    backend.linear(out, x, prepared, null, 3);
    compareWithReference(out, x, weight, null, 3, 5, 70_000);
  });

  it('refuses to grow past maximumBytes', async () => {
    const backend = await createSimdBackend({ maximumBytes: 128 * 1024 });
    expect(() => backend.allocate(64 * 1024)).toThrow(/maximumBytes/);
  });
});

describe('simdSupported', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('is false where WebAssembly is missing', () => {
    vi.stubGlobal('WebAssembly', undefined);
    expect(simdSupported()).toBe(false);
  });

  it('is false where the engine rejects the SIMD probe', () => {
    vi.stubGlobal('WebAssembly', { ...WebAssembly, validate: () => false });
    expect(simdSupported()).toBe(false);
  });

  it('is false where compiling is forbidden', () => {
    const forbidden = function Module() {
      throw new WebAssembly.CompileError('Wasm code generation disallowed by embedder');
    };
    vi.stubGlobal('WebAssembly', { ...WebAssembly, validate: WebAssembly.validate, Module: forbidden });
    expect(simdSupported()).toBe(false);
  });

  it('makes createSimdBackend fail with a clear error', async () => {
    vi.stubGlobal('WebAssembly', undefined);
    await expect(createSimdBackend()).rejects.toThrow(/SIMD128 is not available/);
  });
});

// ---------------------------------------------------------------------------------------------
// Bad input: clear errors naming the culprit
// ---------------------------------------------------------------------------------------------

describe('SIMD backend errors', () => {
  it('rejects bad weights and dimensions in prepare', async () => {
    const backend = await createSimdBackend();
    expect(() => backend.prepare(new Float32Array(5), 2, 3)).toThrow(/weight has 5 elements, expected .* = 6/);
    expect(() => backend.prepare(new Float32Array(0), 0, 3)).toThrow(/outFeatures must be a positive integer/);
    expect(() => backend.prepare(new Float32Array(3), 1, 2.5)).toThrow(/inFeatures/);
  });

  it('rejects foreign, short or overlapping buffers and bad arguments in linear', async () => {
    const backend = await createSimdBackend();
    const other = await createSimdBackend();
    const prepared = backend.prepare(new Float32Array(6), 2, 3); // N 2, K 3
    const x = backend.allocate(6);
    const out = backend.allocate(4);
    expect(() => backend.linear(out, new Float32Array(6), prepared, null, 2)).toThrow(SimdBackendError);
    expect(() => backend.linear(out, new Float32Array(6), prepared, null, 2)).toThrow(/x is not in the SIMD backend's memory/);
    expect(() => backend.linear(other.allocate(4), x, prepared, null, 2)).toThrow(/out is not in/);
    expect(() => backend.linear(out, x, prepared, null, 3)).toThrow(/x has 6 elements, needs rows × inFeatures = 3 × 3 = 9/);
    expect(() => backend.linear(out, x, prepared, new Float32Array(3), 2)).toThrow(/bias must be .* outFeatures = 2, got 3/);
    expect(() => backend.linear(out, x, other.prepare(new Float32Array(6), 2, 3), null, 2)).toThrow(/not prepared by this/);
    expect(() => backend.linear(out, x, prepared, null, -1)).toThrow(/rows must be a non-negative integer/);
    expect(() => backend.linear(out, x, prepared, null, 2, 'relu' as 'gelu')).toThrow(/unknown activation "relu"/);
    const shared = backend.allocate(8);
    expect(() => backend.linear(shared.subarray(2), shared, prepared, null, 2)).toThrow(/overlap/);
    expect(() => backend.allocate(-1)).toThrow(/allocate: length/);
  });

  it('refuses to work after dispose', async () => {
    const backend = await createSimdBackend();
    backend.dispose();
    expect(() => backend.allocate(1)).toThrow(/disposed/);
  });

  it('rejects impossible memory options', async () => {
    await expect(createSimdBackend({ maximumBytes: 2 ** 33 })).rejects.toThrow(/maximumBytes must be/);
    await expect(createSimdBackend({ initialBytes: 1 << 20, maximumBytes: 1 << 16 })).rejects.toThrow(/more than maximumBytes/);
  });
});

describe('SIMD backend: a weight given as row blocks', () => {
  it('packs it exactly as the stacked weight, whether the blocks start on panel boundaries or not', async () => {
    const backend = await createSimdBackend();
    const inFeatures = 24;
    for (const blockRows of [[16, 16, 16], [8, 5], [5, 8, 3]]) {
      const outFeatures = blockRows.reduce((a, b) => a + b, 0);
      const blocks = blockRows.map((rows, i) => randomArray(rows * inFeatures, 300 + i, 0.5));
      const stacked = new Float32Array(blocks.flatMap((block) => [...block]));
      const fromBlocks = backend.prepareRowBlocks(blocks, outFeatures, inFeatures);
      const fromStacked = backend.prepare(stacked, outFeatures, inFeatures);
      const rows = 9;
      const x = backend.allocate(rows * inFeatures);
      x.set(randomArray(rows * inFeatures, 310, 2));
      const outBlocks = backend.allocate(rows * outFeatures);
      const outStacked = backend.allocate(rows * outFeatures);
      const bias = randomArray(outFeatures, 311);
      backend.linear(outBlocks, x, fromBlocks, bias, rows);
      backend.linear(outStacked, x, fromStacked, bias, rows);
      expect([...outBlocks], `blocks ${blockRows.join('+')}`).toEqual([...outStacked]);
    }
    expect(() => backend.prepareRowBlocks([new Float32Array(24), new Float32Array(20)], 2, 22)).toThrow(/in blocks of whole rows/);
    backend.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// The linear layers' kernel over row-major weights (matmul-rows-kernel.ts)
// ---------------------------------------------------------------------------------------------

describe('matmulRows kernel generator', () => {
  it('builds correct kernels for every tile shape up to 4 × 6, writing only its columns of a wider output', () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const random = randomSource(17);
    const memoryKind = { module: 'env', name: 'memory', minimumPages: 1, shared: false } as const;
    for (let tileRows = 1; tileRows <= 4; tileRows++) {
      for (let tileFeatures = 1; tileFeatures <= 6; tileFeatures++) {
        const bytes = encodeModule({ memory: memoryKind, functions: [buildMatmulRows({ tileRows, tileFeatures }, 'matmulRows')] });
        const matmulRows = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports
          .matmulRows as MatmulRowsFunction;
        for (const [rows, inFeatures, outFeatures, extraColumns] of [[13, 11, 21, 0], [6, 4, 8, 3], [1, 1, 1, 0], [7, 33, 3, 5], [15, 9, 7, 1]] as const) {
          let next = 16;
          const take = (length: number) => {
            const view = new Float32Array(memory.buffer, next, length);
            next += Math.ceil(length / 4) * 16;
            return view;
          };
          const outStride = outFeatures + extraColumns;
          const weight = fillUniform(take(outFeatures * inFeatures), random); // [N, K]
          const bias = fillUniform(take(outFeatures), random); //               [N]
          const x = fillUniform(take(rows * inFeatures), random); //            [R, K]
          const out = take(rows * outStride).fill(Number.NaN); //                [R, outStride]
          matmulRows(out.byteOffset, x.byteOffset, weight.byteOffset, bias.byteOffset, rows, inFeatures, outFeatures, outStride);
          const written = new Float32Array(rows * outFeatures);
          for (let r = 0; r < rows; r++) {
            written.set(out.subarray(r * outStride, r * outStride + outFeatures), r * outFeatures);
            for (let n = outFeatures; n < outStride; n++) expect(out[r * outStride + n], 'a column past outFeatures').toBeNaN();
          }
          compareWithReference(written, x, weight, bias, rows, inFeatures, outFeatures);
        }
      }
    }
  });

  it('rejects shapes it cannot build', () => {
    expect(() => buildMatmulRows({ tileRows: 5, tileFeatures: 2 }, 'm')).toThrow(RangeError);
    expect(() => buildMatmulRows({ tileRows: 4, tileFeatures: 0 }, 'm')).toThrow(RangeError);
  });
});

describe('SIMD backend: weights that already lie in its memory', () => {
  it('uses them where they are (no copy), and copies any other weight in', async () => {
    const backend = await createSimdBackend();
    const [outFeatures, inFeatures, rows] = [40, 36, 9];
    const workspace = backend.allocate(outFeatures * inFeatures + outFeatures + rows * (inFeatures + outFeatures));
    const weight = workspace.subarray(0, outFeatures * inFeatures); //     [N, K] in the memory
    weight.set(randomArray(outFeatures * inFeatures, 401));
    const bias = workspace.subarray(weight.length, weight.length + outFeatures); // [N] in the memory
    bias.set(randomArray(outFeatures, 402));
    const x = workspace.subarray(weight.length + outFeatures, weight.length + outFeatures + rows * inFeatures);
    x.set(randomArray(rows * inFeatures, 403));
    const out = workspace.subarray(weight.length + outFeatures + rows * inFeatures);

    const before = backend.usedBytes;
    const inPlace = backend.prepare(weight, outFeatures, inFeatures);
    const inPlaceBytes = backend.usedBytes - before;
    expect(inPlaceBytes, 'a block table and a bias slot only').toBeLessThan(outFeatures * 4 + 64);
    const copied = backend.prepare(weight.slice(), outFeatures, inFeatures); // an ArrayBuffer of its own
    expect(backend.usedBytes - before - inPlaceBytes).toBeGreaterThanOrEqual(outFeatures * inFeatures * 4);

    backend.linear(out, x, inPlace, bias, rows);
    compareWithReference(out, x, weight, bias, rows, inFeatures, outFeatures);
    const inPlaceResult = [...out];
    backend.linear(out, x, copied, bias.slice(), rows); // the copy, and a bias outside the memory
    expect([...out]).toEqual(inPlaceResult);

    // In place means in place: a later change to the weight is what the next call reads.
    weight[0] = weight[0]! + 1; // W[0, 0]: adds x[r, 0] to out[r, 0]
    backend.linear(out, x, inPlace, bias, rows);
    expect(out[0]).toBeCloseTo(inPlaceResult[0]! + x[0]!, 4);
    backend.dispose();
  });

  it('reads row blocks (a fused Q, K, V) where each lies, with the results of the stacked weight', async () => {
    const backend = await createSimdBackend();
    const inFeatures = 20;
    const blockRows = [12, 7, 12];
    const outFeatures = blockRows.reduce((a, b) => a + b, 0);
    const rows = 11;
    // Three blocks in one allocation with gaps between them, as a checkpoint's tensors lie.
    const gap = 8;
    const region = backend.allocate(outFeatures * inFeatures + 3 * gap + rows * (inFeatures + outFeatures));
    let at = 0;
    const blocks = blockRows.map((blockRowCount, i) => {
      const block = region.subarray(at, at + blockRowCount * inFeatures);
      block.set(randomArray(block.length, 410 + i));
      at += block.length + gap;
      return block;
    });
    const x = region.subarray(at, at + rows * inFeatures);
    x.set(randomArray(x.length, 415));
    const out = region.subarray(at + rows * inFeatures, at + rows * (inFeatures + outFeatures));
    const before = backend.usedBytes;
    const fused = backend.prepareRowBlocks(blocks, outFeatures, inFeatures);
    expect(backend.usedBytes - before).toBeLessThan(outFeatures * 4 + 64);
    const stacked = backend.prepare(new Float32Array(blocks.flatMap((block) => [...block])), outFeatures, inFeatures);
    const bias = randomArray(outFeatures, 416);
    backend.linear(out, x, stacked, bias, rows);
    const want = [...out];
    out.fill(0);
    backend.linear(out, x, fused, bias, rows);
    expect([...out]).toEqual(want);
    backend.dispose();
  });

  it('works over a memory the caller made and filled, leaving the bytes below firstFreeByte alone', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024, shared: true });
    const [outFeatures, inFeatures, rows] = [24, 16, 5];
    const callerBytes = 16 + outFeatures * inFeatures * 4 + 7; // an odd end: the backend aligns it up
    const weight = new Float32Array(memory.buffer, 16, outFeatures * inFeatures);
    weight.set(randomArray(weight.length, 420));
    const snapshot = new Uint8Array(memory.buffer.slice(0, callerBytes));
    const backend = await createSimdBackend({ sharedMemory: true, memory, firstFreeByte: callerBytes });
    expect(backend.memory).toBe(memory);
    const prepared = backend.prepare(weight, outFeatures, inFeatures);
    const workspace = backend.allocate(rows * (inFeatures + outFeatures) + 200_000); // grows the memory
    const x = workspace.subarray(0, rows * inFeatures);
    x.set(randomArray(x.length, 421));
    const out = workspace.subarray(rows * inFeatures, rows * (inFeatures + outFeatures));
    backend.linear(out, x, prepared, null, rows);
    compareWithReference(out, x, weight, null, rows, inFeatures, outFeatures);
    expect(x.byteOffset).toBeGreaterThanOrEqual(callerBytes);
    expect(Buffer.compare(Buffer.from(new Uint8Array(memory.buffer, 0, callerBytes)), Buffer.from(snapshot))).toBe(0);
    backend.dispose();

    await expect(createSimdBackend({ memory: new WebAssembly.Memory({ initial: 1 }), sharedMemory: true })).rejects.toThrow(
      /must be shared/,
    );
    await expect(createSimdBackend({ memory, sharedMemory: false })).rejects.toThrow(/must be plain/);
    await expect(createSimdBackend({ memory, sharedMemory: true, firstFreeByte: 1 << 30 })).rejects.toThrow(/firstFreeByte/);
  });
});
