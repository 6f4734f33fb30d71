/**
 * The one seam between the model and the matmul implementation.
 *
 * The linear layers are ~95% of the work, so they are the only thing a backend replaces; every
 * other step (embeddings, LayerNorm, softmax, pooling) stays plain TypeScript in `src/tensor`.
 * A backend:
 *   - prepares each weight matrix once, at load time: uses the checkpoint's view in place (the
 *     plain and default JS kernels), or copies it into the memory or layout its kernel needs
 *     (shared memory for threads, WebAssembly memory in SIMD panels);
 *   - allocates the activation buffers the model passes to `linear`, so that a threaded backend
 *     can hand out SharedArrayBuffer-backed arrays and a WebAssembly backend arrays inside its
 *     memory: no copy per call;
 *   - computes out = x · Wᵀ + b, optionally followed by GELU (a fused pass saves one sweep).
 *
 * `plainBackend` below is the reference: the textbook loop of `linear.ts`, no preparation.
 */

import { linear } from './linear.ts';
import { geluInPlace } from './gelu.ts';

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
