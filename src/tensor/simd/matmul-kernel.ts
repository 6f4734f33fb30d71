/**
 * The SIMD kernel module, written with the assembler in `wasm-assembler.ts`, and its panel matmul.
 *
 * The panel matmul computes what `linear.ts` computes, out = x · Wᵀ + b, with WebAssembly
 * SIMD128: four float32 lanes per instruction (f32x4) and float32 accumulation, over weights
 * packed into panels. Attention uses it (`simd-attention.ts`), packing each head's keys and
 * values per call. The module also exports `matmulRows`, the same product over weights as the
 * checkpoint stores them, which the linear layers use (`matmul-rows-kernel.ts`: no packing when
 * the model loads); `gelu`, which the backend runs over the feed-forward output
 * (`gelu-kernel.ts`); `softmax`, which attention runs over its score rows (`softmax-kernel.ts`);
 * and `addLayerNorm`, the residual add and LayerNorm that close each half of a layer
 * (`layer-norm-kernel.ts`).
 *
 * Dimensions:
 *   rows         R  input vectors (tokens)
 *   inFeatures   K  length of each input vector
 *   outFeatures  N  length of each output vector
 *   panel           8 consecutive output features, the packed weight unit (see `packed-weights.ts`)
 *   tile            tileRows rows × 8 features of the output, held in registers while k runs
 *
 * Memory (one imported WebAssembly memory; every pointer is a byte address in it):
 *   x        [R, K]        row-major, any 4-byte-aligned address
 *   weights  [P, K, 8]     panels, 16-byte aligned
 *   bias     [P · 8]       padded with zeros to whole panels, 16-byte aligned (zeros for "no bias")
 *   out      [R, N]        row-major, any 4-byte-aligned address; written, never read
 *
 * The algorithm: a register tile. For one panel p and tileRows rows starting at row r0:
 *
 *   acc[i] = (bias[8p..8p+3], bias[8p+4..8p+7])   for each row i     (2 f32x4 per row)
 *   for k in 0..K-1:
 *     wLow, wHigh = packed[p, k, 0..3], packed[p, k, 4..7]         (two 16-byte loads)
 *     for each row i:
 *       xs = splat(x[r0+i, k])                                      (one 4-byte load to 4 lanes)
 *       acc[i].low  += xs · wLow
 *       acc[i].high += xs · wHigh
 *   store acc to out[r0+i, 8p..8p+7]
 *
 * Why this shape: each k step loads 2 weight vectors and tileRows x values, and does
 * 2·tileRows multiply-adds of 4 lanes. With tileRows = 4 that is 8 accumulators + 2 weights +
 * 1 broadcast x = 11 of the 16 vector registers of x86-64 SSE/AVX (the engine keeps one for
 * itself), so nothing spills; the loads (6 per 64 flops) stay below the arithmetic. Other shapes
 * can be generated and measured with `bench/gemm-simd.ts --variants`; the numbers that chose the
 * shipped one are in `chosenKernelShape`'s comment.
 *
 * Loop order: panels outside, row tiles inside. One panel (K · 32 bytes: 12 KiB for K = 384,
 * 48 KiB for K = 1536) is then reused by every row tile from L1/L2 cache, while x streams through
 * in row order, which the hardware prefetcher follows.
 *
 * Remainders: rows left after the last full tile go through a one-row tile (same code with
 * tileRows = 1); a last panel with fewer than 8 real features is computed in full (its padding
 * weights are zero) and stored lane by lane by `storePartialRow`. K needs no remainder: the k
 * loop takes one k per step (when generated with kUnroll > 1, a one-step loop finishes the last
 * K mod kUnroll).
 *
 * Left out: K blocking, row blocking and packing x (splitting the 512 rows into blocks of 16-64
 * measured no faster: the panel stays in cache and x streams in order), fused
 * multiply-add (part of "relaxed SIMD", not of SIMD128), and threads: the kernel keeps no state
 * and writes only its own output rows, so several instances over one shared memory can each take
 * a range of rows.
 */

import { buildGelu } from './gelu-kernel.ts';
import { buildMatmulRows, chosenRowsKernelShape } from './matmul-rows-kernel.ts';
import { buildSoftmax } from './softmax-kernel.ts';
import { buildAddLayerNorm } from './layer-norm-kernel.ts';
import {
  FunctionBuilder,
  call,
  encodeModule,
  f32,
  f32x4,
  i32,
  local,
  select,
  v128,
  valueType,
} from './wasm-assembler.ts';
import { featuresPerPanel } from './packed-weights.ts';
import {
  type KernelMemoryKind,
  matmulExportName,
  matmulRowsExportName,
  maximumMemoryPages,
  memoryImportModule,
  memoryImportName,
} from './kernel-interface.ts';

/** How the register tile and the k loop are shaped. */
export interface MatmulKernelShape {
  /** Rows per register tile (2 f32x4 accumulators each). */
  readonly tileRows: number;
  /** k steps per iteration of the main k loop. A power of two. */
  readonly kUnroll: number;
}

/**
 * The shape shipped in `matmul-kernel.wasm.ts`: 4 rows × 8 features, no unrolling. Measured with
 * `npm run bench:gemm-simd -- --variants` (GFLOPS, medians of CPU time, one thread, on a busy
 * 2-core AMD EPYC with AVX2):
 *
 *   shape (R×K×N)   4×8/u1  4×8/u2  4×8/u4  2×8/u1  3×8/u1  5×8/u1  6×8/u1  1×8/u1
 *   512×384×384       20.9    17.3    14.9    19.5    20.9    15.6    15.3    13.9
 *   512×384×1536      23.0    17.1    14.0    17.4    21.2    15.5    15.7    14.3
 *   512×1536×384      23.5    17.9    15.1    18.9    23.8    15.9    16.3    14.3
 *   16×384×384        23.1    19.0    15.8    19.2    21.6    16.3    16.6    14.7
 *   16×384×1536       25.5    19.9    17.1    20.9    23.3    18.5    18.3    13.9
 *   16×1536×384       24.9    20.4    17.3    20.7    23.2    18.4    18.0    14.1
 *
 * Taller tiles (5, 6 rows) lose to register spills; unrolling k loses too (V8 allocates
 * registers worse in the longer loop body, and the loop overhead it saves is small).
 */
export const chosenKernelShape: MatmulKernelShape = { tileRows: 4, kUnroll: 1 };

/** Function indices inside the module. */
const storePartialRowIndex = 0;

/** The kernel module's bytes. */
export function buildMatmulKernel(memory: KernelMemoryKind, shape: MatmulKernelShape = chosenKernelShape): Uint8Array<ArrayBuffer> {
  const { tileRows, kUnroll } = shape;
  if (!Number.isInteger(tileRows) || tileRows < 1 || tileRows > 6) throw new RangeError(`tileRows ${tileRows} not in 1..6`);
  if (!Number.isInteger(kUnroll) || kUnroll < 1 || (kUnroll & (kUnroll - 1)) !== 0 || kUnroll > 8) {
    throw new RangeError(`kUnroll ${kUnroll} is not a power of two in 1..8`);
  }
  return encodeModule({
    memory: {
      module: memoryImportModule,
      name: memoryImportName,
      minimumPages: 1,
      ...(memory === 'shared' ? { maximumPages: maximumMemoryPages, shared: true } : { shared: false }),
    },
    functions: [
      buildStorePartialRow(),
      buildMatmul(tileRows, kUnroll),
      buildMatmulRows(chosenRowsKernelShape, matmulRowsExportName),
      buildGelu(),
      buildSoftmax(),
      buildAddLayerNorm(),
    ],
  });
}

/**
 * storePartialRow(address, low, high, count): stores the first `count` (1..7) lanes of the
 * 8-lane pair (low, high) to address, address + 4, …  Used only for the last panel when N is
 * not a multiple of 8; a full panel is stored with two v128 stores instead.
 */
function buildStorePartialRow() {
  const fn = new FunctionBuilder([
    { name: 'address', type: valueType.i32 },
    { name: 'low', type: valueType.v128 },
    { name: 'high', type: valueType.v128 },
    { name: 'count', type: valueType.i32 },
  ]);
  const address = local.get(fn.param('address'));
  const count = local.get(fn.param('count'));
  fn.block('done', () => {
    for (let lane = 0; lane < featuresPerPanel; lane++) {
      // Leave once `lane` is past the valid lanes (lane 0 is always valid).
      if (lane > 0) fn.brIf('done', i32.leU(count, i32.const(lane)));
      const vector = local.get(fn.param(lane < 4 ? 'low' : 'high'));
      fn.emit(f32.store(address, f32x4.extractLane(vector, lane % 4), lane * 4));
    }
  });
  return fn.finish();
}

/**
 * matmul(out, x, weights, bias, rows, inFeatures, outFeatures): out = x · Wᵀ + bias.
 * Pointers are byte addresses; see the file header for the layouts.
 */
function buildMatmul(tileRows: number, kUnroll: number) {
  const { i32: I32, v128: V128 } = valueType;
  const fn = new FunctionBuilder([
    { name: 'out', type: I32 },
    { name: 'x', type: I32 },
    { name: 'weights', type: I32 },
    { name: 'bias', type: I32 },
    { name: 'rows', type: I32 },
    { name: 'inFeatures', type: I32 },
    { name: 'outFeatures', type: I32 },
  ]);
  const get = local.get;
  const out = fn.param('out'), x = fn.param('x'), weights = fn.param('weights'), bias = fn.param('bias');
  const rows = fn.param('rows'), inFeatures = fn.param('inFeatures'), outFeatures = fn.param('outFeatures');

  // Strides in bytes.
  const xRowBytes = fn.local('xRowBytes', I32); //        K · 4: from x[r, k] to x[r + 1, k]
  const outRowBytes = fn.local('outRowBytes', I32); //    N · 4
  const panelBytes = fn.local('panelBytes', I32); //      K · 8 · 4: one packed panel
  // Per panel.
  const featureStart = fn.local('featureStart', I32); //  n0 = 8p, first feature of the panel
  const validFeatures = fn.local('validFeatures', I32); // min(8, N − n0): features to store
  const panelWeights = fn.local('panelWeights', I32); //  &packed[p, 0, 0]
  const panelBias = fn.local('panelBias', I32); //        &bias[8p]
  const biasLow = fn.local('biasLow', V128); //           bias[8p .. 8p+3]
  const biasHigh = fn.local('biasHigh', V128); //         bias[8p+4 .. 8p+7]
  // Per row tile.
  const rowsLeft = fn.local('rowsLeft', I32); //          rows not yet computed for this panel
  const xTile = fn.local('xTile', I32); //                &x[r0, 0]
  const outTile = fn.local('outTile', I32); //            &out[r0, n0]
  const xRowEnd = fn.local('xRowEnd', I32); //            &x[r0, K]: end of the first tile row
  const xUnrolledEnd = fn.local('xUnrolledEnd', I32); //  &x[r0, K − K mod kUnroll]
  // The k loop: one x pointer per tile row, one weight pointer, and the registers.
  const xPointer = Array.from({ length: tileRows }, (_, i) => fn.local(`xPointer${i}`, I32)); // &x[r0+i, k]
  const weightPointer = fn.local('weightPointer', I32); // &packed[p, k, 0]
  const weightLow = fn.local('weightLow', V128); //       packed[p, k, 0..3]
  const weightHigh = fn.local('weightHigh', V128); //     packed[p, k, 4..7]
  const xSplat = fn.local('xSplat', V128); //             x[r0+i, k] in all 4 lanes
  const accumulator = Array.from({ length: tileRows }, (_, i) => ({
    low: fn.local(`accumulator${i}Low`, V128), //         out[r0+i, n0 .. n0+3] so far
    high: fn.local(`accumulator${i}High`, V128), //       out[r0+i, n0+4 .. n0+7] so far
  }));

  /** One k step for `height` rows; `step` selects the immediate offsets inside an unrolled body. */
  const emitKStep = (height: number, step: number) => {
    fn.set(weightLow, v128.load(get(weightPointer), step * 32));
    fn.set(weightHigh, v128.load(get(weightPointer), step * 32 + 16));
    for (let i = 0; i < height; i++) {
      const acc = accumulator[i]!;
      fn.set(xSplat, v128.load32Splat(get(xPointer[i]!), step * 4));
      fn.set(acc.low, f32x4.add(get(acc.low), f32x4.mul(get(xSplat), get(weightLow))));
      fn.set(acc.high, f32x4.add(get(acc.high), f32x4.mul(get(xSplat), get(weightHigh))));
    }
  };
  /** Moves the pointers `steps` k steps on. */
  const emitAdvance = (height: number, steps: number) => {
    fn.increment(weightPointer, i32.const(steps * featuresPerPanel * 4));
    for (let i = 0; i < height; i++) fn.increment(xPointer[i]!, i32.const(steps * 4));
  };

  /** A tile of `height` rows at xTile/outTile: accumulate over all k, then store. */
  const emitTile = (height: number) => {
    for (let i = 0; i < height; i++) {
      fn.set(accumulator[i]!.low, get(biasLow));
      fn.set(accumulator[i]!.high, get(biasHigh));
    }
    fn.set(xPointer[0]!, get(xTile));
    for (let i = 1; i < height; i++) fn.set(xPointer[i]!, i32.add(get(xPointer[i - 1]!), get(xRowBytes)));
    fn.set(weightPointer, get(panelWeights));
    fn.set(xRowEnd, i32.add(get(xTile), get(xRowBytes)));
    // K rounded down to a multiple of kUnroll, in bytes: xRowBytes & −(4 · kUnroll).
    fn.set(xUnrolledEnd, i32.add(get(xTile), i32.and(get(xRowBytes), i32.const(-4 * kUnroll))));

    // Main k loop, kUnroll steps per iteration; the loop condition follows row 0's pointer.
    fn.block(`unrolledDone${height}`, () => {
      fn.brIf(`unrolledDone${height}`, i32.eq(get(xPointer[0]!), get(xUnrolledEnd)));
      fn.loop(`unrolled${height}`, () => {
        for (let step = 0; step < kUnroll; step++) emitKStep(height, step);
        emitAdvance(height, kUnroll);
        fn.brIf(`unrolled${height}`, i32.ne(get(xPointer[0]!), get(xUnrolledEnd)));
      });
    });
    // The last K mod kUnroll steps, one at a time.
    if (kUnroll > 1) {
      fn.block(`restDone${height}`, () => {
        fn.brIf(`restDone${height}`, i32.eq(get(xPointer[0]!), get(xRowEnd)));
        fn.loop(`rest${height}`, () => {
          emitKStep(height, 0);
          emitAdvance(height, 1);
          fn.brIf(`rest${height}`, i32.ne(get(xPointer[0]!), get(xRowEnd)));
        });
      });
    }

    // Store: two v128 per row for a full panel, lane by lane for the last, partial one.
    const outRow = (i: number) => i32.add(get(outTile), i32.mul(get(outRowBytes), i32.const(i)));
    fn.ifElse(
      i32.eq(get(validFeatures), i32.const(featuresPerPanel)),
      () => {
        for (let i = 0; i < height; i++) {
          fn.emit(v128.store(outRow(i), get(accumulator[i]!.low), 0, 2));
          fn.emit(v128.store(outRow(i), get(accumulator[i]!.high), 16, 2));
        }
      },
      () => {
        for (let i = 0; i < height; i++) {
          const { low, high } = accumulator[i]!;
          fn.emit(call(storePartialRowIndex, [outRow(i), get(low), get(high), get(validFeatures)]));
        }
      },
    );
  };

  /** Row tiles of `height` rows while at least `height` rows are left. */
  const emitTileLoop = (height: number) => {
    fn.block(`tilesDone${height}`, () => {
      fn.loop(`tiles${height}`, () => {
        fn.brIf(`tilesDone${height}`, i32.ltU(get(rowsLeft), i32.const(height)));
        emitTile(height);
        fn.increment(xTile, i32.mul(get(xRowBytes), i32.const(height)));
        fn.increment(outTile, i32.mul(get(outRowBytes), i32.const(height)));
        fn.set(rowsLeft, i32.sub(get(rowsLeft), i32.const(height)));
        fn.brIf(`tiles${height}`, i32.const(1));
      });
    });
  };

  fn.set(xRowBytes, i32.mul(get(inFeatures), i32.const(4)));
  fn.set(outRowBytes, i32.mul(get(outFeatures), i32.const(4)));
  fn.set(panelBytes, i32.mul(get(xRowBytes), i32.const(featuresPerPanel)));
  fn.set(featureStart, i32.const(0));
  fn.set(panelWeights, get(weights));
  fn.set(panelBias, get(bias));
  fn.block('panelsDone', () => {
    fn.loop('panels', () => {
      fn.brIf('panelsDone', i32.geU(get(featureStart), get(outFeatures)));
      const featuresLeft = i32.sub(get(outFeatures), get(featureStart));
      fn.set(validFeatures, select(i32.const(featuresPerPanel), featuresLeft, i32.geU(featuresLeft, i32.const(featuresPerPanel))));
      fn.set(biasLow, v128.load(get(panelBias), 0));
      fn.set(biasHigh, v128.load(get(panelBias), 16));
      fn.set(rowsLeft, get(rows));
      fn.set(xTile, get(x));
      fn.set(outTile, i32.add(get(out), i32.mul(get(featureStart), i32.const(4))));

      emitTileLoop(tileRows);
      if (tileRows > 1) emitTileLoop(1);

      fn.increment(featureStart, i32.const(featuresPerPanel));
      fn.increment(panelWeights, get(panelBytes));
      fn.increment(panelBias, i32.const(featuresPerPanel * 4));
      fn.brIf('panels', i32.const(1));
    });
  });
  return fn.finish(matmulExportName);
}

/**
 * A minimal module that uses SIMD128 (a function returning f32x4.splat(1.5)), for feature
 * detection: engines without SIMD reject it in `WebAssembly.validate`.
 */
export function buildSimdProbe(): Uint8Array<ArrayBuffer> {
  const fn = new FunctionBuilder([], [valueType.v128]);
  fn.emit(f32x4.splat(f32.const(1.5)));
  return encodeModule({
    memory: { module: memoryImportModule, name: memoryImportName, minimumPages: 1, shared: false },
    functions: [fn.finish()],
  });
}

/** Path of the committed, generated file, relative to the repository root. */
export const generatedKernelPath = 'src/tensor/simd/matmul-kernel.wasm.ts';

/** The text of `matmul-kernel.wasm.ts`: the three modules as base64 constants. */
export function renderGeneratedKernelFile(): string {
  const unshared = buildMatmulKernel('unshared');
  const shared = buildMatmulKernel('shared');
  const probe = buildSimdProbe();
  const { tileRows, kUnroll } = chosenKernelShape;
  return [
    '/**',
    ' * GENERATED FILE, do not edit. Regenerate with `npm run build:simd` (scripts/build-simd.ts),',
    ' * which writes the output of `renderGeneratedKernelFile()` in `matmul-kernel.ts`; a test checks',
    ' * that this file is up to date.',
    ' *',
    ' * The WebAssembly modules of the SIMD matmul kernel, base64-encoded, so that the runtime needs',
    ' * nothing but `WebAssembly.compile`:',
    ` *   matmulKernelUnshared  imports a plain memory     (${unshared.length} bytes)`,
    ` *   matmulKernelShared    imports a shared memory    (${shared.length} bytes)`,
    ` *   simdProbe             SIMD feature detection     (${probe.length} bytes)`,
    ` * Kernel shape: ${tileRows} rows × 8 output features per register tile, k loop unrolled ${kUnroll}×.`,
    ' */',
    '',
    `export const matmulKernelUnsharedBase64 =\n${base64Lines(unshared)};`,
    '',
    `export const matmulKernelSharedBase64 =\n${base64Lines(shared)};`,
    '',
    `export const simdProbeBase64 =\n${base64Lines(probe)};`,
    '',
  ].join('\n');
}

/** Base64 of `bytes` as a TypeScript string expression, split into lines of at most 96 characters. */
function base64Lines(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const text = btoa(binary);
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 96) lines.push(`  '${text.slice(i, i + 96)}'`);
  return lines.join(' +\n');
}
