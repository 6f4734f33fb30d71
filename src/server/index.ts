/**
 * The embedding server (Node only): an OpenAI-compatible `/v1/embeddings` over Node's `http`,
 * with micro-batching, a bounded queue and graceful shutdown. `minilm serve` is its command line.
 *
 *   import { loadSentenceEncoder } from 'minilm-ts/node';
 *   import { createEmbeddingServer } from './server/index.ts';
 *
 *   const encoder = await loadSentenceEncoder('sentence-transformers/all-MiniLM-L6-v2');
 *   const server = createEmbeddingServer({ encoder, modelName: 'all-MiniLM-L6-v2' });
 *   const { baseUrl } = await server.listen(8080, '127.0.0.1');
 *   ...
 *   await server.close();   // finishes the requests in flight
 */

export {
  createEmbeddingServer, EmbeddingServer, SERVER_DEFAULTS,
  type EmbeddingServerOptions, type ListeningAddress, type ServedEncoder,
} from './embedding-server.ts';
export { MicroBatcher, QueueFullError, MICRO_BATCHER_DEFAULTS, type MicroBatcherOptions, type EmbedBatch } from './micro-batcher.ts';
export { ApiError, type ApiErrorType } from './errors.ts';
export { parseEmbeddingsRequest, type EmbeddingsRequest, type EmbeddingInput, type EncodingFormat } from './embeddings-request.ts';
export { base64ToFloat32, float32ToBase64, shortenEmbedding } from './embedding-output.ts';
export { watchShutdownSignals, type ShutdownSignal, type SignalWatch } from './signals.ts';
