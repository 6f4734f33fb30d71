/**
 * The activation buffers of one forward pass, allocated once and reused.
 *
 * Sized for `capacity` packed tokens (all real tokens of a batch); a larger batch replaces them
 * with bigger ones, a smaller one reuses them, so memory stays flat across calls and nothing is
 * allocated inside the layer loop. Buffers come from the backend's `allocate`, so a threaded or
 * WebAssembly backend can compute on them directly.
 *
 *   T tokens (capacity), H hidden size, I intermediate size, L longest sequence
 */

import type { LinearBackend } from '../tensor/backend.ts';
import { createAttentionScratch, type AttentionScratch } from '../tensor/attention.ts';
import type { BertConfig } from './config.ts';

export interface Workspace {
  capacity: number; // T: tokens the buffers can hold
  hidden: Float32Array; // [T, H]   the residual stream, updated layer by layer
  queryKeyValue: Float32Array; // [T, 3H]  fused Q, K, V projections
  context: Float32Array; // [T, H]   attention output before its dense layer
  projection: Float32Array; // [T, H]   output of attention.output.dense and of output.dense
  intermediate: Float32Array; // [T, I]   GELU(intermediate.dense(x))
  attentionScratch: AttentionScratch; // float64 score rows and per-head blocks for the longest sequence
}

export function createWorkspace(config: BertConfig, backend: LinearBackend, capacity: number): Workspace {
  const { hiddenSize: H, intermediateSize: I } = config;
  // One allocation, sliced: a WebAssembly backend may grow (and so detach) its memory on every
  // allocate, so every activation buffer must come from a single call made after all weights
  // were prepared.
  const block = backend.allocate(capacity * (6 * H + I));
  let offset = 0;
  const take = (width: number): Float32Array => {
    const view = block.subarray(offset, offset + capacity * width);
    offset += capacity * width;
    return view;
  };
  return {
    capacity,
    hidden: take(H),
    queryKeyValue: take(3 * H),
    context: take(H),
    projection: take(H),
    intermediate: take(I),
    attentionScratch: createAttentionScratch(config.maxPositions, config.headSize),
  };
}
