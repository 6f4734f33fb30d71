/**
 * The packed backend: `linearTiled` (linear-packed.ts) on the calling thread. (The name is
 * historical: weights were once repacked into panels; they no longer are.)
 *
 * `prepare` wraps the caller's view without copying it, after checking its length: the weights
 * are used in place; the checkpoint bytes are the only copy. Loading therefore costs nothing per
 * weight; weights repacked into panels measured no faster (linear-packed.ts explains the
 * trade-off). Activations are ordinary Float32Arrays. Results are bit-identical to
 * `plainBackend`, about 4× faster (`npm run bench:gemm`).
 * For more than one thread, see `threaded-backend.ts`.
 */

import type { LinearBackend } from './backend.ts';
import { linearTiled, wrapLinearWeight, type LinearWeightView } from './linear-packed.ts';

export const packedBackend: LinearBackend = {
  name: 'packed',
  prepare: (weight, outFeatures, inFeatures) => wrapLinearWeight(weight, outFeatures, inFeatures),
  prepareRowBlocks: (blocks, outFeatures, inFeatures) => wrapLinearWeight(blocks, outFeatures, inFeatures),
  linear(out, x, prepared, bias, rows, activation = 'none') {
    // linearTiled checks that `prepared` came from wrapLinearWeight and that the sizes fit.
    linearTiled(out, x, prepared as LinearWeightView, bias, 0, rows, activation);
  },
  allocate: (length) => new Float32Array(length),
  dispose() {},
};
