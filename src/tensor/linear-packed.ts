/**
 * The linear layer, fast pure-JavaScript version: `out = activation(x · Wᵀ + b)`, reading the
 * weight in the checkpoint's own layout, in place.
 *
 * Why it exists: the plain kernel (`linear.ts`: three nested loops over the same
 * `[outFeatures, inFeatures]` layout) reaches 0.3–1 GFLOPS. JavaScript has no SIMD and no FMA:
 * every multiply-add is one scalar float64 multiply and one add, and every Float32Array load
 * also costs a bounds check and a float32→float64 conversion. The only lever left is to do
 * more arithmetic per load. This kernel reaches 4.0–4.8 GFLOPS on one thread (`npm run
 * bench:gemm` on a quiet host: 4.0–4.1 on the feed-forward layer with its GELU, 4.7–4.8 on the
 * others) by computing a 2×4 tile of outputs at once (2 rows of x times 4 output features):
 * 8 accumulators held in local variables (CPU registers), fed by 6 loads per 8 multiply-adds
 * instead of 2 loads per multiply-add.
 *
 * The weight is used where it lies: `wrapLinearWeight` checks its length and keeps the view, so
 * the checkpoint's bytes are the only copy of the weights and loading does no work per weight.
 * A weight may also come as consecutive blocks of rows (the fused Q, K, V projection is the
 * checkpoint's three [H, H] matrices): the kernel walks the blocks one after another, so that
 * fusing them costs no concatenated copy.
 *
 * Cursors. The tiles walk their arrays with integer cursors advanced by 1 per step, each kept
 * as `(cursor + 1) & 0x3fffffff` rather than the usual `(cursor + 1) | 0`. Both keep the cursor
 * a 32-bit integer, but `| 0` lets it be negative, so V8 sign-extended it before every load;
 * the mask tells the compiler it lies in [0, 2^30), so the load uses it as it is. The argument
 * checks refuse arrays whose floats would lie past `LARGEST_CURSOR` (2^30 − 1), so the mask
 * never changes a value. Each tile declares the mask as its own constant: an imported one is
 * not folded into the loop, and the kernel ran at 2.6 GFLOPS. The tiles also read a bias
 * array unconditionally (zeros when the layer has none): a `bias === null` test in each tile
 * cost 8%, though it is outside the loop. Together the two took the kernel from 3.5–3.8 to
 * 3.9–4.2 GFLOPS (plain Node, this model's shapes, best of 4 rounds); alone, each gained a
 * few per cent at most.
 *
 * The trade-off, measured (V8, x86-64, all-MiniLM-L6-v2's shapes): repacking W into panels
 * [⌈N/4⌉, K, 4], so that the 4 weights a step needs are adjacent (one cursor instead of four),
 * reached 4.1–4.2 GFLOPS, no faster than this kernel, while it costs either a second copy of
 * the weights (42.5 MB) or rewriting the checkpoint's bytes in place (18 ms for the 24
 * matrices; but `fromParts` takes those bytes from its caller, who may build a second encoder
 * on them). Neither is done.
 * Measured alternatives that lost: 4×4 tiles (16 accumulators + 8 operands do not fit in 16 xmm
 * registers, so they spill: ~25% slower), 3×4 and 4×2 tiles (no better), 2×6 tiles (3.1–3.5
 * GFLOPS), row subarrays read with one shared index (3.2–3.3), the two rows of x copied,
 * interleaved, into a float64 scratch (3.8), x and a weight panel copied into one float64 or
 * float32 scratch so that the loop reads a single array (4.0–4.1), unrolling the k loop by 2
 * or 4 (3.1–3.8 and 2.6–3.4), cache blocking (the kernel is instruction-bound, not memory-bound), and
 * `Math.fround` in the loop (1.7× slower).
 * Measured and not taken: the same 2×4 tile written as asm.js (a `"use asm"` module, which V8
 * validates and compiles as WebAssembly: no map checks, no spills) ran at 5.7–6.4 GFLOPS
 * without GELU, bit-identical, where this kernel ran at 4.5–4.7 on the same shapes minutes
 * apart (and 4.7–4.8 in `bench:gemm`, above). But its operands must all lie in one non-shared
 * ArrayBuffer: over a SharedArrayBuffer it ran at 3.9–4.2, the speed of plain JavaScript, so
 * threads would each need their own copy of the weights. And it would be
 * WebAssembly by another name, faster only where WebAssembly runs, where the SIMD backend is 7×
 * faster.
 * The ceiling is the engine's: this same kernel runs at 4.2–4.8 GFLOPS in Deno (V8 15.0) as in
 * Node 20 (V8 11.3), and at 5.5–6.4 in Bun (JavaScriptCore); with its GELU, the feed-forward
 * layer runs at 3.8–4.2 in both V8s and 5.1–5.5 in Bun.
 *
 * The arithmetic is the same as `linear.ts`, operation for operation: each output starts from
 * its bias (or 0), adds x[r, k]·W[n, k] for k = 0, 1, … in float64, and is rounded to float32
 * once when stored; GELU, when fused, is applied by `geluInPlace` to the stored float32 values
 * of each finished pair of rows. So the result is bit-identical to `linear` followed by
 * `geluInPlace`, whatever tile an output falls in (an odd last row goes through 1-row tiles, the
 * last N mod 4 features through 1-feature tiles), and rows can be split between threads freely
 * (`rowStart`, `rowEnd`).
 *
 * Dimensions:
 *   rows         R  number of token vectors
 *   inFeatures   K  length of each input vector
 *   outFeatures  N  length of each output vector
 *
 * Weight layout: [N, K], row n holds the K weights of output feature n (PyTorch's layout, as
 * stored in the checkpoint). A 2×4 tile for features n0…n0+3 walks four rows of W at once:
 *
 *   weight [N, K]                    cursors, each advanced by 1 per step k
 *     n0:   a0 a1 a2 … aK-1          w0 = n0·K
 *     n0+1: b0 b1 b2 … bK-1          w1 = w0 + K
 *     n0+2: c0 c1 c2 … cK-1          w2 = w1 + K
 *     n0+3: d0 d1 d2 … dK-1          w3 = w2 + K
 *     …     (the last N mod 4 rows: one feature at a time, 2×1 and 1×1 tiles)
 *
 * One step k of a tile (rows r, r+1 × features n0…n0+3) reads 4 weights (one per cursor) and
 * 2 inputs:
 *
 *                      w0=ak   w1=bk   w2=ck   w3=dk     ← W[n0..n0+3, k]
 *     x0 = x[r,   k]   c00 +=  c01 +=  c02 +=  c03 +=    (c_ij += x_i · w_j)
 *     x1 = x[r+1, k]   c10 +=  c11 +=  c12 +=  c13 +=
 *
 * Left out: threads (see `threaded-backend.ts`, which calls `linearTiled` on row ranges),
 * SIMD (not expressible in JavaScript), and activations other than exact GELU.
 */

import type { LinearActivation, PreparedLinear } from './backend.ts';
import { geluInPlace } from './gelu.ts';

/** Bad dimensions or buffers passed to a linear kernel or backend. */
export class LinearShapeError extends Error {
  override name = 'LinearShapeError';
}

/** A weight matrix [N, K] in the checkpoint's layout, used in place (not copied). */
export interface LinearWeightView extends PreparedLinear {
  readonly outFeatures: number; // N
  readonly inFeatures: number; // K
  /**
   * The matrix as consecutive blocks of whole rows, each [rows, K], read where they lie: one
   * block usually; three for the fused Q, K, V projection, whose blocks are the checkpoint's
   * query, key and value weights (so that fusing them costs no copy).
   */
  readonly blocks: readonly LinearWeightBlock[];
}

export interface LinearWeightBlock {
  readonly data: Float32Array; // [rows, K]
  readonly rows: number;
}

/** A weight as `prepare` or `prepareRowBlocks` take it: [N, K], or that matrix as consecutive row blocks. */
export type LinearWeightSource = Float32Array | readonly Float32Array[];

/**
 * The largest array index the tiles' cursors can hold: 2^30 − 1, the `0x3fffffff` each tile masks
 * its cursors with (see "Cursors" above). Weights and inputs whose floats would lie past it are
 * refused by the argument checks, so the mask never changes a cursor's value.
 */
export const LARGEST_CURSOR = 0x3fffffff;

// Every LinearWeightView built by wrapLinearWeight, so that a foreign object is refused clearly.
const weightViews = new WeakSet<LinearWeightView>();

/**
 * Wraps weight [outFeatures, inFeatures] (or its row blocks) for `linearTiled` without copying
 * it: the kernel reads the caller's floats, which must therefore stay unchanged while the weight
 * is in use.
 */
export function wrapLinearWeight(weight: LinearWeightSource, outFeatures: number, inFeatures: number): LinearWeightView {
  checkDimension('outFeatures', outFeatures);
  checkDimension('inFeatures', inFeatures);
  if (outFeatures * inFeatures > LARGEST_CURSOR) {
    throw new LinearShapeError(
      `weight of ${outFeatures} × ${inFeatures} floats is past the kernel's index limit (${LARGEST_CURSOR} floats)`,
    );
  }
  const parts = weight instanceof Float32Array ? [weight] : weight;
  if (!Array.isArray(parts) || parts.length === 0 || !parts.every((part) => part instanceof Float32Array)) {
    throw new LinearShapeError('weight must be a Float32Array or a non-empty array of Float32Array row blocks');
  }
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  if (total !== outFeatures * inFeatures || parts.some((part) => part.length % inFeatures !== 0)) {
    const lengths = parts.length === 1 ? `${total} floats` : `blocks of ${parts.map((p) => p.length).join(' + ')} floats`;
    throw new LinearShapeError(
      `weight has ${lengths}, expected outFeatures × inFeatures = ${outFeatures} × ${inFeatures} = ${outFeatures * inFeatures}` +
        (parts.length === 1 ? '' : ' in blocks of whole rows'),
    );
  }
  const view: LinearWeightView = { outFeatures, inFeatures, blocks: parts.map((data) => ({ data, rows: data.length / inFeatures })) };
  weightViews.add(view);
  return view;
}

/**
 * Stacks row-major matrices (or vectors) with the same row width into one array: `into` when
 * given (at least as long as the parts together), else a new one.
 */
export function stackRows(
  parts: readonly Float32Array[],
  into: Float32Array = new Float32Array(parts.reduce((n, part) => n + part.length, 0)),
): Float32Array {
  const out = into;
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** True if `prepared` was built by wrapLinearWeight. */
export function isLinearWeightView(prepared: PreparedLinear): prepared is LinearWeightView {
  return weightViews.has(prepared as LinearWeightView);
}

/**
 * Rows [rowStart, rowEnd) of out = activation(x · Wᵀ + b); other rows of `out` are untouched.
 *
 * @param out    [≥ rowEnd, outFeatures]   rows rowStart…rowEnd-1 written, not read
 * @param x      [≥ rowEnd, inFeatures]
 * @param weight from wrapLinearWeight: [outFeatures, inFeatures]
 * @param bias   [outFeatures] or null
 */
export function linearTiled(
  out: Float32Array,
  x: Float32Array,
  weight: LinearWeightView,
  bias: Float32Array | null,
  rowStart: number,
  rowEnd: number,
  activation: LinearActivation = 'none',
): void {
  checkLinearArguments(out, x, weight, bias, rowStart, rowEnd, activation);
  const K = weight.inFeatures;
  const N = weight.outFeatures;
  const applyGelu = activation === 'gelu';
  // No bias is a zero bias: the tiles read one unconditionally. A `bias === null ? 0 : …` test in
  // each tile, though outside its loop, measured 8% slower (V8, this model's shapes).
  const startValues = bias ?? zeroBias(N);
  let row = rowStart;
  for (; row + 2 <= rowEnd; row += 2) {
    // Block by block (usually one); in each, features go 4 at a time, the last rows mod 4 one at a time.
    let n0 = 0; // the block's first output feature
    for (const { data: w, rows } of weight.blocks) {
      const fullTileEnd = rows - (rows % 4);
      let i = 0; // row of the block
      for (; i < fullTileEnd; i += 4) tile2x4(out, x, w, i, startValues, row, n0 + i, K, N);
      for (; i < rows; i++) tile2x1(out, x, w, i, startValues, row, n0 + i, K, N);
      n0 += rows;
    }
    // GELU on the two rows just stored, while they are still in cache (the subarray is one
    // small object per 2·K·N multiply-adds; geluInPlace is the plain GELU pass, unchanged).
    if (applyGelu) geluInPlace(out.subarray(row * N, (row + 2) * N));
  }
  if (row < rowEnd) {
    let n0 = 0;
    for (const { data: w, rows } of weight.blocks) {
      const fullTileEnd = rows - (rows % 4);
      let i = 0;
      for (; i < fullTileEnd; i += 4) tile1x4(out, x, w, i, startValues, row, n0 + i, K, N);
      for (; i < rows; i++) tile1x1(out, x, w, i, startValues, row, n0 + i, K, N);
      n0 += rows;
    }
    if (applyGelu) geluInPlace(out.subarray(row * N, (row + 1) * N));
  }
}

// Zeros for bias-less layers, grown to the widest layer seen and shared by all calls (the tiles
// only read it), so that a layer without a bias allocates nothing per call.
let zeros = new Float32Array(0);
function zeroBias(length: number): Float32Array {
  if (zeros.length < length) zeros = new Float32Array(length);
  return zeros;
}

/** Rows `row`, `row + 1` × features n0…n0+3: the hot loop. */
function tile2x4(
  out: Float32Array, // [R, N]
  x: Float32Array, // [R, K]
  w: Float32Array, // [rows of the block, K]
  wRow: number, // the block's row holding feature n0
  bias: Float32Array, // [N]: zeros when the layer has none
  row: number,
  n0: number,
  K: number,
  N: number,
): void {
  const CURSOR_MASK = 0x3fffffff; // = LARGEST_CURSOR, declared here to be folded: see "Cursors" above
  // c_ij: row `row + i`, feature n0 + j. Start from the bias, as linear.ts does.
  const b0 = bias[n0]!, b1 = bias[n0 + 1]!;
  const b2 = bias[n0 + 2]!, b3 = bias[n0 + 3]!;
  let c00 = b0, c01 = b1, c02 = b2, c03 = b3;
  let c10 = b0, c11 = b1, c12 = b2, c13 = b3;
  let w0 = (wRow * K) & CURSOR_MASK; // W[n0, k]
  let w1 = (w0 + K) & CURSOR_MASK; // W[n0 + 1, k]
  let w2 = (w1 + K) & CURSOR_MASK; // W[n0 + 2, k]
  let w3 = (w2 + K) & CURSOR_MASK; // W[n0 + 3, k]
  let x0 = (row * K) & CURSOR_MASK; // x[row, k]
  let x1 = (x0 + K) & CURSOR_MASK; // x[row + 1, k]
  const x0End = (x0 + K) & CURSOR_MASK;
  while (x0 < x0End) {
    const a0 = w[w0]!, a1 = w[w1]!, a2 = w[w2]!, a3 = w[w3]!;
    const xa = x[x0]!;
    c00 += xa * a0; c01 += xa * a1; c02 += xa * a2; c03 += xa * a3;
    const xb = x[x1]!;
    c10 += xb * a0; c11 += xb * a1; c12 += xb * a2; c13 += xb * a3;
    w0 = (w0 + 1) & CURSOR_MASK;
    w1 = (w1 + 1) & CURSOR_MASK;
    w2 = (w2 + 1) & CURSOR_MASK;
    w3 = (w3 + 1) & CURSOR_MASK;
    x0 = (x0 + 1) & CURSOR_MASK;
    x1 = (x1 + 1) & CURSOR_MASK;
  }
  // Storing into a Float32Array rounds each float64 sum to float32, once.
  const o = row * N + n0; // out[row, n0]
  out[o] = c00; out[o + 1] = c01; out[o + 2] = c02; out[o + 3] = c03;
  const o1 = o + N; // out[row + 1, n0]
  out[o1] = c10; out[o1 + 1] = c11; out[o1 + 2] = c12; out[o1 + 3] = c13;
}

/** Rows `row`, `row + 1` × feature n: one of the last N mod 4 features. */
function tile2x1(
  out: Float32Array, // [R, N]
  x: Float32Array, // [R, K]
  w: Float32Array, // [rows of the block, K]
  wRow: number, // the block's row holding feature n
  bias: Float32Array, // [N]: zeros when the layer has none
  row: number,
  n: number,
  K: number,
  N: number,
): void {
  const CURSOR_MASK = 0x3fffffff; // = LARGEST_CURSOR, declared here to be folded: see "Cursors" above
  let c0 = bias[n]!;
  let c1 = c0;
  let wi = (wRow * K) & CURSOR_MASK; // W[n, k]
  let x0 = (row * K) & CURSOR_MASK;
  let x1 = (x0 + K) & CURSOR_MASK;
  const x0End = (x0 + K) & CURSOR_MASK;
  while (x0 < x0End) {
    const a = w[wi]!;
    c0 += x[x0]! * a;
    c1 += x[x1]! * a;
    wi = (wi + 1) & CURSOR_MASK;
    x0 = (x0 + 1) & CURSOR_MASK;
    x1 = (x1 + 1) & CURSOR_MASK;
  }
  out[row * N + n] = c0;
  out[(row + 1) * N + n] = c1;
}

/** One row × features n0…n0+3: the last row when the row count is odd. */
function tile1x4(
  out: Float32Array, // [R, N]
  x: Float32Array, // [R, K]
  w: Float32Array, // [rows of the block, K]
  wRow: number, // the block's row holding feature n0
  bias: Float32Array, // [N]: zeros when the layer has none
  row: number,
  n0: number,
  K: number,
  N: number,
): void {
  const CURSOR_MASK = 0x3fffffff; // = LARGEST_CURSOR, declared here to be folded: see "Cursors" above
  let c0 = bias[n0]!, c1 = bias[n0 + 1]!;
  let c2 = bias[n0 + 2]!, c3 = bias[n0 + 3]!;
  let w0 = (wRow * K) & CURSOR_MASK;
  let w1 = (w0 + K) & CURSOR_MASK;
  let w2 = (w1 + K) & CURSOR_MASK;
  let w3 = (w2 + K) & CURSOR_MASK;
  let x0 = (row * K) & CURSOR_MASK;
  const x0End = (x0 + K) & CURSOR_MASK;
  while (x0 < x0End) {
    const xa = x[x0]!;
    c0 += xa * w[w0]!; c1 += xa * w[w1]!; c2 += xa * w[w2]!; c3 += xa * w[w3]!;
    w0 = (w0 + 1) & CURSOR_MASK;
    w1 = (w1 + 1) & CURSOR_MASK;
    w2 = (w2 + 1) & CURSOR_MASK;
    w3 = (w3 + 1) & CURSOR_MASK;
    x0 = (x0 + 1) & CURSOR_MASK;
  }
  const o = row * N + n0;
  out[o] = c0; out[o + 1] = c1; out[o + 2] = c2; out[o + 3] = c3;
}

/** One row × feature n: the last row when the row count is odd, one of the last N mod 4 features. */
function tile1x1(
  out: Float32Array, // [R, N]
  x: Float32Array, // [R, K]
  w: Float32Array, // [rows of the block, K]
  wRow: number, // the block's row holding feature n
  bias: Float32Array, // [N]: zeros when the layer has none
  row: number,
  n: number,
  K: number,
  N: number,
): void {
  const CURSOR_MASK = 0x3fffffff; // = LARGEST_CURSOR, declared here to be folded: see "Cursors" above
  let c = bias[n]!;
  let wi = (wRow * K) & CURSOR_MASK;
  let x0 = (row * K) & CURSOR_MASK;
  const x0End = (x0 + K) & CURSOR_MASK;
  while (x0 < x0End) {
    c += x[x0]! * w[wi]!;
    wi = (wi + 1) & CURSOR_MASK;
    x0 = (x0 + 1) & CURSOR_MASK;
  }
  out[row * N + n] = c;
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
  weight: PreparedLinear,
  bias: Float32Array | null,
  rowStart: number,
  rowEnd: number,
  activation: LinearActivation,
): asserts weight is LinearWeightView {
  if (!isLinearWeightView(weight)) {
    throw new LinearShapeError('weight was not prepared by wrapLinearWeight (or by this backend)');
  }
  const K = weight.inFeatures;
  const N = weight.outFeatures;
  if (!Number.isSafeInteger(rowStart) || !Number.isSafeInteger(rowEnd) || rowStart < 0 || rowEnd < rowStart) {
    throw new LinearShapeError(`row range [${rowStart}, ${rowEnd}) must be integers with 0 ≤ rowStart ≤ rowEnd`);
  }
  if (rowEnd * K > LARGEST_CURSOR) {
    throw new LinearShapeError(`rows up to ${rowEnd} × inFeatures ${K} are past the kernel's index limit (${LARGEST_CURSOR} floats of x)`);
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
