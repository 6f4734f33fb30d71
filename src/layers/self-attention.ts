/**
 * The attention half of a BERT layer: BertSelfAttention + BertSelfOutput.
 *
 *   qkv     = x · [Wq; Wk; Wv]ᵀ + [bq; bk; bv]             [T, H] x [H, 3H] → [T, 3H]
 *   context = per sequence, per head: softmax(q kᵀ/√d) v    [T, H]
 *   x       = LayerNorm(context · Woᵀ + bo + x)             [T, H] x [H, H] → [T, H]
 *
 * Hugging Face: `BertSelfAttention` and `BertSelfOutput` in modeling_bert.py.
 * T packed tokens of B sequences; attention never crosses a sequence boundary.
 */

import type { LinearBackend } from '../tensor/backend.ts';
import type { AttentionProbsObserver } from '../tensor/attention.ts';
import { multiHeadSelfAttentionFast } from '../tensor/attention-fast.ts';
import { addLayerNorm } from '../tensor/layer-norm.ts';
import type { BertConfig } from '../model/config.ts';
import type { TokenBatch } from '../model/token-batch.ts';
import type { Workspace } from '../model/workspace.ts';
import type { PreparedBertLayer } from './prepared.ts';

/** Receives attention probabilities when tracing: sequence b, head, query row, probabilities over keys. */
export type LayerAttentionObserver = (sequence: number, ...rest: Parameters<AttentionProbsObserver>) => void;

/** Updates `workspace.hidden` in place: x ← LayerNorm(Attention(x) + x). */
export function attentionForward(
  layer: PreparedBertLayer['attention'],
  batch: TokenBatch,
  workspace: Workspace,
  config: BertConfig,
  backend: LinearBackend,
  observe?: LayerAttentionObserver,
): void {
  const T = batch.totalTokens;
  const { hidden, queryKeyValue, context, projection, attentionScratch } = workspace;
  const shape = { numHeads: config.numHeads, headSize: config.headSize };

  // [T, H] x [H, 3H] → [T, 3H]
  backend.linear(queryKeyValue, hidden, layer.self.queryKeyValue.weight, layer.self.queryKeyValue.bias, T);

  if (backend.attention !== undefined && observe === undefined) {
    // A backend with threads shares the (sequence, head) pairs between them; the SIMD one also
    // runs each pair on its own kernel (LinearBackend.attention).
    backend.attention(context, queryKeyValue, batch.sequenceStarts, shape, attentionScratch);
  } else {
    for (let b = 0; b + 1 < batch.sequenceStarts.length; b++) {
      const start = batch.sequenceStarts[b]!;
      const length = batch.sequenceStarts[b + 1]! - start;
      const observeSequence: AttentionProbsObserver | undefined = observe && ((...args) => observe(b, ...args));
      // The fast kernel: bit-identical to the plain `multiHeadSelfAttention` (tensor/attention.ts).
      multiHeadSelfAttentionFast(context, queryKeyValue, start, length, shape, attentionScratch, null, observeSequence);
    }
  }

  // [T, H] x [H, H] → [T, H], then residual + LayerNorm
  backend.linear(projection, context, layer.output.dense.weight, layer.output.dense.bias, T);
  const { weight: gamma, bias: beta } = layer.output.LayerNorm;
  const addAndNorm = backend.addLayerNorm?.bind(backend) ?? addLayerNorm; // the backend's own, if it has one
  addAndNorm(hidden, projection, hidden, gamma, beta, T, config.hiddenSize, config.layerNormEps);
}
