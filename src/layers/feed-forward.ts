/**
 * The feed-forward half of a BERT layer: BertIntermediate + BertOutput.
 *
 *   h = GELU(x · W1ᵀ + b1)          [T, H] x [H, I] → [T, I]   (GELU fused into the matmul pass)
 *   x = LayerNorm(h · W2ᵀ + b2 + x)  [T, I] x [I, H] → [T, H]
 *
 * Hugging Face: `BertIntermediate` and `BertOutput` in modeling_bert.py. GELU is the exact erf
 * form (`hidden_act: "gelu"`), see `tensor/gelu.ts`.
 */

import type { LinearBackend } from '../tensor/backend.ts';
import { addLayerNorm } from '../tensor/layer-norm.ts';
import type { BertConfig } from '../model/config.ts';
import type { Workspace } from '../model/workspace.ts';
import type { PreparedBertLayer } from './prepared.ts';

/** Updates `workspace.hidden` in place: x ← LayerNorm(FFN(x) + x). */
export function feedForward(
  intermediate: PreparedBertLayer['intermediate'],
  output: PreparedBertLayer['output'],
  tokens: number,
  workspace: Workspace,
  config: BertConfig,
  backend: LinearBackend,
): void {
  const { hidden, intermediate: h, projection } = workspace;
  backend.linear(h, hidden, intermediate.dense.weight, intermediate.dense.bias, tokens, 'gelu');
  backend.linear(projection, h, output.dense.weight, output.dense.bias, tokens);
  const { weight: gamma, bias: beta } = output.LayerNorm;
  const addAndNorm = backend.addLayerNorm?.bind(backend) ?? addLayerNorm; // the backend's own, if it has one
  addAndNorm(hidden, projection, hidden, gamma, beta, tokens, config.hiddenSize, config.layerNormEps);
}
