/**
 * minilm-ts: sentence embeddings with all-MiniLM-L6-v2 (and other BERT sentence models) in pure
 * TypeScript. This entry point is runtime-neutral: no Node built-ins, no file or network access.
 * Node users who want to load a model folder import `minilm-ts/node` (src/node.ts).
 */

export { SentenceEncoder, DEFAULT_MAX_SEQ_LENGTH, type SentenceEncoderParts } from './model/sentence-encoder.ts';
export { BertTokenizer } from './tokenizer/index.ts';
export type { Encoding, BatchEncoding } from './tokenizer/index.ts';
export { BertModel, type ForwardObserver } from './model/bert.ts';
export { parseBertConfig, type BertConfig } from './model/config.ts';
export { ConfigError, InputError, WeightsError } from './model/errors.ts';
export { parseSafetensors, readFloat32, serializeSafetensors, SafetensorsError } from './model/safetensors.ts';
export type { SafetensorsFile, TensorInfo, SafetensorsDType } from './model/safetensors.ts';
export { loadBertWeights, type BertWeights } from './model/weights.ts';
export { packTokenBatch, type TokenSequence, type TokenBatch } from './model/token-batch.ts';
export { poolSentences, normalizeRows } from './model/pooling.ts';
export {
  generateSyntheticCheckpoint, SYNTHETIC_FULL, SYNTHETIC_TINY, type SyntheticRecipe,
} from './model/synthetic.ts';
export { plainBackend, type LinearBackend, type PreparedLinear, type LinearActivation } from './tensor/backend.ts';
export {
  DEFAULT_BATCH_SIZE, type EmbedOptions, type SentenceEmbedOptions, type TokenEmbedOptions, type EmbedProgress, type EmbedResult,
  type OutputValue, type PrecisionOf,
} from './model/sentence-encoder.ts';
export { SentenceTokenizer, type PromptOptions, type SentenceTokenizerParts } from './model/sentence-tokenizer.ts';
export {
  resolveSentencePipeline, readModuleLayout, POOLING_MODE_ORDER, type SentencePipeline, type SentencePipelineInputs,
  type SentencePoolingMode, type ModuleLayout,
} from './model/sentence-transformers-config.ts';
export { EmbeddingMatrix, toMatrix, type EmbeddingData, type MatrixInput } from './api/embedding-matrix.ts';
export { cosSim, dotScore, type ScoreFunction } from './api/similarity.ts';
export { semanticSearch, SearchAccumulator, type SearchHit, type SemanticSearchOptions } from './api/semantic-search.ts';
export {
  paraphraseMining, paraphraseMiningEmbeddings, type ParaphrasePair, type ParaphraseMiningOptions,
} from './api/paraphrase-mining.ts';
export { quantizeEmbeddings, packBits, PRECISIONS, type Precision, type PrecisionData, type QuantizeOptions } from './api/quantize.ts';
export { TopK, type ScoredId } from './api/top-k.ts';
export { MiniLMEmbeddings, type MiniLMEmbeddingsOptions, type EncoderSource } from './api/langchain.ts';
export * from './trace/index.ts';
