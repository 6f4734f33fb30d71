/**
 * What the generated kernel module and the JavaScript that runs it agree on: the import and export
 * names, the function's signature, the memory limits. Kept apart from `matmul-kernel.ts` so that
 * the runtime (`simd-backend.ts`) does not load the assembler.
 */

/** The kernel imports its memory as `{ env: { memory } }`. */
export const memoryImportModule = 'env';
export const memoryImportName = 'memory';

/** Names of the exported functions. */
export const matmulExportName = 'matmul';
export const matmulRowsExportName = 'matmulRows';
export const geluExportName = 'gelu';
export const softmaxExportName = 'softmax';
export const addLayerNormExportName = 'addLayerNorm';

/** WebAssembly memory grows in pages of 64 KiB. */
export const pageBytes = 65536;
/** The largest wasm32 memory: 65536 pages = 4 GiB. A shared memory must declare a maximum. */
export const maximumMemoryPages = 65536;

/** Whether the imported memory is a plain or a shared (threads) WebAssembly.Memory. */
export type KernelMemoryKind = 'unshared' | 'shared';

/**
 * matmul(out, x, weights, bias, rows, inFeatures, outFeatures): out = x · Wᵀ + bias.
 * Every pointer is a byte address in the memory:
 *   out      [rows, outFeatures]             4-byte aligned
 *   x        [rows, inFeatures]              4-byte aligned
 *   weights  [panels, inFeatures, 8]         16-byte aligned, see `packed-weights.ts`
 *   bias     [panels · 8]                    16-byte aligned, zero padded
 * Requires inFeatures ≥ 1 and outFeatures ≥ 1; rows may be 0.
 */
export type MatmulFunction = (
  out: number,
  x: number,
  weights: number,
  bias: number,
  rows: number,
  inFeatures: number,
  outFeatures: number,
) => void;

/**
 * matmulRows(out, x, weights, bias, rows, inFeatures, outFeatures, outStride): out = x · Wᵀ + bias
 * with W as the checkpoint stores it (see `matmul-rows-kernel.ts`). Byte addresses:
 *   out      [rows, outStride]                columns 0 … outFeatures−1 written; 4-byte aligned
 *   x        [rows, inFeatures]               4-byte aligned
 *   weights  [outFeatures, inFeatures]        row-major, 4-byte aligned
 *   bias     [outFeatures]                    4-byte aligned
 * Requires inFeatures ≥ 1, outFeatures ≥ 1 and outStride ≥ outFeatures; rows may be 0.
 */
export type MatmulRowsFunction = (
  out: number,
  x: number,
  weights: number,
  bias: number,
  rows: number,
  inFeatures: number,
  outFeatures: number,
  outStride: number,
) => void;

/**
 * gelu(address, count): replaces `count` float32 values at `address` (4-byte aligned) by their
 * GELU (see `gelu-kernel.ts` for the method and its accuracy).
 */
export type GeluFunction = (address: number, count: number) => void;

/**
 * softmax(address, rows, length): replaces each of `rows` consecutive rows of `length` float32
 * values at `address` (4-byte aligned) by its softmax (see `softmax-kernel.ts`).
 */
export type SoftmaxFunction = (address: number, rows: number, length: number) => void;

/**
 * addLayerNorm(out, x, residual, gamma, beta, rows, dim, eps): out = LayerNorm(x + residual)
 * over rows of `dim` (a multiple of 4) float32 values; byte addresses (see `layer-norm-kernel.ts`).
 */
export type AddLayerNormFunction = (
  out: number,
  x: number,
  residual: number,
  gamma: number,
  beta: number,
  rows: number,
  dim: number,
  eps: number,
) => void;

/** The functions of an instantiated kernel module. */
export interface KernelFunctions {
  matmul: MatmulFunction;
  matmulRows: MatmulRowsFunction;
  gelu: GeluFunction;
  softmax: SoftmaxFunction;
  addLayerNorm: AddLayerNormFunction;
}

/** The functions of an instance of the kernel module (typed structurally: declarations need no WebAssembly types). */
export function kernelFunctions(instance: { readonly exports: Readonly<Record<string, unknown>> }): KernelFunctions {
  return {
    matmul: instance.exports[matmulExportName] as MatmulFunction,
    matmulRows: instance.exports[matmulRowsExportName] as MatmulRowsFunction,
    gelu: instance.exports[geluExportName] as GeluFunction,
    softmax: instance.exports[softmaxExportName] as SoftmaxFunction,
    addLayerNorm: instance.exports[addLayerNormExportName] as AddLayerNormFunction,
  };
}

/**
 * Rows per call of `matmulRows` in `matmulRowBlocks`: 32 rows of x (48 KiB for K = 384, 192 KiB
 * for K = 1536) stay in L1/L2 cache while every weight row passes over them. Without it, a long
 * batch's x (2048 tokens: 3 MiB) was read again from L3 for every pair of features: 24-25 GFLOPS
 * against 30-32 in blocks of 16-64 rows (bench/gemm-simd.ts, 2048 rows). Each output is the same
 * sum whatever block its row falls in, so the blocks change no result.
 */
export const MATMUL_ROW_BLOCK = 32;

/**
 * A prepared weight's row blocks, as the SIMD backend writes them into the memory (uint32 at a
 * 4-byte aligned byte address), so that workers find them too:
 *
 *   [blockCount, address₀, rows₀, address₁, rows₁, …]
 *
 * Block b holds rows₀ + … + rows_{b−1} onward of the weight [N, K] (as `matmulRows` reads it,
 * row-major at its own address): a fused Q, K, V weight read where the checkpoint keeps its three
 * matrices, or one block for everything else. Computes out[rows, N] = x · Wᵀ + bias, block by
 * block into its own columns of out, MATMUL_ROW_BLOCK rows of x at a time.
 */
export function matmulRowBlocks(
  matmulRows: MatmulRowsFunction,
  heap: Uint32Array, // the whole memory as uint32 (addresses reach 4 GiB)
  blockTable: number,
  out: number,
  x: number,
  bias: number,
  rows: number,
  inFeatures: number,
  outFeatures: number,
): void {
  const table = blockTable >>> 2;
  const blockCount = heap[table]!;
  for (let rowStart = 0; rowStart < rows; rowStart += MATMUL_ROW_BLOCK) {
    const blockRowCount = Math.min(MATMUL_ROW_BLOCK, rows - rowStart);
    const xBlock = x + rowStart * inFeatures * 4; //    &x[rowStart, 0]
    const outBlock = out + rowStart * outFeatures * 4; // &out[rowStart, 0]
    let firstFeature = 0;
    for (let block = 0; block < blockCount; block++) {
      const address = heap[table + 1 + 2 * block]!;
      const weightRows = heap[table + 2 + 2 * block]!;
      matmulRows(outBlock + firstFeature * 4, xBlock, address, bias + firstFeature * 4, blockRowCount, inFeatures, weightRows, outFeatures);
      firstFeature += weightRows;
    }
  }
}
