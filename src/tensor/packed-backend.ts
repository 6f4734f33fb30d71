/**
 * The packed backend: `linear-packed.ts` on the calling thread.
 *
 * `prepare` repacks each weight matrix once into panels (see linear-packed.ts for the layout);
 * the caller may then drop the checkpoint's view, so each weight is held once. Activations are
 * ordinary Float32Arrays. Results are bit-identical to `plainBackend`, about 4× faster
 * (`npm run bench:gemm`).
 * For more than one thread, see `threaded-backend.ts`.
 */

import type { LinearBackend } from './backend.ts';
import { linearPacked, packLinearWeight, type PackedLinearWeight } from './linear-packed.ts';

export const packedBackend: LinearBackend = {
  name: 'packed',
  prepare: (weight, outFeatures, inFeatures) => packLinearWeight(weight, outFeatures, inFeatures),
  linear(out, x, prepared, bias, rows, activation = 'none') {
    // linearPacked checks that `prepared` came from packLinearWeight and that the sizes fit.
    linearPacked(out, x, prepared as PackedLinearWeight, bias, 0, rows, activation);
  },
  allocate: (length) => new Float32Array(length),
  dispose() {},
};
