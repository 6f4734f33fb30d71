/**
 * A BenchEngine over a raw ONNX Runtime session (onnxruntime-node or onnxruntime-web), doing
 * what the other engines do after the encoder: mean pooling over the attention mask and L2
 * normalisation, in plain JavaScript, so the work measured is the same.
 *
 * Dimension glossary:
 *   B  sequences in the batch
 *   T  tokens of the longest sequence (the others are padded to it, mask 0)
 *   H  hidden size (384)
 */

import type { BenchEngine } from './protocol.ts';
import type { OrtModule, OrtSession } from './peer-types.ts';
import type { BenchSequence } from './workloads.ts';

/**
 * An onnxruntime-web session on its WebAssembly SIMD backend with `threads` threads, set up as
 * every onnxruntime-web measurement here sets it up (engines/onnxruntime-web.ts, paired.ts). The
 * WebAssembly module itself is fetched and compiled inside `create`.
 */
export function createOrtWebSession(ort: OrtModule, onnxPath: string, threads: number): Promise<OrtSession> {
  ort.env.wasm!.numThreads = threads;
  ort.env.wasm!.simd = true;
  return ort.InferenceSession.create(onnxPath, {
    executionProviders: ['wasm'],
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

export function ortEngine(ort: OrtModule, session: OrtSession): BenchEngine {
  return {
    async embed(batch: BenchSequence[]): Promise<Float32Array[]> {
      const B = batch.length;
      const T = Math.max(...batch.map((s) => s.ids.length));
      const inputIds = new BigInt64Array(B * T); // [B, T], 0 = [PAD]
      const attentionMask = new BigInt64Array(B * T); // [B, T]
      const tokenTypeIds = new BigInt64Array(B * T); // [B, T], all segment 0
      batch.forEach((sequence, b) => {
        sequence.ids.forEach((id, t) => {
          inputIds[b * T + t] = BigInt(id);
          attentionMask[b * T + t] = 1n;
        });
      });
      const outputs = await session.run({
        input_ids: new ort.Tensor('int64', inputIds, [B, T]),
        attention_mask: new ort.Tensor('int64', attentionMask, [B, T]),
        token_type_ids: new ort.Tensor('int64', tokenTypeIds, [B, T]),
      });
      const hidden = outputs['last_hidden_state'];
      if (hidden === undefined || !(hidden.data instanceof Float32Array)) {
        throw new Error('the ONNX model did not return a float32 last_hidden_state');
      }
      const H = hidden.dims[2]!;
      return batch.map((sequence, b) => meanPoolNormalize(hidden.data as Float32Array, b, T, H, sequence.ids.length));
    },
    dispose: () => session.release(),
  };
}

/**
 * Mean of the first `length` token vectors of sequence b (the unmasked ones: padding is at the
 * end), then divided by its L2 norm. Sums in float64 like the reference. hidden: [B, T, H].
 */
export function meanPoolNormalize(hidden: Float32Array, b: number, T: number, H: number, length: number): Float32Array {
  const sum = new Float64Array(H); // [H]
  for (let t = 0; t < length; t++) {
    const row = (b * T + t) * H;
    for (let h = 0; h < H; h++) sum[h]! += hidden[row + h]!;
  }
  let sumSquares = 0;
  for (let h = 0; h < H; h++) {
    sum[h]! /= length;
    sumSquares += sum[h]! * sum[h]!;
  }
  // Same floor as torch.nn.functional.normalize (eps 1e-12), used by sentence-transformers.
  const norm = Math.max(Math.sqrt(sumSquares), 1e-12);
  const out = new Float32Array(H); // [H]
  for (let h = 0; h < H; h++) out[h] = sum[h]! / norm;
  return out;
}
