/**
 * BertModel: embeddings, then N encoder layers. Token ids in, one H-vector per token out.
 *
 *   x = Embeddings(ids, positions, token types)      [T, H]
 *   for each of the N layers: x = BertLayer(x)        [T, H]
 *
 * Hugging Face: `BertModel` in transformers/models/bert/modeling_bert.py (without the pooler,
 * which sentence-transformers does not use). The forward pass runs on a packed batch (real tokens
 * only, see `token-batch.ts`) in a reusable workspace, and calls its matmuls through one
 * `LinearBackend` (plain, packed JS, threaded, or SIMD), the only thing that changes between
 * backends.
 */

import type { LinearBackend } from '../tensor/backend.ts';
import { stackRows } from '../tensor/linear-packed.ts';
import { embeddingsForward } from '../layers/embeddings.ts';
import { encoderLayerForward } from '../layers/encoder-layer.ts';
import type { PreparedBertLayer, PreparedBertWeights, PreparedLinearLayer } from '../layers/prepared.ts';
import type { BertConfig } from './config.ts';
import type { TokenBatch } from './token-batch.ts';
import type { BertWeights, LinearWeights } from './weights.ts';
import { createWorkspace, type Workspace } from './workspace.ts';

/** Optional hooks to look inside a forward pass (tracing, tests). Views are only valid during the call. */
export interface ForwardObserver {
  /** stage 0: after the embeddings LayerNorm; stage i: after layer i. hidden: [T, H]. */
  hiddenState?(stage: number, hidden: Float32Array): void;
  /** Attention probabilities of one query row: layer, sequence, head, query, probs[0..length). */
  attention?(layer: number, sequence: number, head: number, query: number, probs: Float64Array, length: number): void;
}

export class BertModel {
  readonly config: BertConfig;
  readonly backend: LinearBackend;
  private readonly weights: PreparedBertWeights;
  private workspace: Workspace | null = null;

  constructor(config: BertConfig, weights: BertWeights, backend: LinearBackend) {
    this.config = config;
    this.backend = backend;
    this.weights = {
      embeddings: weights.embeddings,
      encoder: { layer: weights.encoder.layer.map((layer) => prepareLayer(layer, config, backend)) },
    };
  }

  /**
   * Runs the encoder. Returns the last hidden state [T, H] as a view into the workspace:
   * valid until the next call (copy what you keep).
   */
  forward(batch: TokenBatch, observer?: ForwardObserver): Float32Array {
    const workspace = this.workspaceFor(batch.totalTokens);
    const { config, backend } = this;
    const T = batch.totalTokens;
    const hiddenView = (): Float32Array => workspace.hidden.subarray(0, T * config.hiddenSize);

    embeddingsForward(workspace.hidden, batch, this.weights.embeddings, config);
    observer?.hiddenState?.(0, hiddenView());

    const layers = this.weights.encoder.layer;
    for (let i = 0; i < layers.length; i++) {
      const observeAttention = observer?.attention && ((...args: [number, number, number, Float64Array, number]) =>
        observer.attention!(i, ...args));
      encoderLayerForward(layers[i], batch, workspace, config, backend, observeAttention);
      observer?.hiddenState?.(i + 1, hiddenView());
    }
    return hiddenView();
  }

  /** Frees the backend's resources (workers, memory). */
  dispose(): void {
    this.workspace = null;
    this.backend.dispose();
  }

  /** The workspace, grown (never shrunk) to hold `tokens` rows. */
  private workspaceFor(tokens: number): Workspace {
    if (this.workspace === null || this.workspace.capacity < tokens) {
      // Grow geometrically so a slowly rising batch size does not reallocate every call.
      const capacity = Math.max(tokens, Math.ceil((this.workspace?.capacity ?? 0) * 1.5));
      this.workspace = null; // let the old buffers go before allocating the new ones
      this.workspace = createWorkspace(this.config, this.backend, capacity);
    }
    return this.workspace;
  }
}

function prepareLayer(
  layer: BertWeights['encoder']['layer'][number],
  config: BertConfig,
  backend: LinearBackend,
): PreparedBertLayer {
  const { hiddenSize: H, intermediateSize: I } = config;
  const prepare = ({ weight, bias }: LinearWeights, outF: number, inF: number): PreparedLinearLayer => ({
    weight: backend.prepare(weight, outF, inF),
    bias,
  });
  const { query, key, value } = layer.attention.self;
  // The fused projection's weight [3H, H] is its three [H, H] blocks: read where they lie by the
  // backends that can (the JS and SIMD ones: no 10 MB concatenated copy for this model), stacked
  // into one matrix for the others.
  const blocks = [query.weight, key.weight, value.weight];
  const queryKeyValue: PreparedLinearLayer = {
    weight: backend.prepareRowBlocks?.(blocks, 3 * H, H) ?? backend.prepare(stackRows(blocks), 3 * H, H),
    bias: stackRows([query.bias, key.bias, value.bias]), // [3H]
  };
  return {
    attention: {
      self: { queryKeyValue },
      output: { dense: prepare(layer.attention.output.dense, H, H), LayerNorm: layer.attention.output.LayerNorm },
    },
    intermediate: { dense: prepare(layer.intermediate.dense, I, H) },
    output: { dense: prepare(layer.output.dense, H, I), LayerNorm: layer.output.LayerNorm },
  };
}
