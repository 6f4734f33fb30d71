/**
 * One BertLayer: attention block, then feed-forward block, each closed by residual + LayerNorm
 * (post-LN, as in the original BERT).
 *
 *   x ← LayerNorm(x + SelfAttention(x))
 *   x ← LayerNorm(x + FeedForward(x))
 *
 * Shapes: x is `workspace.hidden`, [T, H] (T packed tokens, H hidden size), updated in place; the
 * layer's other buffers ([T, 3H], [T, H], [T, I]) are the workspace's (model/workspace.ts).
 * Hugging Face: `BertLayer` in modeling_bert.py.
 */

import type { LinearBackend } from '../tensor/backend.ts';
import type { BertConfig } from '../model/config.ts';
import type { TokenBatch } from '../model/token-batch.ts';
import type { Workspace } from '../model/workspace.ts';
import { feedForward } from './feed-forward.ts';
import type { PreparedBertLayer } from './prepared.ts';
import { attentionForward, type LayerAttentionObserver } from './self-attention.ts';

export function encoderLayerForward(
  layer: PreparedBertLayer,
  batch: TokenBatch,
  workspace: Workspace,
  config: BertConfig,
  backend: LinearBackend,
  observeAttention?: LayerAttentionObserver,
): void {
  attentionForward(layer.attention, batch, workspace, config, backend, observeAttention);
  feedForward(layer.intermediate, layer.output, batch.totalTokens, workspace, config, backend);
}
