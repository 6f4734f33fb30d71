/**
 * The one seam between the model and the matmul implementation.
 *
 * The linear layers are most of the work, so they are what a backend replaces; a backend with
 * threads may also take the attention step, to share it (still the TypeScript kernel of
 * attention-fast.ts), and the SIMD one takes attention and "Add & Norm" into its own kernels.
 * Every other step (embeddings, pooling) stays plain TypeScript in `src/tensor`, on the calling
 * thread.
 * A backend:
 *   - prepares each weight matrix once, at load time: uses the checkpoint's view in place (the
 *     plain and default JS kernels; the threaded and SIMD ones when the checkpoint already lies
 *     in their shared or WebAssembly memory), or copies it into the memory its kernel needs;
 *   - allocates the activation buffers the model passes to `linear`, so that a threaded backend
 *     can hand out SharedArrayBuffer-backed arrays and a WebAssembly backend arrays inside its
 *     memory: no copy per call;
 *   - computes out = x · Wᵀ + b, optionally followed by GELU (a fused pass saves one sweep).
 *
 * `plainBackend` below is the reference: the textbook loop of `linear.ts`, no preparation.
 */

import { linear } from './linear.ts';
import type { addLayerNorm } from './layer-norm.ts';
import { geluInPlace } from './gelu.ts';
import type { AttentionScratch, AttentionShape } from './attention.ts';

/** What may follow the matmul in the same pass. */
export type LinearActivation = 'none' | 'gelu';

/** A weight matrix after `prepare`: opaque to the model, understood by its backend. */
export interface PreparedLinear {
  readonly outFeatures: number;
  readonly inFeatures: number;
}

export interface LinearBackend {
  readonly name: string;
  /** Once per weight matrix at load time. weight: [outFeatures, inFeatures] (PyTorch layout). */
  prepare(weight: Float32Array, outFeatures: number, inFeatures: number): PreparedLinear;
  /**
   * Optional: `prepare` for a weight given as consecutive blocks of whole rows, for backends that
   * can use the blocks where they lie. The model's fused Q, K, V projection is the checkpoint's
   * three [H, H] weights; without this method the model stacks them into one [3H, H] copy and
   * calls `prepare`.
   */
  prepareRowBlocks?(blocks: readonly Float32Array[], outFeatures: number, inFeatures: number): PreparedLinear;
  /**
   * out = activation(x · Wᵀ + b).
   * out: [rows, outFeatures], x: [rows, inFeatures], bias: [outFeatures] or null.
   * x and out must come from this backend's `allocate`.
   */
  linear(
    out: Float32Array,
    x: Float32Array,
    weight: PreparedLinear,
    bias: Float32Array | null,
    rows: number,
    activation?: LinearActivation,
  ): void;
  /**
   * A zeroed Float32Array for activations, in memory this backend can compute on.
   * On a WebAssembly backend a later `allocate` or `prepare` may grow the memory and detach
   * earlier arrays: prepare all weights first, then allocate once (see model/workspace.ts).
   */
  allocate(length: number): Float32Array;
  /**
   * Optional: the attention of a whole packed batch, every (sequence, head) pair, for backends
   * with threads to share it between (or, the SIMD one, a kernel of their own for it). Without
   * it the model runs `multiHeadSelfAttentionFast` (attention-fast.ts) sequence by sequence on
   * the calling thread. The threaded JS backend gives exactly those bits (it runs the same
   * per-head function, wherever each pair falls); the SIMD one gives the same bits on any
   * number of threads.
   * context: [T, H] written; qkv: [T, 3H] from this backend's `allocate`;
   * sequenceStarts: [B + 1], sequence b owns rows sequenceStarts[b] … sequenceStarts[b+1]−1.
   */
  attention?(
    context: Float32Array,
    qkv: Float32Array,
    sequenceStarts: Int32Array,
    shape: AttentionShape,
    scratch: AttentionScratch,
  ): void;
  /**
   * Optional: out = LayerNorm(x + residual) (`addLayerNorm` of layer-norm.ts, same arguments),
   * for a backend with a faster one of its own (the SIMD one, in its kernel module); without it
   * the model runs `addLayerNorm`. The arrays come from this backend's `allocate`; `out` may be
   * `x` or `residual`.
   */
  addLayerNorm?: typeof addLayerNorm;
  /** Frees workers or memory. The backend must not be used afterwards. */
  dispose(): void;
}

interface PlainPreparedLinear extends PreparedLinear {
  readonly weight: Float32Array; // [outFeatures, inFeatures], the checkpoint's own view
}

/** The reference backend: `linear.ts` as written, weights used in place. */
export const plainBackend: LinearBackend = {
  name: 'plain',
  prepare(weight, outFeatures, inFeatures): PlainPreparedLinear {
    return { weight, outFeatures, inFeatures };
  },
  linear(out, x, prepared, bias, rows, activation = 'none') {
    const { weight, inFeatures, outFeatures } = prepared as PlainPreparedLinear;
    linear(out, x, weight, bias, rows, inFeatures, outFeatures);
    if (activation === 'gelu') geluInPlace(out, rows * outFeatures);
  },
  allocate: (length) => new Float32Array(length),
  dispose() {},
};
