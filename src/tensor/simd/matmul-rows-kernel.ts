/**
 * The SIMD matmul over weights as the checkpoint stores them: out = x · Wᵀ + b with W [N, K]
 * row-major, read where it lies. Written with the assembler in `wasm-assembler.ts`.
 *
 * Why a second matmul. The panel kernel (`matmul-kernel.ts`) wants W repacked into panels
 * [⌈N/8⌉, K, 8] first: 42 MB of copying when the model loads (50-75 ms), and a second copy of
 * the weights kept beside the checkpoint's. This one reads the checkpoint's rows in place, so
 * the checkpoint can be read straight into the WebAssembly memory and used as it is. The panel
 * kernel stays for attention, whose operands are packed per head anyway (`simd-attention.ts`).
 *
 * Dimensions (as in `linear.ts`): rows R, inFeatures K, outFeatures N.
 *
 * Memory (byte addresses in the imported memory):
 *   x        [R, K]          row-major, 4-byte aligned
 *   weights  [N, K]          row-major (PyTorch `nn.Linear`), 4-byte aligned
 *   bias     [N]             4-byte aligned (zeros for "no bias")
 *   out      [R, outStride]  columns 0 … N−1 of each row written, never read; outStride ≥ N, so
 *                            that the row blocks of one fused weight (Q, K, V) can each write
 *                            their own columns of one output
 *
 * The algorithm: a register tile of dot products. For tileRows rows from r0 and tileFeatures
 * features from n0, each output is the dot product of an x row and a W row, both contiguous:
 *
 *   acc[i][j] = (0, 0, 0, 0)                                 f32x4, 4 partial sums each
 *   for k in 0, 4, 8, …:
 *     xv[i] = x[r0+i, k..k+3]                                one 16-byte load per row
 *     for each feature j:
 *       wv = W[n0+j, k..k+3]                                 one 16-byte load per feature
 *       acc[i][j] += xv[i] · wv                              for each row i
 *   out[r0+i, n0+j] = (lane0 + lane1) + (lane2 + lane3) of acc[i][j] + bias[n0+j]
 *
 * Why this shape: each step loads tileRows + tileFeatures vectors and does tileRows ·
 * tileFeatures multiply-adds of 4 lanes. The shipped 4 × 2 tile holds 8 accumulators + 4 x
 * vectors + 1 weight vector = 13 of the 16 vector registers of x86-64, and does 6 loads per
 * 8 multiply-adds, as the panel kernel's 4 × 8 tile does. The sums over lanes (3 adds per output)
 * come once per tile, after K/4 steps. Measured shapes are in `chosenRowsKernelShape`'s comment.
 *
 * Loop order: groups of tileFeatures weight rows outside (tileFeatures · K · 4 bytes: 6 KiB for
 * K = 384, 24 KiB for K = 1536, kept in L1 while every row tile reuses them), row tiles inside,
 * x streaming in row order.
 *
 * Remainders: K mod 4 last steps load one float into lane 0 of zeroed vectors (`load32Zero`),
 * the same multiply-add with zeros elsewhere; rows left after the last full tile go through
 * tiles of half the height and so on down to one row (a 14-token sentence: 3 tiles of 4 rows,
 * one of 2), features left after the last full group through one-feature groups. Every output
 * is the same sum in whatever tile its row falls.
 *
 * Precision: float32 accumulation in 4 lanes of K/4 terms each, then summed: the rounding
 * differs from `linear.ts`'s float64 sum by float32 rounding (the tests bound it).
 */

import {
  type Bytes,
  FunctionBuilder,
  f32,
  f32x4,
  i32,
  local,
  v128,
  valueType,
  type FunctionDefinition,
} from './wasm-assembler.ts';

/** How the register tile is shaped. */
export interface RowsKernelShape {
  readonly tileRows: number;
  readonly tileFeatures: number;
}

/**
 * The shape shipped: 4 rows × 2 features. GFLOPS (median of CPU time, one thread, 2-core AMD
 * EPYC with AVX2) from `npm run bench:gemm-simd -- --rows-variants`, beside the panel kernel on
 * the same weights packed, and the shipped shape in blocks of 32 rows as the backend calls it
 * (`matmulRowBlocks`, kernel-interface.ts):
 *
 *   shape (R×K×N)    panel 4×8   4×2   2×4   3×2   2×3   4×1   3×3   2×6   4×2 in blocks
 *   512×384×384         28.5    22.3  20.8  21.3  21.2  17.1  17.5  21.8       28.8
 *   512×384×1536        32.9    27.7  29.1  27.1  29.9  19.3  18.2  23.2       30.7
 *   512×1536×384        34.9    30.4  28.4  30.8  29.7  21.9  18.5  22.6       29.4
 *   16×384×384          35.2    33.5  30.2  30.8  32.1  25.2  18.6  22.6       33.2
 *   16×384×1536         32.1    33.3  30.2  30.8  32.3  25.1  18.7  23.4       33.3
 *   16×1536×384         32.0    34.7  31.6  31.8  33.9  25.5  19.2  24.7       34.8
 *   2048×384×1536       32.6    25.0  27.9  24.4  27.2  16.4  17.8  22.7       31.1
 *
 * In row blocks, 4 × 2 runs within a few percent of the panel kernel, without its 42 MB of
 * packing. Tiles of 9 or more accumulators (3 × 3, 2 × 6) run out of registers, one feature per
 * tile loads too much per product, and unrolling k twice measured slower for every shape
 * (15-23 against 20-31 in an earlier run). Through the whole model, where the 42 MB of weights
 * come from memory rather than cache, the linear layers took 4-7% longer than with the panel
 * kernel (CPU profiles of 800 one-sentence embeddings; a synthetic stream of the 36 matrices:
 * 11.9-12.1 against 11.4-11.7 ms).
 */
export const chosenRowsKernelShape: RowsKernelShape = { tileRows: 4, tileFeatures: 2 };

/** Bytes of one f32x4 vector: the k step of the main loop. */
const vectorBytes = 16;

/**
 * matmulRows(out, x, weights, bias, rows, inFeatures, outFeatures, outStride): out = x · Wᵀ + bias
 * with W [N, K] row-major. See the file header.
 */
export function buildMatmulRows(shape: RowsKernelShape, exportName: string): FunctionDefinition {
  const { tileRows, tileFeatures } = shape;
  if (!Number.isInteger(tileRows) || tileRows < 1 || tileRows > 4) throw new RangeError(`tileRows ${tileRows} not in 1..4`);
  if (!Number.isInteger(tileFeatures) || tileFeatures < 1 || tileFeatures > 6) {
    throw new RangeError(`tileFeatures ${tileFeatures} not in 1..6`);
  }
  const { i32: I32, v128: V128 } = valueType;
  const fn = new FunctionBuilder([
    { name: 'out', type: I32 },
    { name: 'x', type: I32 },
    { name: 'weights', type: I32 },
    { name: 'bias', type: I32 },
    { name: 'rows', type: I32 },
    { name: 'inFeatures', type: I32 },
    { name: 'outFeatures', type: I32 },
    { name: 'outStride', type: I32 },
  ]);
  const get = local.get;
  const out = fn.param('out'), x = fn.param('x'), weights = fn.param('weights'), bias = fn.param('bias');
  const rows = fn.param('rows'), inFeatures = fn.param('inFeatures'), outFeatures = fn.param('outFeatures');
  const outStride = fn.param('outStride');

  const rowBytes = fn.local('rowBytes', I32); //          K · 4: from x[r, k] to x[r + 1, k], and W[n, k] to W[n + 1, k]
  const outRowBytes = fn.local('outRowBytes', I32); //    outStride · 4: from out[r, n] to out[r + 1, n]
  const vectorPartBytes = fn.local('vectorPartBytes', I32); // (K − K mod 4) · 4: the part of a row the main loop takes
  // Per feature group.
  const featuresLeft = fn.local('featuresLeft', I32); //  features not yet computed
  const groupWeights = fn.local('groupWeights', I32); //  &W[n0, 0]
  const groupBias = fn.local('groupBias', I32); //        &bias[n0]
  const groupOut = fn.local('groupOut', I32); //          &out[0, n0]
  // Per row tile.
  const rowsLeft = fn.local('rowsLeft', I32); //          rows not yet computed for this group
  const xTile = fn.local('xTile', I32); //                &x[r0, 0]
  const outTile = fn.local('outTile', I32); //            &out[r0, n0]
  const xVectorEnd = fn.local('xVectorEnd', I32); //      &x[r0, K − K mod 4]
  const xRowEnd = fn.local('xRowEnd', I32); //            &x[r0, K]
  // The k loop: one pointer per x row and per weight row, and the registers.
  const xPointer = Array.from({ length: tileRows }, (_, i) => fn.local(`xPointer${i}`, I32)); //           &x[r0+i, k]
  const weightPointer = Array.from({ length: tileFeatures }, (_, j) => fn.local(`weightPointer${j}`, I32)); // &W[n0+j, k]
  const xVector = Array.from({ length: tileRows }, (_, i) => fn.local(`xVector${i}`, V128)); //             x[r0+i, k..k+3]
  const weightVector = fn.local('weightVector', V128); //                                                    W[n0+j, k..k+3]
  const accumulator = Array.from({ length: tileRows }, (_, i) =>
    Array.from({ length: tileFeatures }, (_, j) => fn.local(`accumulator${i}_${j}`, V128)), // partial sums of out[r0+i, n0+j]
  );

  /** One k step of `height` rows × `width` features: 4 floats (`load` = v128.load) or 1 (`load32Zero`). */
  const emitKStep = (height: number, width: number, load: (address: Bytes) => Bytes, stepBytes: number) => {
    for (let i = 0; i < height; i++) fn.set(xVector[i]!, load(get(xPointer[i]!)));
    for (let j = 0; j < width; j++) {
      fn.set(weightVector, load(get(weightPointer[j]!)));
      for (let i = 0; i < height; i++) {
        const acc = accumulator[i]![j]!;
        fn.set(acc, f32x4.add(get(acc), f32x4.mul(get(xVector[i]!), get(weightVector))));
      }
    }
    for (let i = 0; i < height; i++) fn.increment(xPointer[i]!, i32.const(stepBytes));
    for (let j = 0; j < width; j++) fn.increment(weightPointer[j]!, i32.const(stepBytes));
  };

  /** A tile of `height` rows × `width` features at xTile / groupWeights: all k, then the sums and stores. */
  const emitTile = (height: number, width: number) => {
    const label = `${height}x${width}`;
    for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) fn.set(accumulator[i]![j]!, f32x4.const(0));
    fn.set(xPointer[0]!, get(xTile));
    for (let i = 1; i < height; i++) fn.set(xPointer[i]!, i32.add(get(xPointer[i - 1]!), get(rowBytes)));
    fn.set(weightPointer[0]!, get(groupWeights));
    for (let j = 1; j < width; j++) fn.set(weightPointer[j]!, i32.add(get(weightPointer[j - 1]!), get(rowBytes)));
    fn.set(xVectorEnd, i32.add(get(xTile), get(vectorPartBytes)));
    fn.set(xRowEnd, i32.add(get(xTile), get(rowBytes)));

    // Main loop: 4 k per step; the condition follows row 0's pointer.
    fn.block(`vectorsDone${label}`, () => {
      fn.brIf(`vectorsDone${label}`, i32.eq(get(xPointer[0]!), get(xVectorEnd)));
      fn.loop(`vectors${label}`, () => {
        emitKStep(height, width, (address) => v128.load(address, 0, 2), vectorBytes);
        fn.brIf(`vectors${label}`, i32.ne(get(xPointer[0]!), get(xVectorEnd)));
      });
    });
    // The last K mod 4 steps, one float each in lane 0.
    fn.block(`restDone${label}`, () => {
      fn.brIf(`restDone${label}`, i32.eq(get(xPointer[0]!), get(xRowEnd)));
      fn.loop(`rest${label}`, () => {
        emitKStep(height, width, (address) => v128.load32Zero(address), 4);
        fn.brIf(`rest${label}`, i32.ne(get(xPointer[0]!), get(xRowEnd)));
      });
    });

    // out[r0+i, n0+j] = sum of the 4 lanes + bias[n0+j].
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        const acc = get(accumulator[i]![j]!);
        const lanes = (a: number, b: number) => f32.add(f32x4.extractLane(acc, a), f32x4.extractLane(acc, b));
        const sum = f32.add(f32.add(lanes(0, 1), lanes(2, 3)), f32.load(get(groupBias), j * 4));
        fn.emit(f32.store(i32.add(get(outTile), i32.mul(get(outRowBytes), i32.const(i))), sum, j * 4));
      }
    }
  };

  /** Row tiles of `height` rows while at least `height` rows are left. */
  const emitTileLoop = (height: number, width: number) => {
    const label = `${height}x${width}`;
    fn.block(`tilesDone${label}`, () => {
      fn.loop(`tiles${label}`, () => {
        fn.brIf(`tilesDone${label}`, i32.ltU(get(rowsLeft), i32.const(height)));
        emitTile(height, width);
        fn.increment(xTile, i32.mul(get(rowBytes), i32.const(height)));
        fn.increment(outTile, i32.mul(get(outRowBytes), i32.const(height)));
        fn.set(rowsLeft, i32.sub(get(rowsLeft), i32.const(height)));
        fn.brIf(`tiles${label}`, i32.const(1));
      });
    });
  };

  /** Groups of `width` features while at least `width` are left: every row for each. */
  const emitGroupLoop = (width: number) => {
    fn.block(`groupsDone${width}`, () => {
      fn.loop(`groups${width}`, () => {
        fn.brIf(`groupsDone${width}`, i32.ltU(get(featuresLeft), i32.const(width)));
        fn.set(rowsLeft, get(rows));
        fn.set(xTile, get(x));
        fn.set(outTile, get(groupOut));
        // Full tiles, then the rows left in tiles of half the height, a quarter… down to one row
        // (for 4-row tiles: 4, 2, 1), so that a short batch's last rows are not all one-row tiles.
        for (let height = tileRows; height >= 1; height = height === 1 ? 0 : Math.max(1, height >> 1)) emitTileLoop(height, width);
        fn.increment(groupWeights, i32.mul(get(rowBytes), i32.const(width)));
        fn.increment(groupBias, i32.const(width * 4));
        fn.increment(groupOut, i32.const(width * 4));
        fn.set(featuresLeft, i32.sub(get(featuresLeft), i32.const(width)));
        fn.brIf(`groups${width}`, i32.const(1));
      });
    });
  };

  fn.set(rowBytes, i32.mul(get(inFeatures), i32.const(4)));
  fn.set(outRowBytes, i32.mul(get(outStride), i32.const(4)));
  fn.set(vectorPartBytes, i32.and(get(rowBytes), i32.const(-vectorBytes)));
  fn.set(featuresLeft, get(outFeatures));
  fn.set(groupWeights, get(weights));
  fn.set(groupBias, get(bias));
  fn.set(groupOut, get(out));
  emitGroupLoop(tileFeatures);
  if (tileFeatures > 1) emitGroupLoop(1);
  return fn.finish(exportName);
}
