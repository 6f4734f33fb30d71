/**
 * The weights of the model after the backend has prepared them for its matmul kernel.
 *
 * Same tree as the checkpoint (see `model/weights.ts`), with one deliberate change: the query,
 * key and value projections of each layer are concatenated into one `[3H, H]` matrix, so one
 * matmul computes all three (one pass over the input instead of three).
 */

import type { PreparedLinear } from '../tensor/backend.ts';
import type { BertEmbeddingsWeights, LayerNormWeights } from '../model/weights.ts';

/** A linear layer whose weight is in the backend's layout; the bias stays a plain [out] array. */
export interface PreparedLinearLayer {
  weight: PreparedLinear;
  bias: Float32Array;
}

export interface PreparedBertLayer {
  attention: {
    self: { queryKeyValue: PreparedLinearLayer }; // [3H, H]: query, key, value stacked
    output: { dense: PreparedLinearLayer; LayerNorm: LayerNormWeights };
  };
  intermediate: { dense: PreparedLinearLayer }; // [I, H]
  output: { dense: PreparedLinearLayer; LayerNorm: LayerNormWeights }; // [H, I]
}

export interface PreparedBertWeights {
  embeddings: BertEmbeddingsWeights;
  encoder: { layer: PreparedBertLayer[] };
}
