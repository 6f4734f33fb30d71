/**
 * SentenceEncoder: the public object. Text → tokenizer → BertModel → pooling → (truncate) →
 * (normalise) → (quantize), as sentence-transformers' `SentenceTransformer.encode`.
 *
 * Built from parts held in memory (config object, safetensors bytes, vocab text and, optionally,
 * the sentence-transformers JSON files), so it runs in any runtime; file and network access live
 * in the adapters (`src/node.ts`, the browser worker).
 *
 * Loading validates everything up front, synchronously: config values, pipeline files, every
 * tensor's presence, dtype and shape. A bad file fails at `fromParts`, not at the first `embed`.
 *
 *   const encoder = SentenceEncoder.fromParts({ config, weights, vocab });
 *   await encoder.embed('A man is eating food.')            // Float32Array [384]
 *   await encoder.embed(['first', 'second'])                // Float32Array[] (one per text)
 *   await encoder.embedMatrix(texts)                        // one EmbeddingMatrix [texts, 384]
 *
 * One string gives one vector and an array gives an array, as in sentence-transformers.
 *
 * Batching: the texts of one call are tokenized, sorted by token count (longest first), and run
 * in batches of `batchSize`; neighbours in a batch have similar lengths, so attention (whose cost
 * grows with the square of the length) does little wasted work, and the first batch sizes the
 * workspace once. Results come back in the caller's order. Between batches the encoder yields to
 * the event loop, so progress output and servers stay responsive during a long call.
 *
 * Left out: multi-process pools and devices (the backend option picks the kernels), Dense
 * modules, and `convert_to_tensor`-style outputs (typed arrays are the tensors here).
 */

import { EmbeddingMatrix, type MatrixInput } from '../api/embedding-matrix.ts';
import { PRECISIONS, quantizeEmbeddings, type Precision, type PrecisionData } from '../api/quantize.ts';
import type { BertTokenizer } from '../tokenizer/index.ts';
import { resolveBackend, type BackendOptions } from './backend-choice.ts';
import { BertModel, type ForwardObserver } from './bert.ts';
import { deferWordEmbeddingRows, type DeferredWeightBytes, type WordEmbeddingRows } from './deferred-weights.ts';
import type { BertConfig } from './config.ts';
import { InputError } from './errors.ts';
import { normalizeRows, poolSentences } from './pooling.ts';
import { parseSafetensors } from './safetensors.ts';
import { SentenceTokenizer, type PromptOptions, type SentenceTokenizerParts } from './sentence-tokenizer.ts';
import type { SentencePipeline, SentencePoolingMode } from './sentence-transformers-config.ts';
import { packTokenBatch, type TokenBatch, type TokenSequence } from './token-batch.ts';
import { loadBertWeights } from './weights.ts';

export { DEFAULT_MAX_SEQ_LENGTH } from './sentence-tokenizer.ts';

export const DEFAULT_BATCH_SIZE = 32;

export interface SentenceEncoderParts extends BackendOptions, SentenceTokenizerParts {
  /** The bytes of model.safetensors. */
  weights: Uint8Array | ArrayBuffer;
  /**
   * For adapters that read the file in the background: the word-embedding table's bytes, not
   * yet filled in `weights`, and how to wait for them (see deferred-weights.ts). Default: none,
   * `weights` is complete.
   */
  deferredWeights?: DeferredWeightBytes;
  /**
   * `SentenceTokenizer.fromParts` of these same parts, when the caller has built it already (the
   * Node adapter does, while the checkpoint is still being read). Default: built here.
   */
  builtTokenizer?: { tokenizer: SentenceTokenizer; config: BertConfig };
}

export type OutputValue = 'sentence_embedding' | 'token_embeddings';

/** Progress of one call: `done` of `total` texts are embedded. */
export interface EmbedProgress {
  done: number;
  total: number;
}

/** Options of `embedMatrix` (and of `embed` for sentence embeddings). */
export interface SentenceEmbedOptions extends PromptOptions {
  /** Texts per forward pass. Default 32. */
  batchSize?: number;
  /** L2-normalise the sentence embeddings (after truncation). Default: the model's Normalize module. */
  normalize?: boolean;
  /** Keep the first `truncateDim` dimensions (Matryoshka models). Default: all. */
  truncateDim?: number;
  /** 'float32' (default), 'int8', 'uint8', 'binary', 'ubinary': see api/quantize.ts. */
  precision?: Precision;
  /** int8/uint8 ranges [2, dim] (min row, max row); default: computed from the embeddings themselves. */
  ranges?: MatrixInput;
  /** int8/uint8: embeddings whose min/max give the ranges. */
  calibrationEmbeddings?: MatrixInput;
  /** Called after every batch. */
  onProgress?: (progress: EmbedProgress) => void;
}

export interface EmbedOptions extends SentenceEmbedOptions {
  /** 'sentence_embedding' (default) or 'token_embeddings': one [tokens, H] matrix per text. */
  outputValue?: OutputValue;
}

/** Options of `embedTokens`: prompts, batching and progress (no pooling, so nothing else applies). */
export type TokenEmbedOptions = Pick<SentenceEmbedOptions, 'batchSize' | 'onProgress' | 'prompt' | 'promptName'>;

/** The precision an options object asks for ('float32' when it names none). */
export type PrecisionOf<O> = O extends { precision?: infer P } ? (P extends Precision ? P : 'float32') : 'float32';

/** What `embed` gives per text for options O. */
export type EmbedResult<O> = O extends { outputValue: 'token_embeddings' } ? EmbeddingMatrix : PrecisionData<PrecisionOf<O>>;

export class SentenceEncoder {
  readonly config: BertConfig;
  /** Text preparation: prompts, lowercasing, WordPiece, truncation. */
  readonly textTokenizer: SentenceTokenizer;
  /** The model, or the promise of it while an asynchronous backend (workers, WebAssembly) starts. */
  private model: BertModel | Promise<BertModel> | null;
  /** Rows of the word-embedding table still being read by the adapter; null when all are in. */
  private readonly wordRows: WordEmbeddingRows | null;

  private constructor(
    config: BertConfig,
    model: BertModel | Promise<BertModel>,
    textTokenizer: SentenceTokenizer,
    wordRows: WordEmbeddingRows | null,
  ) {
    this.config = config;
    this.model = model;
    this.textTokenizer = textTokenizer;
    this.wordRows = wordRows;
  }

  /**
   * Builds an encoder from what a model folder holds. Only config, weights and vocab are
   * required; without modules.json (`modules`) the all-MiniLM-L6-v2 pipeline is assumed: mean
   * pooling, then Normalize. Returns synchronously; `ready()` waits for an asynchronous backend.
   */
  static fromParts(parts: SentenceEncoderParts): SentenceEncoder {
    if (typeof parts !== 'object' || parts === null) throw new TypeError('fromParts expects { config, weights, vocab }');
    const bytes = toBytes(parts.weights);
    const { tokenizer, config } = parts.builtTokenizer ?? SentenceTokenizer.fromParts(parts);
    const weights = loadBertWeights(parseSafetensors(bytes), config);
    const wordRows =
      parts.deferredWeights === undefined
        ? null
        : deferWordEmbeddingRows(parts.deferredWeights, bytes, weights.embeddings.word_embeddings, config.hiddenSize);
    const backend = resolveBackend(parts);
    const model =
      backend instanceof Promise
        ? backend.then((b) => new BertModel(config, weights, b))
        : new BertModel(config, weights, backend);
    return new SentenceEncoder(config, model, tokenizer, wordRows);
  }

  /** The WordPiece tokenizer (BertTokenizer) inside. */
  get tokenizer(): BertTokenizer {
    return this.textTokenizer.tokenizer;
  }

  get pipeline(): SentencePipeline {
    return this.textTokenizer.pipeline;
  }

  get maxSeqLength(): number {
    return this.textTokenizer.maxSeqLength;
  }

  /**
   * The pooling mode of a model that pools one way with 'mean', 'cls' or 'max' (every model this
   * engine targets). A model that concatenates modes, or uses mean_sqrt_len_tokens, has no single
   * single mode: reading this throws, read `poolingModes` instead.
   */
  get pooling(): 'mean' | 'cls' | 'max' {
    const modes = this.pipeline.poolingModes;
    const only = modes[0];
    if (modes.length === 1 && (only === 'mean' || only === 'cls' || only === 'max')) return only;
    throw new InputError(`this model pools with ${this.poolingName}, not one single mode; read poolingModes`);
  }

  /** Pooling modes joined by '+', as sentence-transformers prints them ('mean', 'cls', 'cls+mean'). */
  get poolingName(): string {
    return this.pipeline.poolingModes.join('+');
  }

  get poolingModes(): readonly SentencePoolingMode[] {
    return this.pipeline.poolingModes;
  }

  /** Whether sentence embeddings are L2-normalised by default (the model has a Normalize module). */
  get normalize(): boolean {
    return this.pipeline.normalize;
  }

  /** Named prompts of the model (config_sentence_transformers.json). */
  get prompts(): Readonly<Record<string, string>> {
    return this.pipeline.prompts;
  }

  /** Width of the sentence embeddings: H per pooling mode (384 for all-MiniLM-L6-v2). */
  get dimension(): number {
    return this.config.hiddenSize * this.pipeline.poolingModes.length;
  }

  /** The ids the model sees for one text: [CLS] … [SEP], truncated to maxSeqLength (prompt included). */
  tokenize(text: string, options: PromptOptions = {}): number[] {
    return this.textTokenizer.tokenize(text, this.textTokenizer.resolvePrompt(options));
  }

  /**
   * Embeddings of one text (resolves to one vector) or of an array of texts (one per text, in
   * order). Sentence embeddings are views into one shared buffer; see `embedMatrix` for the buffer.
   */
  embed<O extends EmbedOptions = Record<never, never>>(text: string, options?: O & EmbedOptions): Promise<EmbedResult<O>>;
  embed<O extends EmbedOptions = Record<never, never>>(texts: readonly string[], options?: O & EmbedOptions): Promise<EmbedResult<O>[]>;
  async embed(input: string | readonly string[], options: EmbedOptions = {}): Promise<unknown> {
    const single = typeof input === 'string';
    const texts = single ? [input] : checkTexts(input);
    checkOptions(options);
    let rows: unknown[];
    if ((options.outputValue ?? 'sentence_embedding') === 'token_embeddings') {
      for (const key of ['precision', 'truncateDim', 'normalize', 'ranges', 'calibrationEmbeddings'] as const) {
        if (options[key] !== undefined && !(key === 'precision' && options.precision === 'float32')) {
          throw new InputError(`${key} applies to sentence embeddings, not to outputValue 'token_embeddings'`);
        }
      }
      rows = await this.embedTokens(texts, options);
    } else {
      rows = (await this.embedMatrix(texts, options)).rowViews();
    }
    return single ? rows[0] : rows;
  }

  /** Same as `embed` (sentence-transformers' name). */
  encode<O extends EmbedOptions = Record<never, never>>(text: string, options?: O & EmbedOptions): Promise<EmbedResult<O>>;
  encode<O extends EmbedOptions = Record<never, never>>(texts: readonly string[], options?: O & EmbedOptions): Promise<EmbedResult<O>[]>;
  encode(input: string | readonly string[], options: EmbedOptions = {}): Promise<unknown> {
    return this.embed(input as string[], options);
  }

  /** Sentence embeddings of `texts` packed in one matrix [texts.length, dimension] (caller's order). */
  async embedMatrix<O extends SentenceEmbedOptions = Record<never, never>>(
    texts: readonly string[],
    options?: O & SentenceEmbedOptions,
  ): Promise<EmbeddingMatrix<PrecisionData<PrecisionOf<O>>>> {
    const opts: SentenceEmbedOptions = options ?? {};
    checkTexts(texts);
    checkOptions(opts);
    if ((opts as EmbedOptions).outputValue === 'token_embeddings') {
      throw new InputError("embedMatrix gives sentence embeddings; use embedTokens for outputValue 'token_embeddings'");
    }
    const width = this.dimension;
    const dims = opts.truncateDim ?? width;
    if (!Number.isInteger(dims) || dims < 1 || dims > width) {
      throw new InputError(`truncateDim must be an integer from 1 to ${width} (the embedding width), got ${String(opts.truncateDim)}`);
    }
    const normalize = opts.normalize ?? this.pipeline.normalize;
    if (typeof normalize !== 'boolean') throw new InputError(`normalize must be true or false, got ${String(opts.normalize)}`);

    const out = new Float32Array(texts.length * dims); // [texts, dims], caller's order
    const pooled = new Float32Array(Math.min(texts.length, batchSizeOf(opts)) * width); // [batch, width], reused
    await this.runBatches(texts, opts, (hidden, starts, indices, skip) => {
      poolSentences(pooled, hidden, starts, this.config.hiddenSize, this.pipeline.poolingModes, skip);
      indices.forEach((textIndex, b) => out.set(pooled.subarray(b * width, b * width + dims), textIndex * dims));
    });
    if (normalize) normalizeRows(out, texts.length, dims);
    const matrix = new EmbeddingMatrix(out, texts.length, dims);
    const precision = opts.precision ?? 'float32';
    if (precision === 'float32') return matrix as EmbeddingMatrix<PrecisionData<PrecisionOf<O>>>;
    if (texts.length === 0) {
      throw new InputError(`precision '${precision}' needs at least one text`);
    }
    return quantizeEmbeddings(matrix, precision, {
      ...(opts.ranges === undefined ? {} : { ranges: opts.ranges }),
      ...(opts.calibrationEmbeddings === undefined ? {} : { calibrationEmbeddings: opts.calibrationEmbeddings }),
    }) as EmbeddingMatrix<PrecisionData<PrecisionOf<O>>>;
  }

  /**
   * Token embeddings (the last hidden state, before pooling): one [tokens, H] matrix per text,
   * [CLS] and [SEP] included, in the caller's order.
   */
  async embedTokens(texts: readonly string[], options: TokenEmbedOptions = {}): Promise<EmbeddingMatrix[]> {
    checkTexts(texts);
    checkOptions(options);
    const H = this.config.hiddenSize;
    const out: EmbeddingMatrix[] = new Array(texts.length);
    await this.runBatches(texts, options, (hidden, starts, indices) => {
      indices.forEach((textIndex, b) => {
        const rows = starts[b + 1]! - starts[b]!;
        out[textIndex] = new EmbeddingMatrix(hidden.slice(starts[b]! * H, starts[b + 1]! * H), rows, H); // [tokens, H], a copy
      });
    });
    return out;
  }

  /**
   * Sentence embeddings of already tokenized sequences (ids with [CLS]/[SEP], optional mask), in
   * one forward pass, pooled and normalised as the model says. No prompt, sorting or batching.
   */
  async embedTokenIds(batch: readonly TokenSequence[], observer?: ForwardObserver): Promise<Float32Array[]> {
    const model = await this.requireModel();
    const packed = packTokenBatch(batch, this.config);
    await this.waitForWordRows(packed);
    const hidden = model.forward(packed, observer);
    const width = this.dimension;
    const B = batch.length;
    const pooled = new Float32Array(B * width); // [B, width], one buffer; rows are returned as views
    poolSentences(pooled, hidden, packed.sequenceStarts, this.config.hiddenSize, this.pipeline.poolingModes);
    if (this.pipeline.normalize) normalizeRows(pooled, B, width);
    return Array.from({ length: B }, (_, b) => pooled.subarray(b * width, (b + 1) * width));
  }

  /** Resolves once the backend is running (immediately for the synchronous ones). */
  async ready(): Promise<void> {
    await this.requireModel();
  }

  /** Frees the backend's resources. The encoder cannot be used afterwards. */
  dispose(): void {
    const model = this.model;
    this.model = null;
    if (model instanceof Promise) void model.then((m) => m.dispose(), () => {});
    else model?.dispose();
  }

  /**
   * Tokenizes `texts`, sorts them by token count (longest first), and runs the model batch by
   * batch. `consume` receives each batch's last hidden state [T, H] (valid only during the call),
   * its sequence starts [B + 1], the caller's index of each sequence, and the rows pooling skips.
   */
  private async runBatches(
    texts: readonly string[],
    options: SentenceEmbedOptions,
    consume: (hidden: Float32Array, sequenceStarts: Int32Array, textIndices: number[], skipRows: number[] | undefined) => void,
  ): Promise<void> {
    const batchSize = batchSizeOf(options);
    const model = await this.requireModel();
    const prompt = this.textTokenizer.resolvePrompt(options);
    const skip = this.textTokenizer.pooledPromptRows(prompt);
    const ids = texts.map((text) => this.textTokenizer.tokenize(text, prompt));
    const order = ids.map((_, i) => i).sort((a, b) => ids[b]!.length - ids[a]!.length || a - b);
    const total = texts.length;
    for (let start = 0; start < total; start += batchSize) {
      if (start > 0) await yieldToEventLoop();
      const indices = order.slice(start, start + batchSize);
      const packed = packTokenBatch(indices.map((i) => ({ inputIds: ids[i]! })), this.config);
      await this.waitForWordRows(packed);
      const hidden = model.forward(packed);
      consume(hidden, packed.sequenceStarts, indices, skip > 0 ? indices.map(() => skip) : undefined);
      options.onProgress?.({ done: Math.min(total, start + batchSize), total });
    }
  }

  /** Waits, while the adapter still reads the word-embedding table, for the rows of this batch. */
  private async waitForWordRows(batch: TokenBatch): Promise<void> {
    const pending = this.wordRows?.ensureRows(batch.tokenIds);
    if (pending) await pending;
  }

  private requireModel(): BertModel | Promise<BertModel> {
    if (this.model === null) throw new InputError('this SentenceEncoder has been disposed');
    return this.model;
  }
}

function batchSizeOf(options: SentenceEmbedOptions): number {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new InputError(`batchSize must be a positive integer, got ${String(options.batchSize)}`);
  }
  return batchSize;
}

function checkTexts(texts: unknown): readonly string[] {
  if (!Array.isArray(texts)) throw new InputError(`expected a string or an array of strings, got ${texts === null ? 'null' : typeof texts}`);
  texts.forEach((text, i) => {
    if (typeof text !== 'string') throw new InputError(`texts[${i}] is ${text === null ? 'null' : typeof text}, expected a string`);
  });
  return texts;
}

function checkOptions(options: EmbedOptions): void {
  if (typeof options !== 'object' || options === null) throw new InputError('options must be an object');
  batchSizeOf(options);
  if (options.precision !== undefined && !PRECISIONS.includes(options.precision)) {
    throw new InputError(`precision must be one of ${PRECISIONS.join(', ')}, got ${JSON.stringify(options.precision)}`);
  }
  const output = options.outputValue;
  if (output !== undefined && output !== 'sentence_embedding' && output !== 'token_embeddings') {
    throw new InputError(`outputValue must be 'sentence_embedding' or 'token_embeddings', got ${JSON.stringify(output)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new InputError('onProgress must be a function');
}

/** Lets timers and I/O run between batches (setTimeout exists in every runtime we target). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function toBytes(weights: unknown): Uint8Array {
  if (weights instanceof Uint8Array) return weights;
  if (weights instanceof ArrayBuffer) return new Uint8Array(weights);
  if (typeof SharedArrayBuffer !== 'undefined' && weights instanceof SharedArrayBuffer) return new Uint8Array(weights);
  throw new TypeError('fromParts: weights must be the bytes of model.safetensors (Uint8Array or ArrayBuffer)');
}
