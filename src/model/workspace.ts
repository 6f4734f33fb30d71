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
  attentionScratch: AttentionScratch; // [L] scores and [d] accumulator, float64
}

export function createWorkspace(config: BertConfig, backend: LinearBackend, capacity: number): Workspace {
  const { hiddenSize: H, intermediateSize: I } = config;
  return {
    capacity,
    hidden: backend.allocate(capacity * H),
    queryKeyValue: backend.allocate(capacity * 3 * H),
    context: backend.allocate(capacity * H),
    projection: backend.allocate(capacity * H),
    intermediate: backend.allocate(capacity * I),
    attentionScratch: createAttentionScratch(config.maxPositions, config.headSize),
  };
}
