/**
 * What the Web Worker does with each request of `protocol.ts`, independent of the worker itself:
 * `createWorkerHost(post)` returns a `handle(request)` function and answers through `post`, so
 * the same code runs in a browser worker (`worker.ts`), in a Deno or Cloudflare worker, and in a
 * plain test.
 *
 *   load      get the weights (transferred buffer, Blob, URL with progress and Cache Storage, or
 *             the synthetic generator), config and vocab, then SentenceEncoder.fromParts
 *   embed     SentenceEncoder.embedMatrix, with a progress message per batch; the [B, H]
 *             result is transferred back, not copied
 *   tokenize  the tokenizer's ids, token strings and offsets
 *   inspect   one forward pass with a ForwardObserver that records every attention row
 *   dispose   drops the model
 *
 * Requests after a `load` wait for it; a second `load` replaces the model once it succeeds
 * (a failed load leaves the previous model in place), and the replaced model is disposed when
 * the last request still using it has finished. Left out: running several models at once
 * (start one worker per model) and cancelling a download.
 */

import { SentenceEncoder } from '../model/sentence-encoder.ts';
import { resolveBackend } from '../model/backend-choice.ts';
import { generateSyntheticCheckpoint, SYNTHETIC_FULL, SYNTHETIC_TINY, type SyntheticRecipe } from '../model/synthetic.ts';
import { downloadBytes, WeightsCache } from './download.ts';
import type {
  EmbeddingBatch,
  EmbedProgress,
  WorkerEmbedOptions,
  Inspection,
  LoadOptions,
  LoadProgress,
  ModelInfo,
  SerializedError,
  SyntheticVariant,
  TokenView,
  WeightsSource,
  WorkerRequest,
  WorkerResponse,
} from './protocol.ts';

/** Sends one message to the page; `transfer` lists the buffers to move rather than copy. */
export type PostMessage = (message: WorkerResponse, transfer: Transferable[]) => void;

const SYNTHETIC_RECIPES: Record<SyntheticVariant, SyntheticRecipe> = { full: SYNTHETIC_FULL, tiny: SYNTHETIC_TINY };

/** Progress is reported every 1/200 of the total (see throttledProgress). */
const PROGRESS_STEP_FRACTION = 1 / 200;

export class WorkerProtocolError extends Error {
  override name = 'WorkerProtocolError';
}

interface LoadedModel {
  encoder: SentenceEncoder;
  info: ModelInfo;
  /** Requests running on this model now. */
  users: number;
  /** Replaced or dropped: dispose once `users` is back to 0. */
  retired: boolean;
}

export interface WorkerHost {
  handle(request: WorkerRequest): Promise<void>;
}

export function createWorkerHost(post: PostMessage, fetchImpl: typeof fetch = (...args) => fetch(...args)): WorkerHost {
  // The model, or the promise of it while a load runs. Requests chain on it, so an `embed` sent
  // right after `load` waits for the load instead of failing.
  let current: Promise<LoadedModel | null> = Promise.resolve(null);

  /** Runs `task` on the current model, keeping it alive until the task is done. */
  async function withModel<T>(task: (model: LoadedModel) => Promise<T> | T): Promise<T> {
    const model = await current;
    if (model === null) throw new WorkerProtocolError('no model is loaded: call load() first');
    model.users++;
    try {
      return await task(model);
    } finally {
      model.users--;
      if (model.retired && model.users === 0) model.encoder.dispose();
    }
  }

  function retire(model: LoadedModel | null): void {
    if (model === null || model.retired) return;
    model.retired = true;
    if (model.users === 0) model.encoder.dispose();
  }

  async function load(id: number, options: LoadOptions): Promise<LoadedModel> {
    const started = now();
    const progress = throttledProgress((p) => post({ id, type: 'progress', progress: p }, []));
    checkLoadOptions(options);
    const [weights, config, vocab] = await Promise.all([
      loadWeights(options.weights, progress, fetchImpl),
      loadConfig(options, fetchImpl),
      loadText(options.vocab, options.vocabUrl, 'vocab', fetchImpl),
    ]);
    progress({ phase: 'prepare', loaded: 0, total: null }, true);
    // Resolved here rather than inside fromParts so that the answer can say which backend 'auto' chose.
    const backend = await resolveBackend({ backend: options.backend ?? 'js' });
    const encoder = SentenceEncoder.fromParts({
      config,
      weights: weights.bytes,
      vocab,
      backend,
      ...(options.maxSeqLength === undefined ? {} : { maxSeqLength: options.maxSeqLength }),
    });
    await encoder.ready();
    const c = encoder.config;
    const info: ModelInfo = {
      backend: backend.name,
      origin: weights.origin,
      synthetic: options.weights.kind === 'synthetic',
      weightBytes: weights.bytes.byteLength,
      layers: c.numLayers,
      heads: c.numHeads,
      hiddenSize: c.hiddenSize,
      vocabSize: c.vocabSize,
      maxSeqLength: encoder.maxSeqLength,
      loadMilliseconds: Math.round(now() - started),
      ...(weights.cached === undefined ? {} : { cached: weights.cached }),
    };
    return { encoder, info, users: 0, retired: false };
  }

  async function handle(request: WorkerRequest): Promise<void> {
    const id = typeof request?.id === 'number' ? request.id : -1;
    try {
      switch (request?.type) {
        case 'load': {
          const previous = current;
          const attempt = load(id, request.options);
          current = attempt.then(
            (model) => {
              void previous.then(retire, () => {});
              return model;
            },
            () => previous, // a failed load keeps the model that was there
          );
          const { info } = await attempt;
          post({ id, type: 'result', value: info }, []);
          return;
        }
        case 'embed': {
          const options = checkEmbedOptions(request.options);
          const matrix = await withModel(({ encoder }) =>
            encoder.embedMatrix(request.texts, {
              ...options,
              onProgress: ({ done, total }: EmbedProgress) => post({ id, type: 'progress', progress: { done, total } }, []),
            }),
          );
          const batch = ownBuffer({ data: matrix.data, count: matrix.rows, dimension: matrix.cols });
          post({ id, type: 'result', value: batch }, [batch.data.buffer]);
          return;
        }
        case 'tokenize': {
          const view = await withModel(({ encoder }) => tokenView(encoder, request.text));
          post({ id, type: 'result', value: view }, []);
          return;
        }
        case 'inspect': {
          const inspection = await withModel(({ encoder }) => inspect(encoder, request.text));
          post({ id, type: 'result', value: inspection }, [inspection.attention.buffer, inspection.embedding.buffer]);
          return;
        }
        case 'dispose': {
          const old = current;
          current = Promise.resolve(null);
          retire(await old.catch(() => null));
          post({ id, type: 'result', value: null }, []);
          return;
        }
        default:
          throw new WorkerProtocolError(`unknown request type ${JSON.stringify((request as { type?: unknown })?.type)}`);
      }
    } catch (error) {
      post({ id, type: 'error', error: serializeError(error) }, []);
    }
  }

  return { handle };
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

// ---------------------------------------------------------------------------------------------
// Loading the parts
// ---------------------------------------------------------------------------------------------

function checkLoadOptions(options: LoadOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('load expects an options object { weights, vocab | vocabUrl, config | configUrl }');
  const weights = options.weights as WeightsSource | undefined;
  if (typeof weights !== 'object' || weights === null) throw new TypeError('load: options.weights is missing (a { kind: ... } source)');
  if (options.vocab === undefined && options.vocabUrl === undefined) throw new TypeError('load: give vocab (the text of vocab.txt) or vocabUrl');
  if (weights.kind !== 'synthetic' && options.config === undefined && options.configUrl === undefined) {
    throw new TypeError('load: give config (config.json) or configUrl');
  }
}

interface LoadedWeights {
  bytes: Uint8Array;
  origin: ModelInfo['origin'];
  cached?: { stored: boolean; reason?: string };
}

type ReportProgress = (progress: LoadProgress, force?: boolean) => void;

async function loadWeights(source: WeightsSource, progress: ReportProgress, fetchImpl: typeof fetch): Promise<LoadedWeights> {
  switch (source.kind) {
    case 'buffer':
      if (!(source.buffer instanceof ArrayBuffer)) throw new TypeError('load: weights.buffer must be an ArrayBuffer');
      return { bytes: new Uint8Array(source.buffer), origin: 'buffer' };
    case 'blob': {
      if (typeof Blob === 'undefined' || !(source.blob instanceof Blob)) throw new TypeError('load: weights.blob must be a Blob or File');
      progress({ phase: 'read', loaded: 0, total: source.blob.size }, true);
      const bytes = new Uint8Array(await source.blob.arrayBuffer());
      progress({ phase: 'read', loaded: bytes.length, total: bytes.length }, true);
      return { bytes, origin: 'blob' };
    }
    case 'url': {
      if (typeof source.url !== 'string' || source.url === '') throw new TypeError('load: weights.url must be a non-empty string');
      const useCache = source.cache !== false;
      const cache = useCache ? await WeightsCache.open() : null;
      const cachedBytes = await cache?.read(source.url, (loaded, total) => progress({ phase: 'cache', loaded, total }));
      if (cachedBytes) return { bytes: cachedBytes, origin: 'cache' };
      const bytes = await downloadBytes(source.url, (loaded, total) => progress({ phase: 'download', loaded, total }), fetchImpl);
      progress({ phase: 'download', loaded: bytes.length, total: bytes.length }, true);
      if (cache === null) return { bytes, origin: 'network' };
      const reason = await cache.store(source.url, bytes);
      return { bytes, origin: 'network', cached: reason === null ? { stored: true } : { stored: false, reason } };
    }
    case 'synthetic': {
      const recipe = Object.hasOwn(SYNTHETIC_RECIPES, source.variant) ? SYNTHETIC_RECIPES[source.variant] : undefined;
      if (recipe === undefined) throw new TypeError(`load: unknown synthetic variant ${JSON.stringify(source.variant)} (expected "full" or "tiny")`);
      progress({ phase: 'generate', loaded: 0, total: null }, true);
      return { bytes: generateSyntheticCheckpoint(recipe), origin: 'synthetic' };
    }
    default:
      throw new TypeError(`load: unknown weights kind ${JSON.stringify((source as { kind?: unknown }).kind)} (expected buffer, blob, url or synthetic)`);
  }
}

async function loadConfig(options: LoadOptions, fetchImpl: typeof fetch): Promise<unknown> {
  if (options.weights.kind === 'synthetic') {
    const recipe = SYNTHETIC_RECIPES[options.weights.variant];
    return recipe?.config;
  }
  if (options.config !== undefined) return options.config;
  return loadText(undefined, options.configUrl, 'config', fetchImpl);
}

async function loadText(text: string | undefined, url: string | undefined, what: string, fetchImpl: typeof fetch): Promise<string> {
  if (text !== undefined) {
    if (typeof text !== 'string') throw new TypeError(`load: ${what} must be a string`);
    return text;
  }
  if (typeof url !== 'string') throw new TypeError(`load: ${what}Url must be a string`);
  const bytes = await downloadBytes(url, undefined, fetchImpl);
  return new TextDecoder().decode(bytes);
}

/** Progress messages at most every half percent (or 1 MiB when the total is unknown), so a 90 MB download sends ~200, not ~1400. */
function throttledProgress(send: (progress: LoadProgress) => void): ReportProgress {
  let lastPhase = '';
  let lastLoaded = -Infinity;
  return (progress, force = false) => {
    const step = progress.total === null ? 1 << 20 : progress.total * PROGRESS_STEP_FRACTION;
    const finished = progress.total !== null && progress.loaded >= progress.total;
    if (force || finished || progress.phase !== lastPhase || progress.loaded - lastLoaded >= step) {
      lastPhase = progress.phase;
      lastLoaded = progress.loaded;
      send(progress);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/**
 * The batch with a buffer of its own, so that transferring it gives away nothing else: the
 * encoder's result matrix usually owns its whole buffer (used as is); a view into a larger buffer
 * is copied.
 */
export function ownBuffer(batch: EmbeddingBatch): EmbeddingBatch {
  const { data } = batch;
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return batch;
  return { ...batch, data: data.slice() };
}

const EMBED_OPTION_KEYS = new Set(['batchSize', 'normalize', 'truncateDim', 'precision', 'prompt', 'promptName']);

/** Embed options as sent by the page: an object with known keys only (the encoder checks the values). */
function checkEmbedOptions(options: unknown): WorkerEmbedOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError('embed: options must be an object');
  for (const key of Object.keys(options)) {
    if (!EMBED_OPTION_KEYS.has(key)) throw new TypeError(`embed: unknown option "${key}" (expected ${[...EMBED_OPTION_KEYS].join(', ')})`);
  }
  return options as WorkerEmbedOptions;
}

function tokenView(encoder: SentenceEncoder, text: unknown): TokenView {
  if (typeof text !== 'string') throw new TypeError('tokenize: text must be a string');
  const encoding = encoder.tokenizer.encode(text, { maxLength: encoder.maxSeqLength });
  return { ids: encoding.ids, tokens: encoding.tokens, offsets: encoding.offsets, untruncatedLength: encoding.untruncatedLength };
}

/** One text through the model, recording the attention probabilities of every layer and head. */
async function inspect(encoder: SentenceEncoder, text: unknown): Promise<Inspection> {
  const view = tokenView(encoder, text);
  const L = view.ids.length;
  const layers = encoder.config.numLayers;
  const heads = encoder.config.numHeads;
  const attention = new Float32Array(layers * heads * L * L); // [layers, heads, L (query), L (key)]
  const [embedding] = await encoder.embedTokenIds([{ inputIds: view.ids }], {
    attention(layer, _sequence, head, query, probs, length) {
      const row = ((layer * heads + head) * L + query) * L;
      for (let key = 0; key < length; key++) attention[row + key] = probs[key]!;
    },
  });
  return { ...view, attention, layers, heads, embedding: embedding!.slice() };
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
