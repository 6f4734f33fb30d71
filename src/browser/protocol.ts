/**
 * The messages between the page (`client.ts`) and the Web Worker (`worker.ts`) that runs the model.
 *
 * Every request carries an `id`; the worker answers it with exactly one `result` or `error`
 * message with the same id, and before that, for `load`, any number of `progress` messages.
 * Large buffers cross the boundary as transferables, never as copies:
 *   page → worker   the weights' ArrayBuffer (`{ kind: 'buffer' }`), which the page loses;
 *   worker → page   the embeddings [B, H] and attention maps, which the worker gives up.
 *
 * Plain data only (what structured clone carries): no classes, no functions.
 * Left out: cancelling a request (a page that no longer wants an answer ignores it, or calls
 * `terminate()` on the client, which ends the worker).
 */

import type { Precision } from '../api/quantize.ts';
import type { BackendName } from '../model/backend-choice.ts';

/** The two synthetic recipes: 'full' has all-MiniLM-L6-v2's shapes (~91 MB), 'tiny' is H 32, 2 layers (~4 MB). */
export type SyntheticVariant = 'full' | 'tiny';
/** Where the worker gets the bytes of model.safetensors. */
export type WeightsSource =
  /** Bytes the page already has. The buffer is transferred: it is detached on the page afterwards. */
  | { kind: 'buffer'; buffer: ArrayBuffer }
  /** A File or Blob (from a file picker or drag-and-drop): the worker reads it, the page never does. */
  | { kind: 'blob'; blob: Blob }
  /**
   * A URL the worker downloads itself, reporting progress. Unless `cache` is false the bytes are
   * kept in the browser's Cache Storage (when it has one: secure contexts only), so the next
   * load of the same URL reads them from disk instead of the network.
   */
  | { kind: 'url'; url: string; cache?: boolean }
  /** The synthetic checkpoint, generated in the worker: right shapes, meaningless numbers. */
  | { kind: 'synthetic'; variant: SyntheticVariant };

export interface LoadOptions {
  weights: WeightsSource;
  /**
   * The model's config.json, as an object or its text. Required unless `configUrl` is given or
   * the weights are synthetic (which bring the config of their recipe and ignore this field).
   */
  config?: unknown;
  /** Where to fetch config.json instead (resolved against the page's address by the client). */
  configUrl?: string;
  /** The text of vocab.txt. Required unless `vocabUrl` is given. */
  vocab?: string;
  /** Where to fetch vocab.txt instead. */
  vocabUrl?: string;
  /** Longest tokenized text, [CLS] and [SEP] included. Default: the encoder's (256). */
  maxSeqLength?: number;
  /**
   * 'js' (default): the pure TypeScript engine. 'simd': the WebAssembly SIMD128 matmul, loaded on
   * demand from minilm.simd.js next to the worker script (the default bundle holds no
   * WebAssembly); it accumulates in float32, so its embeddings differ from the default ones in the
   * last bits, and the load fails where SIMD cannot be compiled (no SIMD, or a
   * Content-Security-Policy without 'wasm-unsafe-eval'). 'auto': 'simd' where it compiles, else
   * 'js'. 'plain': the textbook reference loops.
   */
  backend?: BackendName;
}

/** How far loading has come. `total` is null when the size is not known (no Content-Length). */
export interface LoadProgress {
  phase: 'download' | 'cache' | 'read' | 'generate' | 'prepare';
  /** Bytes so far (download, cache, read); 0 for the phases that have no byte count. */
  loaded: number;
  total: number | null;
}

/** What `load` resolves to: a description of the model now in the worker. */
export interface ModelInfo {
  /** The `name` of the matmul backend the model runs on (what 'auto' chose, for instance). */
  backend: string;
  /** Where the weights came from this time. */
  origin: 'buffer' | 'blob' | 'network' | 'cache' | 'synthetic';
  /** True when the weights are synthetic: the embeddings mean nothing. */
  synthetic: boolean;
  weightBytes: number;
  layers: number;
  heads: number;
  hiddenSize: number;
  vocabSize: number;
  maxSeqLength: number;
  /** Milliseconds from the request to a ready model, download included. */
  loadMilliseconds: number;
  /** False when a downloaded file could not be stored in Cache Storage (with the reason). */
  cached?: { stored: boolean; reason?: string };
}

/** The tokens the model sees for one text. */
export interface TokenView {
  ids: number[];
  tokens: string[];
  /** [start, end) UTF-16 indices into the text; [0, 0] for [CLS] and [SEP]. */
  offsets: Array<[number, number]>;
  /** Tokens before truncation (specials included); more than ids.length when the text was cut. */
  untruncatedLength: number;
}

/** A forward pass of one text, opened up. */
export interface Inspection extends TokenView {
  /** Attention probabilities, [layers, heads, L, L]: row q of a head is query token q's weights over the keys. */
  attention: Float32Array;
  layers: number;
  heads: number;
  /** The sentence embedding of the text [H]. */
  embedding: Float32Array;
}

/**
 * The options of `SentenceEncoder.embedMatrix` that can cross to a worker (everything but the
 * progress callback, which becomes `progress` messages, and the quantization ranges).
 */
export interface WorkerEmbedOptions {
  /** Texts per forward pass (default 32). A progress message is sent after each batch. */
  batchSize?: number;
  normalize?: boolean;
  truncateDim?: number;
  /** 'float32' (default), 'int8', 'uint8', 'binary', 'ubinary'. */
  precision?: Precision;
  prompt?: string;
  promptName?: string;
}

/** How far an `embed` call has come: `done` of `total` texts. */
export interface EmbedProgress {
  done: number;
  total: number;
}

export type WorkerRequest =
  | { id: number; type: 'load'; options: LoadOptions }
  | { id: number; type: 'embed'; texts: string[]; options?: WorkerEmbedOptions }
  | { id: number; type: 'tokenize'; text: string }
  | { id: number; type: 'inspect'; text: string }
  | { id: number; type: 'dispose' };

/** The embeddings of a batch as one buffer: row b is data[b·dimension, (b+1)·dimension). */
export interface EmbeddingBatch {
  data: Float32Array | Int8Array | Uint8Array; // [count, dimension]; Int8/Uint8 for quantized precisions
  count: number;
  dimension: number;
}

/** The value of each request type's result. */
export interface WorkerResults {
  load: ModelInfo;
  embed: EmbeddingBatch;
  tokenize: TokenView;
  inspect: Inspection;
  dispose: null;
}

/** An error as it crosses the boundary: the original class name survives as `name`. */
export interface SerializedError {
  name: string;
  message: string;
}

export type WorkerResponse =
  | { id: number; type: 'progress'; progress: LoadProgress | EmbedProgress }
  | { id: number; type: 'result'; value: WorkerResults[keyof WorkerResults] }
  | { id: number; type: 'error'; error: SerializedError };
