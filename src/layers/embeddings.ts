/**
 * BertEmbeddings: token vectors from three lookup tables, summed, then LayerNorm.
 *
 *   x_t = LayerNorm(word[id_t] + position[pos_t] + token_type[type_t])
 *
 * Hugging Face: `BertEmbeddings.forward` in transformers/models/bert/modeling_bert.py.
 * Dimensions: T packed tokens, H hidden size. Output `hidden`: [T, H].
 * Ids were range-checked when the batch was packed (`model/token-batch.ts`).
 */

import { layerNorm } from '../tensor/layer-norm.ts';
import type { BertConfig } from '../model/config.ts';
import type { TokenBatch } from '../model/token-batch.ts';
import type { BertEmbeddingsWeights } from '../model/weights.ts';

export function embeddingsForward(
  hidden: Float32Array, // [T, H] written
  batch: TokenBatch,
  embeddings: BertEmbeddingsWeights,
  config: BertConfig,
): void {
  const H = config.hiddenSize;
  const { word_embeddings, position_embeddings, token_type_embeddings, LayerNorm } = embeddings;
  for (let t = 0; t < batch.totalTokens; t++) {
    const word = batch.tokenIds[t] * H;
    const position = batch.positionIds[t] * H;
    const tokenType = batch.tokenTypeIds[t] * H;
    const row = t * H;
    for (let i = 0; i < H; i++) {
      // Summed in float64, stored once as float32.
      hidden[row + i] = word_embeddings[word + i] + position_embeddings[position + i] + token_type_embeddings[tokenType + i];
    }
  }
  layerNorm(hidden, hidden, LayerNorm.weight, LayerNorm.bias, batch.totalTokens, H, config.layerNormEps);
}
