/**
 * The tiled linear kernel (linear-packed.ts, reading W in place) against the plain one
 * (linear.ts + geluInPlace), on random inputs.
 *
 * Both accumulate in float64 in the same order (bias first, then k = 0, 1, …) and round to float32
 * once, so the tiled kernel must agree bit for bit, not merely within a tolerance: any
 * difference means a tile reads a wrong weight or input.
 */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { linear } from '../../src/tensor/linear.ts';
import { geluInPlace } from '../../src/tensor/gelu.ts';
import { plainBackend } from '../../src/tensor/backend.ts';
import { LARGEST_CURSOR, LinearShapeError, linearTiled, stackRows, wrapLinearWeight } from '../../src/tensor/linear-packed.ts';
import { packedBackend } from '../../src/tensor/packed-backend.ts';
import { firstDifference, randomArray } from '../helpers/random.ts';


/** The reference: linear.ts, then GELU as a separate pass. */
function plainLinear(
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array | null,
  rows: number,
  inFeatures: number,
  outFeatures: number,
  activation: 'none' | 'gelu',
): Float32Array {
  const out = new Float32Array(rows * outFeatures);
  linear(out, x, weight, bias, rows, inFeatures, outFeatures);
  if (activation === 'gelu') geluInPlace(out);
  return out;
}


function expectIdentical(actual: Float32Array, expected: Float32Array, label: string): void {
  const i = firstDifference(actual, expected);
  if (i !== -1) {
    expect.fail(`${label}: first difference at ${i}: tiled ${actual[i]} vs plain ${expected[i]}`);
  }
}

interface Case {
  rows: number;
  inFeatures: number;
  outFeatures: number;
  withBias: boolean;
  activation: 'none' | 'gelu';
  seed: number;
}

function runCase({ rows, inFeatures, outFeatures, withBias, activation, seed }: Case): void {
  const x = randomArray(rows * inFeatures, seed, 2);
  const weight = randomArray(outFeatures * inFeatures, seed + 1, 0.5);
  const bias = withBias ? randomArray(outFeatures, seed + 2) : null;
  const expected = plainLinear(x, weight, bias, rows, inFeatures, outFeatures, activation);
  const wrapped = wrapLinearWeight(weight, outFeatures, inFeatures);
  const out = new Float32Array(rows * outFeatures).fill(Number.NaN); // must all be overwritten
  linearTiled(out, x, wrapped, bias, 0, rows, activation);
  expectIdentical(out, expected, `[${rows}×${inFeatures}]·[${outFeatures}×${inFeatures}]ᵀ bias=${withBias} ${activation}`);
}

describe('linearTiled vs plain linear', () => {
  // Sizes around the tile (2 rows × 4 features): 1, below, at and just past each multiple.
  const rowCounts = [1, 2, 3, 5, 16, 17];
  const featureCounts = [1, 3, 4, 5, 8, 17];

  it('matches bit for bit on every combination of small odd and even sizes', () => {
    let seed = 1;
    for (const rows of rowCounts) {
      for (const inFeatures of featureCounts) {
        for (const outFeatures of featureCounts) {
          for (const withBias of [false, true]) {
            for (const activation of ['none', 'gelu'] as const) {
              runCase({ rows, inFeatures, outFeatures, withBias, activation, seed: seed++ });
            }
          }
        }
      }
    }
  });

  it('matches bit for bit on the model shapes (16 rows, 17 rows)', () => {
    const shapes: Array<[number, number, 'none' | 'gelu']> = [
      [384, 384, 'none'], // attention projections
      [384, 1536, 'gelu'], // feed-forward up
      [1536, 384, 'none'], // feed-forward down
    ];
    let seed = 100;
    for (const rows of [16, 17]) {
      for (const [inFeatures, outFeatures, activation] of shapes) {
        runCase({ rows, inFeatures, outFeatures, withBias: true, activation, seed: seed++ });
      }
    }
  });

  it('matches bit for bit on random shapes (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          rows: fc.integer({ min: 1, max: 12 }),
          inFeatures: fc.integer({ min: 1, max: 70 }),
          outFeatures: fc.integer({ min: 1, max: 70 }),
          withBias: fc.boolean(),
          activation: fc.constantFrom('none' as const, 'gelu' as const),
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        }),
        (c) => runCase(c),
      ),
      { numRuns: 200 },
    );
  });

  it('keeps large and tiny magnitudes exact (no float32 rounding inside the sum)', () => {
    // Products that cancel: a float32 accumulator would lose the small terms, float64 keeps them.
    const inFeatures = 7, outFeatures = 5, rows = 3;
    const x = randomArray(rows * inFeatures, 7, 1e4);
    const weight = randomArray(outFeatures * inFeatures, 8, 1e-3);
    x[0] = 3e4; weight[0] = 1e3; x[1] = 3e4; weight[1] = -1e3; // 3e7 − 3e7 in the first output
    const bias = randomArray(outFeatures, 9, 1e-6);
    for (const activation of ['none', 'gelu'] as const) {
      const expected = plainLinear(x, weight, bias, rows, inFeatures, outFeatures, activation);
      const out = new Float32Array(rows * outFeatures);
      linearTiled(out, x, wrapLinearWeight(weight, outFeatures, inFeatures), bias, 0, rows, activation);
      expectIdentical(out, expected, `large magnitudes ${activation}`);
    }
  });

  it('computes only rows [rowStart, rowEnd), and any split gives the same result', () => {
    const rows = 11, inFeatures = 13, outFeatures = 9;
    const x = randomArray(rows * inFeatures, 21);
    const weight = randomArray(outFeatures * inFeatures, 22);
    const bias = randomArray(outFeatures, 23);
    const wrapped = wrapLinearWeight(weight, outFeatures, inFeatures);
    const expected = plainLinear(x, weight, bias, rows, inFeatures, outFeatures, 'gelu');
    const sentinel = 12345;
    for (let start = 0; start <= rows; start++) {
      for (let end = start; end <= rows; end++) {
        const out = new Float32Array(rows * outFeatures).fill(sentinel);
        linearTiled(out, x, wrapped, bias, start, end, 'gelu');
        for (let r = 0; r < rows; r++) {
          const row = out.subarray(r * outFeatures, (r + 1) * outFeatures);
          if (r >= start && r < end) {
            expectIdentical(row, expected.subarray(r * outFeatures, (r + 1) * outFeatures), `row ${r} of [${start}, ${end})`);
          } else {
            expect(row.every((v) => v === sentinel), `row ${r} outside [${start}, ${end}) was written`).toBe(true);
          }
        }
      }
    }
  });

  it('bias-less layers of different widths in turn share one zero bias without reading past it or into each other', () => {
    // Narrow, wide, narrow, wider: the shared zeros grow, and a wide array serves narrow layers.
    [[3, 5, 4], [4, 9, 17], [3, 5, 4], [5, 6, 33]].forEach(([rows, inFeatures, outFeatures], i) =>
      runCase({ rows: rows!, inFeatures: inFeatures!, outFeatures: outFeatures!, withBias: false, activation: i % 2 === 0 ? 'none' : 'gelu', seed: 70 + 3 * i }),
    );
  });

  it('reads x and out through subarray views with an offset', () => {
    const rows = 5, inFeatures = 6, outFeatures = 7;
    const xBacking = randomArray(3 + rows * inFeatures, 31);
    const x = xBacking.subarray(3);
    const weight = randomArray(outFeatures * inFeatures, 32);
    const outBacking = new Float32Array(5 + rows * outFeatures);
    const out = outBacking.subarray(5);
    linearTiled(out, x, wrapLinearWeight(weight, outFeatures, inFeatures), null, 0, rows);
    expectIdentical(out, plainLinear(x, weight, null, rows, inFeatures, outFeatures, 'none'), 'offset views');
    expect(Array.from(outBacking.subarray(0, 5))).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('wrapLinearWeight', () => {
  it('uses the caller\'s floats in place: no copy, and the kernel reads them as they are', () => {
    const outFeatures = 6, inFeatures = 3, rows = 3;
    const weight = randomArray(outFeatures * inFeatures, 41);
    const wrapped = wrapLinearWeight(weight, outFeatures, inFeatures);
    expect(wrapped.blocks.map((block) => block.data)).toEqual([weight]);
    expect(wrapped.blocks[0]!.data).toBe(weight);
    expect(wrapped.outFeatures).toBe(outFeatures);
    expect(wrapped.inFeatures).toBe(inFeatures);
    // Changing W after wrapping changes the result: the view is read, not a copy taken at wrap time.
    weight[2 * inFeatures + 1] = 7;
    const x = randomArray(rows * inFeatures, 42);
    const out = new Float32Array(rows * outFeatures);
    linearTiled(out, x, wrapped, null, 0, rows);
    expectIdentical(out, plainLinear(x, weight, null, rows, inFeatures, outFeatures, 'none'), 'after changing W');
  });

  it('works on a subarray view of a larger buffer (a tensor inside the checkpoint)', () => {
    const outFeatures = 5, inFeatures = 7, rows = 4;
    const checkpoint = randomArray(11 + outFeatures * inFeatures + 13, 43);
    const weight = checkpoint.subarray(11, 11 + outFeatures * inFeatures);
    const bias = checkpoint.subarray(0, outFeatures);
    const x = randomArray(rows * inFeatures, 44);
    const out = new Float32Array(rows * outFeatures);
    linearTiled(out, x, wrapLinearWeight(weight, outFeatures, inFeatures), bias, 0, rows, 'gelu');
    expectIdentical(out, plainLinear(x, weight, bias, rows, inFeatures, outFeatures, 'gelu'), 'checkpoint view');
  });

  it('rejects bad sizes with a message naming the culprit', () => {
    expect(() => wrapLinearWeight(new Float32Array(11), 3, 4)).toThrow(/weight has 11 floats, expected .* 12/);
    expect(() => wrapLinearWeight(new Float32Array(13), 3, 4)).toThrow(/weight has 13 floats, expected .* 12/);
    expect(() => wrapLinearWeight(new Float32Array(0), 0, 4)).toThrow(/outFeatures must be a positive integer/);
    expect(() => wrapLinearWeight(new Float32Array(6), 3, 2.5)).toThrow(/inFeatures must be a positive integer/);
  });

  it('refuses a weight past the tiles\' cursor limit (2^30 − 1 floats) before looking at its floats', () => {
    expect(LARGEST_CURSOR).toBe(2 ** 30 - 1);
    expect(() => wrapLinearWeight(new Float32Array(4), 2 ** 15, 2 ** 15)).toThrow(/past the kernel's index limit \(1073741823 floats\)/);
    // Exactly at the limit is allowed: the check that fails next is the length one.
    expect(() => wrapLinearWeight(new Float32Array(3), 1, LARGEST_CURSOR)).toThrow(/weight has 3 floats/);
  });
});

describe('linearTiled argument checks', () => {
  const rows = 3, inFeatures = 4, outFeatures = 5;
  const wrapped = wrapLinearWeight(randomArray(outFeatures * inFeatures, 61), outFeatures, inFeatures);
  const x = randomArray(rows * inFeatures, 62);
  const out = new Float32Array(rows * outFeatures);

  it('rejects short buffers, a wrong bias, bad row ranges and unknown activations', () => {
    expect(() => linearTiled(out, x.subarray(1), wrapped, null, 0, rows)).toThrow(/x has 11 floats/);
    expect(() => linearTiled(out.subarray(1), x, wrapped, null, 0, rows)).toThrow(/out has 14 floats/);
    expect(() => linearTiled(out, x, wrapped, new Float32Array(4), 0, rows)).toThrow(/bias has 4 floats, expected outFeatures = 5/);
    expect(() => linearTiled(out, x, wrapped, null, 2, 1)).toThrow(/row range \[2, 1\)/);
    expect(() => linearTiled(out, x, wrapped, null, -1, 1)).toThrow(LinearShapeError);
    expect(() => linearTiled(out, x, wrapped, null, 0, 1.5)).toThrow(LinearShapeError);
    expect(() => linearTiled(out, x, wrapped, null, 0, 4)).toThrow(/rows up to 4/);
    // x's floats past the cursor limit (2^28 rows × 4 = 2^30) are refused before its length is checked.
    expect(() => linearTiled(out, x, wrapped, null, 0, 2 ** 28)).toThrow(/past the kernel's index limit/);
    expect(() => linearTiled(out, x, wrapped, null, 0, 2 ** 28 - 1)).toThrow(/x has 12 floats/);
    // @ts-expect-error: an activation the kernel does not know
    expect(() => linearTiled(out, x, wrapped, null, 0, rows, 'relu')).toThrow(/unknown activation "relu"/);
  });

  it('rejects a weight that was not wrapped, and out overlapping x', () => {
    const fake = { outFeatures, inFeatures, blocks: [{ data: new Float32Array(outFeatures * inFeatures), rows: outFeatures }] };
    expect(() => linearTiled(out, x, fake, null, 0, rows)).toThrow(/not prepared by wrapLinearWeight/);
    const shared = new Float32Array(rows * outFeatures + rows * inFeatures);
    const overlapping = shared.subarray(2);
    expect(() => linearTiled(shared, overlapping, wrapped, null, 0, rows)).toThrow(/overlaps x/);
    // Disjoint parts of one buffer are fine.
    linearTiled(shared.subarray(0, rows * outFeatures), shared.subarray(rows * outFeatures), wrapped, null, 0, rows);
  });
});

describe('packedBackend', () => {
  it('gives the same results as plainBackend', () => {
    let seed = 200;
    for (const [rows, inFeatures, outFeatures] of [[1, 1, 1], [7, 9, 13], [4, 32, 12]] as const) {
      for (const activation of ['none', 'gelu'] as const) {
        const weight = randomArray(outFeatures * inFeatures, seed++);
        const bias = randomArray(outFeatures, seed++);
        const x = randomArray(rows * inFeatures, seed++);
        const expected = plainBackend.allocate(rows * outFeatures);
        plainBackend.linear(expected, x, plainBackend.prepare(weight, outFeatures, inFeatures), bias, rows, activation);
        const out = packedBackend.allocate(rows * outFeatures);
        const xCopy = packedBackend.allocate(rows * inFeatures);
        xCopy.set(x);
        packedBackend.linear(out, xCopy, packedBackend.prepare(weight, outFeatures, inFeatures), bias, rows, activation);
        expectIdentical(out, expected, `backend ${rows}×${inFeatures}→${outFeatures} ${activation}`);
      }
    }
  });

  it('allocates zeroed arrays and refuses weights prepared by another backend', () => {
    const buffer = packedBackend.allocate(10);
    expect(buffer).toBeInstanceOf(Float32Array);
    expect(Array.from(buffer)).toEqual(new Array(10).fill(0));
    const foreign = plainBackend.prepare(new Float32Array(4), 2, 2);
    expect(() => packedBackend.linear(new Float32Array(2), new Float32Array(2), foreign, null, 1)).toThrow(LinearShapeError);
  });

  it('prepares a weight in place: the checkpoint\'s view is the only copy', () => {
    const weight = randomArray(4 * 3, 300);
    const prepared = packedBackend.prepare(weight, 4, 3) as unknown as { blocks: { data: Float32Array }[] };
    expect(prepared.blocks[0]!.data).toBe(weight);
    expect(() => packedBackend.prepare(new Float32Array(11), 4, 3)).toThrow(/weight has 11 floats/);
  });

  it('accepts zero rows', () => {
    const prepared = packedBackend.prepare(randomArray(6, 1), 3, 2);
    packedBackend.linear(new Float32Array(0), new Float32Array(0), prepared, null, 0);
  });
});

describe('a weight given as row blocks', () => {
  it('computes exactly what the stacked weight computes, whatever the block sizes', () => {
    const inFeatures = 7;
    for (const blockRows of [[4, 4, 4], [5, 3, 8], [1, 2, 3], [9], [2, 13]]) {
      const outFeatures = blockRows.reduce((a, b) => a + b, 0);
      const blocks = blockRows.map((rows, i) => randomArray(rows * inFeatures, 60 + i, 0.5));
      const stacked = stackRows(blocks);
      expect(stacked.length).toBe(outFeatures * inFeatures);
      for (const rows of [1, 2, 5]) {
        const x = randomArray(rows * inFeatures, 70 + rows, 2);
        const bias = randomArray(outFeatures, 80);
        for (const activation of ['none', 'gelu'] as const) {
          const want = new Float32Array(rows * outFeatures);
          linear(want, x, stacked, bias, rows, inFeatures, outFeatures);
          if (activation === 'gelu') geluInPlace(want);
          const got = new Float32Array(rows * outFeatures);
          linearTiled(got, x, wrapLinearWeight(blocks, outFeatures, inFeatures), bias, 0, rows, activation);
          expect([...got], `blocks ${blockRows.join('+')}, ${rows} rows, ${activation}`).toEqual([...want]);
        }
      }
    }
  });

  it('refuses blocks that are not whole rows or do not add up', () => {
    expect(() => wrapLinearWeight([new Float32Array(6), new Float32Array(5)], 4, 3)).toThrow(/blocks of 6 \+ 5 floats/);
    expect(() => wrapLinearWeight([new Float32Array(6), new Float32Array(10)], 4, 4)).toThrow(/in blocks of whole rows/);
    expect(() => wrapLinearWeight([], 1, 1)).toThrow(/non-empty array/);
  });
});
