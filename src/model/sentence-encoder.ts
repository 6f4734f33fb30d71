/**
 * SentenceEncoder: the public object. Text → tokenizer → BertModel → pooling → normalise.
 *
 * Built from parts held in memory (config object, safetensors bytes, vocab text), so it runs in
 * any runtime; file and network access live in the adapters (`src/node.ts`, the browser worker).
 *
 * Loading validates everything up front, synchronously: config values, every tensor's presence,
 * dtype and shape. A bad file fails at `fromParts`, not at the first `embed`.
 */

import { plainBackend, type LinearBackend } from '../tensor/backend.ts';
import { BertTokenizer } from '../tokenizer/index.ts';
import { BertModel, type ForwardObserver } from './bert.ts';
import { parseBertConfig, type BertConfig } from './config.ts';
import { ConfigError, InputError } from './errors.ts';
import { normalizeRows, poolSequences, type PoolingMode } from './pooling.ts';
import { parseSafetensors } from './safetensors.ts';
import { packTokenBatch, type TokenSequence } from './token-batch.ts';
import { loadBertWeights } from './weights.ts';

/** sentence-transformers' max_seq_length for all-MiniLM-L6-v2 (sentence_bert_config.json). */
export const DEFAULT_MAX_SEQ_LENGTH = 256;

export interface SentenceEncoderParts {
  /** The parsed config.json object (or its text). */
  config: unknown;
  /** The bytes of model.safetensors. */
  weights: Uint8Array | ArrayBuffer;
  /** The text of vocab.txt. */
  vocab: string;
  /** Longest tokenized text, [CLS] and [SEP] included; longer texts are truncated. Default 256. */
  maxSeqLength?: number;
  /** How one token vector per sequence becomes one sentence vector. Default 'mean'. */
  pooling?: PoolingMode;
  /** L2-normalise sentence embeddings (the model's Normalize module). Default true. */
  normalize?: boolean;
  /** The matmul backend. Default: the plain reference kernel. */
  backend?: LinearBackend;
}

export class SentenceEncoder {
  readonly config: BertConfig;
  readonly tokenizer: BertTokenizer;
  readonly maxSeqLength: number;
  readonly pooling: PoolingMode;
  readonly normalize: boolean;
  private model: BertModel | null;

  private constructor(config: BertConfig, model: BertModel, tokenizer: BertTokenizer, options: Required<Pick<SentenceEncoderParts, 'maxSeqLength' | 'pooling' | 'normalize'>>) {
    this.config = config;
    this.model = model;
    this.tokenizer = tokenizer;
    this.maxSeqLength = options.maxSeqLength;
    this.pooling = options.pooling;
    this.normalize = options.normalize;
  }

  static fromParts(parts: SentenceEncoderParts): SentenceEncoder {
    if (typeof parts !== 'object' || parts === null) throw new TypeError('fromParts expects { config, weights, vocab }');
    const config = parseBertConfig(parts.config);
    const bytes = toBytes(parts.weights);
    if (typeof parts.vocab !== 'string') throw new TypeError('fromParts: vocab must be the text of vocab.txt (a string)');

    const maxSeqLength = parts.maxSeqLength ?? Math.min(DEFAULT_MAX_SEQ_LENGTH, config.maxPositions);
    if (!Number.isInteger(maxSeqLength) || maxSeqLength < 2 || maxSeqLength > config.maxPositions) {
      throw new ConfigError(
        `maxSeqLength must be an integer from 2 to max_position_embeddings (${config.maxPositions}), got ${String(parts.maxSeqLength)}`,
      );
    }
    const pooling = parts.pooling ?? 'mean';
    if (pooling !== 'mean' && pooling !== 'cls' && pooling !== 'max') {
      throw new ConfigError(`pooling must be 'mean', 'cls' or 'max', got ${String(pooling)}`);
    }

    const tokenizer = BertTokenizer.fromVocab(parts.vocab, { maxLength: maxSeqLength });
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new ConfigError(
        `vocab.txt has ${tokenizer.vocabSize} tokens but config.json says vocab_size is ${config.vocabSize}`,
      );
    }
    const weights = loadBertWeights(parseSafetensors(bytes), config);
    const model = new BertModel(config, weights, parts.backend ?? plainBackend);
    return new SentenceEncoder(config, model, tokenizer, { maxSeqLength, pooling, normalize: parts.normalize ?? true });
  }

  /** Width of the sentence embeddings (H). */
  get dimension(): number {
    return this.config.hiddenSize;
  }

  /** The ids the model sees for one text: [CLS] … [SEP], truncated to maxSeqLength. */
  tokenize(text: string): number[] {
    return this.tokenizer.tokenize(text, { maxLength: this.maxSeqLength });
  }

  /** Sentence embeddings of texts, in the order given. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    if (!Array.isArray(texts)) throw new TypeError('embed expects an array of strings');
    const batch = texts.map((text, i) => {
      if (typeof text !== 'string') throw new TypeError(`embed: texts[${i}] is ${typeof text}, expected a string`);
      return { inputIds: this.tokenize(text) };
    });
    return this.embedTokenIds(batch);
  }

  /** Sentence embeddings of already tokenized sequences (ids with [CLS]/[SEP], optional mask). */
  async embedTokenIds(batch: readonly TokenSequence[], observer?: ForwardObserver): Promise<Float32Array[]> {
    const model = this.requireModel();
    const packed = packTokenBatch(batch, this.config);
    const hidden = model.forward(packed, observer);
    const H = this.config.hiddenSize;
    const B = batch.length;
    const pooled = new Float32Array(B * H); // [B, H], one buffer; rows are returned as views
    poolSequences(pooled, hidden, packed, H, this.pooling);
    if (this.normalize) normalizeRows(pooled, B, H);
    return Array.from({ length: B }, (_, b) => pooled.subarray(b * H, (b + 1) * H));
  }

  /** Frees the backend's resources. The encoder cannot be used afterwards. */
  dispose(): void {
    this.model?.dispose();
    this.model = null;
  }

  private requireModel(): BertModel {
    if (this.model === null) throw new InputError('this SentenceEncoder has been disposed');
    return this.model;
  }
}

function toBytes(weights: unknown): Uint8Array {
  if (weights instanceof Uint8Array) return weights;
  if (weights instanceof ArrayBuffer) return new Uint8Array(weights);
  if (typeof SharedArrayBuffer !== 'undefined' && weights instanceof SharedArrayBuffer) return new Uint8Array(weights);
  throw new TypeError('fromParts: weights must be the bytes of model.safetensors (Uint8Array or ArrayBuffer)');
}
