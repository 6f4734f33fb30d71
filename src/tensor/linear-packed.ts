/**
 * The linear layer, fast pure-JavaScript version: `out = activation(x · Wᵀ + b)`.
 *
 * Why it exists: the plain kernel (`linear.ts`: three nested loops over the checkpoint's own
 * `[outFeatures, inFeatures]` layout) reaches 0.3–1 GFLOPS. JavaScript has no SIMD and no FMA:
 * every multiply-add is one scalar float64 multiply and one add, and every Float32Array load
 * also costs a bounds check and a float32→float64 conversion. The only lever left is to do
 * more arithmetic per load. This kernel reaches about 3–4 GFLOPS on one thread by
 *   1. computing a 2×4 tile of outputs at once (2 rows of x times 4 output features):
 *      8 accumulators held in local variables (CPU registers), fed by 6 loads per 8
 *      multiply-adds instead of 2 loads per multiply-add;
 *   2. repacking each weight matrix once, at load time, so that the 4 weights a step needs
 *      are adjacent and the whole panel is read front to back.
 * Measured alternatives that lost (V8, x86-64): 4×4 tiles (16 accumulators + 8 operands do not
 * fit in 16 xmm registers, so they spill: ~25% slower), 3×4 and 4×2 tiles (no better), unrolling
 * the k loop (no gain), cache blocking (the kernel is instruction-bound, not memory-bound), and
 * `Math.fround` in the loop (1.7× slower).
 *
 * The arithmetic is the same as `linear.ts`, operation for operation: each output starts from
 * its bias (or 0), adds x[r, k]·W[n, k] for k = 0, 1, … in float64, and is rounded to float32
 * once when stored; GELU, when fused, is applied to that float32 value. So the result is
 * bit-identical to `linear` followed by `geluInPlace`, whatever the tile a row falls in (an odd
 * last row goes through a 1×4 tile), and rows can be split between threads freely (`rowStart`,
 * `rowEnd`).
 *
 * Dimensions:
 *   rows         R  number of token vectors
 *   inFeatures   K  length of each input vector
 *   outFeatures  N  length of each output vector
 *   panels       P  ⌈N / 4⌉, groups of 4 output features
 *
 * Packed weight layout, [P, K, 4]: panel p holds output features 4p…4p+3, interleaved by k.
 *
 *   weight [N, K] (PyTorch layout)          packed [P, K, 4]
 *     n=0: a0 a1 a2 … aK-1                    panel 0: a0 b0 c0 d0 │ a1 b1 c1 d1 │ … │ aK-1 bK-1 cK-1 dK-1
 *     n=1: b0 b1 b2 … bK-1                    panel 1: e0 f0 0  0  │ e1 f1 0  0  │ …
 *     n=2: c0 c1 c2 … cK-1                              └ N = 6 is not a multiple of 4: the
 *     n=3: d0 d1 d2 … dK-1                                last panel is padded with zeros,
 *     n=4: e0 …                                           whose outputs are never stored
 *     n=5: f0 …
 *
 * One step k of a tile (rows r, r+1 × features 4p…4p+3) reads 4 adjacent weights and 2 inputs:
 *
 *                      w0      w1      w2      w3        ← packed[p, k, 0..3]
 *     x0 = x[r,   k]   c00 +=  c01 +=  c02 +=  c03 +=    (c_ij += x_i · w_j)
 *     x1 = x[r+1, k]   c10 +=  c11 +=  c12 +=  c13 +=
 *
 * Left out: threads (see `threaded-backend.ts`, which calls `linearPacked` on row ranges),
 * SIMD (not expressible in JavaScript), and activations other than exact GELU.
 */

import type { LinearActivation, PreparedLinear } from './backend.ts';
import { gelu } from './gelu.ts';

/** Output features per panel: the width of the tile. */
export const PANEL_WIDTH = 4;

/** Bad dimensions or buffers passed to a linear kernel or backend. */
export class LinearShapeError extends Error {
  override name = 'LinearShapeError';
}

/** A weight matrix repacked into panels (the layout drawn in the header). */
export interface PackedLinearWeight extends PreparedLinear {
  readonly outFeatures: number; // N
  readonly inFeatures: number; // K
  readonly data: Float32Array; // [⌈N/4⌉, K, 4], zero-padded
}

// Every PackedLinearWeight built by packLinearWeight, so that a foreign object is refused clearly.
const packedWeights = new WeakSet<PackedLinearWeight>();

/** Number of floats in the packed form of an [outFeatures, inFeatures] weight. */
export function packedWeightLength(outFeatures: number, inFeatures: number): number {
  checkDimension('outFeatures', outFeatures);
  checkDimension('inFeatures', inFeatures);
  return Math.ceil(outFeatures / PANEL_WIDTH) * PANEL_WIDTH * inFeatures;
}

/**
 * Repacks weight [outFeatures, inFeatures] into panels [⌈N/4⌉, K, 4]. Done once per matrix at
 * load time; the original view is not kept. `target` (optional) receives the packed floats,
 * e.g. an array in shared memory; it must hold exactly `packedWeightLength(N, K)` floats.
 */
export function packLinearWeight(
  weight: Float32Array,
  outFeatures: number,
  inFeatures: number,
  target?: Float32Array,
): PackedLinearWeight {
  const length = packedWeightLength(outFeatures, inFeatures);
  if (weight.length !== outFeatures * inFeatures) {
    throw new LinearShapeError(
      `weight has ${weight.length} floats, expected outFeatures × inFeatures = ${outFeatures} × ${inFeatures} = ${outFeatures * inFeatures}`,
    );
  }
  if (target !== undefined && target.length !== length) {
    throw new LinearShapeError(`packing target has ${target.length} floats, expected ${length}`);
  }
  const data = target ?? new Float32Array(length); // [⌈N/4⌉, K, 4]
  const K = inFeatures;
  for (let n = 0; n < outFeatures; n++) {
    const panelStart = Math.floor(n / PANEL_WIDTH) * PANEL_WIDTH * K;
    const lane = n % PANEL_WIDTH;
    const wRow = n * K;
    for (let k = 0; k < K; k++) data[panelStart + k * PANEL_WIDTH + lane] = weight[wRow + k]!;
  }
  // Padding lanes of the last panel must be zero (a reused target may hold old values).
  for (let n = outFeatures; n < Math.ceil(outFeatures / PANEL_WIDTH) * PANEL_WIDTH; n++) {
    const panelStart = Math.floor(n / PANEL_WIDTH) * PANEL_WIDTH * K;
    for (let k = 0; k < K; k++) data[panelStart + k * PANEL_WIDTH + (n % PANEL_WIDTH)] = 0;
  }
  const packed: PackedLinearWeight = { outFeatures, inFeatures, data };
  packedWeights.add(packed);
  return packed;
}

/**
 * Wraps floats that were packed earlier (e.g. shared memory filled by `packLinearWeight` on
 * another thread) without copying them.
 */
export function wrapPackedLinearWeight(data: Float32Array, outFeatures: number, inFeatures: number): PackedLinearWeight {
  const length = packedWeightLength(outFeatures, inFeatures);
  if (data.length !== length) {
    throw new LinearShapeError(`packed weight has ${data.length} floats, expected ${length} for [${outFeatures}, ${inFeatures}]`);
  }
  const packed: PackedLinearWeight = { outFeatures, inFeatures, data };
  packedWeights.add(packed);
  return packed;
}

/** True if `prepared` was built by packLinearWeight or wrapPackedLinearWeight. */
export function isPackedLinearWeight(prepared: PreparedLinear): prepared is PackedLinearWeight {
  return packedWeights.has(prepared as PackedLinearWeight);
}

/**
 * Rows [rowStart, rowEnd) of out = activation(x · Wᵀ + b); other rows of `out` are untouched.
 *
 * @param out    [≥ rowEnd, outFeatures]   rows rowStart…rowEnd-1 written, not read
 * @param x      [≥ rowEnd, inFeatures]
 * @param packed from packLinearWeight
 * @param bias   [outFeatures] or null
 */
export function linearPacked(
  out: Float32Array,
  x: Float32Array,
  packed: PackedLinearWeight,
  bias: Float32Array | null,
  rowStart: number,
  rowEnd: number,
  activation: LinearActivation = 'none',
): void {
  checkLinearArguments(out, x, packed, bias, rowStart, rowEnd, activation);
  const K = packed.inFeatures;
  const N = packed.outFeatures;
  const panels = packed.data;
  const panelCount = Math.ceil(N / PANEL_WIDTH);
  const applyGelu = activation === 'gelu';
  let row = rowStart;
  for (; row + 2 <= rowEnd; row += 2) {
    for (let panel = 0; panel < panelCount; panel++) tile2x4(out, x, panels, bias, row, panel, K, N, applyGelu);
  }
  if (row < rowEnd) {
    for (let panel = 0; panel < panelCount; panel++) tile1x4(out, x, panels, bias, row, panel, K, N, applyGelu);
  }
}

/** Rows `row`, `row + 1` × features of `panel`: the hot loop. */
function tile2x4(
  out: Float32Array, // [R, N]
  x: Float32Array, // [R, K]
  panels: Float32Array, // [P, K, 4]
  bias: Float32Array | null, // [N]
  row: number,
  panel: number,
  K: number,
  N: number,
  applyGelu: boolean,
): void {
  const n0 = panel * PANEL_WIDTH; // first output feature of the panel
  const width = N - n0 < PANEL_WIDTH ? N - n0 : PANEL_WIDTH; // features stored (< 4 in a padded panel)
  const b0 = biasAt(bias, n0, width), b1 = biasAt(bias, n0 + 1, width - 1);
  const b2 = biasAt(bias, n0 + 2, width - 2), b3 = biasAt(bias, n0 + 3, width - 3);
  // c_ij: row `row + i`, feature n0 + j. Start from the bias, as linear.ts does.
  let c00 = b0, c01 = b1, c02 = b2, c03 = b3;
  let c10 = b0, c11 = b1, c12 = b2, c13 = b3;
  // The loops below write the panel width as a literal 4: reading the module constant
  // PANEL_WIDTH inside a loop costs V8 a context load and a check on every step.
  let w = (panel * K * 4) | 0; // packed[panel, k, 0]
  let x0 = (row * K) | 0; // x[row, k]
  let x1 = (x0 + K) | 0; // x[row + 1, k]
  const x0End = (x0 + K) | 0;
  while (x0 < x0End) {
    const w0 = panels[w]!, w1 = panels[(w + 1) | 0]!, w2 = panels[(w + 2) | 0]!, w3 = panels[(w + 3) | 0]!;
    const xa = x[x0]!;
    c00 += xa * w0; c01 += xa * w1; c02 += xa * w2; c03 += xa * w3;
    const xb = x[x1]!;
    c10 += xb * w0; c11 += xb * w1; c12 += xb * w2; c13 += xb * w3;
    w = (w + 4) | 0;
    x0 = (x0 + 1) | 0;
    x1 = (x1 + 1) | 0;
  }
  const o0 = row * N + n0;
  storeFour(out, o0, width, c00, c01, c02, c03, applyGelu);
  storeFour(out, o0 + N, width, c10, c11, c12, c13, applyGelu);
}

/** One row × features of `panel`: the last row when the row count is odd. */
function tile1x4(
  out: Float32Array, // [R, N]
  x: Float32Array, // [R, K]
  panels: Float32Array, // [P, K, 4]
  bias: Float32Array | null, // [N]
  row: number,
  panel: number,
  K: number,
  N: number,
  applyGelu: boolean,
): void {
  const n0 = panel * PANEL_WIDTH;
  const width = N - n0 < PANEL_WIDTH ? N - n0 : PANEL_WIDTH;
  let c0 = biasAt(bias, n0, width), c1 = biasAt(bias, n0 + 1, width - 1);
  let c2 = biasAt(bias, n0 + 2, width - 2), c3 = biasAt(bias, n0 + 3, width - 3);
  let w = (panel * K * 4) | 0;
  let x0 = (row * K) | 0;
  const x0End = (x0 + K) | 0;
  while (x0 < x0End) {
    const xa = x[x0]!;
    c0 += xa * panels[w]!; c1 += xa * panels[(w + 1) | 0]!;
    c2 += xa * panels[(w + 2) | 0]!; c3 += xa * panels[(w + 3) | 0]!;
    w = (w + 4) | 0;
    x0 = (x0 + 1) | 0;
  }
  storeFour(out, row * N + n0, width, c0, c1, c2, c3, applyGelu);
}

/** bias[n], or 0 without a bias or for a padding lane (`remaining` ≤ 0: n is past outFeatures). */
function biasAt(bias: Float32Array | null, n: number, remaining: number): number {
  return bias === null || remaining <= 0 ? 0 : bias[n]!;
}

/** Stores the first `width` of four sums at out[o…], rounding to float32 (then GELU if asked). */
function storeFour(
  out: Float32Array,
  o: number,
  width: number,
  s0: number,
  s1: number,
  s2: number,
  s3: number,
  applyGelu: boolean,
): void {
  out[o] = applyGelu ? gelu(Math.fround(s0)) : s0;
  if (width > 1) out[o + 1] = applyGelu ? gelu(Math.fround(s1)) : s1;
  if (width > 2) out[o + 2] = applyGelu ? gelu(Math.fround(s2)) : s2;
  if (width > 3) out[o + 3] = applyGelu ? gelu(Math.fround(s3)) : s3;
}

function checkDimension(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new LinearShapeError(`${name} must be a positive integer, got ${value}`);
  }
}

/**
 * The checks shared by every entry point, so that the kernels never read past an array (which
 * in JavaScript yields `undefined` → NaN, silently) or write outside the rows asked for.
 */
export function checkLinearArguments(
  out: Float32Array,
  x: Float32Array,
  packed: PreparedLinear,
  bias: Float32Array | null,
  rowStart: number,
  rowEnd: number,
  activation: LinearActivation,
): asserts packed is PackedLinearWeight {
  if (!isPackedLinearWeight(packed)) {
    throw new LinearShapeError('weight was not prepared by packLinearWeight (or by this backend)');
  }
  const K = packed.inFeatures;
  const N = packed.outFeatures;
  if (!Number.isSafeInteger(rowStart) || !Number.isSafeInteger(rowEnd) || rowStart < 0 || rowEnd < rowStart) {
    throw new LinearShapeError(`row range [${rowStart}, ${rowEnd}) must be integers with 0 ≤ rowStart ≤ rowEnd`);
  }
  if (x.length < rowEnd * K) {
    throw new LinearShapeError(`x has ${x.length} floats, rows up to ${rowEnd} × inFeatures ${K} need ${rowEnd * K}`);
  }
  if (out.length < rowEnd * N) {
    throw new LinearShapeError(`out has ${out.length} floats, rows up to ${rowEnd} × outFeatures ${N} need ${rowEnd * N}`);
  }
  if (bias !== null && bias.length !== N) {
    throw new LinearShapeError(`bias has ${bias.length} floats, expected outFeatures = ${N}`);
  }
  if (activation !== 'none' && activation !== 'gelu') {
    throw new LinearShapeError(`unknown activation ${JSON.stringify(activation)} (expected 'none' or 'gelu')`);
  }
  if (rowEnd > rowStart && out.buffer === x.buffer) {
    const outStart = out.byteOffset + rowStart * N * 4, outEnd = out.byteOffset + rowEnd * N * 4;
    const xStart = x.byteOffset + rowStart * K * 4, xEnd = x.byteOffset + rowEnd * K * 4;
    if (outStart < xEnd && xStart < outEnd) throw new LinearShapeError('out overlaps x: the kernel would read its own output');
  }
}
