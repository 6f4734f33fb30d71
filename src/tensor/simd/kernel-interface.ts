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
  gelu: GeluFunction;
  softmax: SoftmaxFunction;
  addLayerNorm: AddLayerNormFunction;
}

/** The functions of an instance of the kernel module (typed structurally: declarations need no WebAssembly types). */
export function kernelFunctions(instance: { readonly exports: Readonly<Record<string, unknown>> }): KernelFunctions {
  return {
    matmul: instance.exports[matmulExportName] as MatmulFunction,
    gelu: instance.exports[geluExportName] as GeluFunction,
    softmax: instance.exports[softmaxExportName] as SoftmaxFunction,
    addLayerNorm: instance.exports[addLayerNormExportName] as AddLayerNormFunction,
  };
}
