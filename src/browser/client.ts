/**
 * The page's side of the model worker: a promise API over `postMessage`.
 *
 *   const client = EncoderClient.fromWorker(new Worker(workerUrl, { type: 'module' }));
 *   await client.load(
 *     { weights: { kind: 'url', url: weightsUrl }, configUrl: 'config.json', vocabUrl: 'vocab.txt' },
 *     (p) => console.log(p.phase, p.loaded, p.total),
 *   );
 *   const [a, b] = await client.embed(['first sentence', 'second sentence']);
 *
 * Every call is one request message with a fresh id; the promise settles when the worker answers
 * that id. A `{ kind: 'buffer' }` weights buffer is transferred to the worker (it is detached
 * here afterwards); embeddings and attention maps come back transferred, not copied.
 * Relative URLs are resolved against the page's address before they are sent, because the
 * worker would resolve them against its own script's address.
 *
 * This module imports no part of the engine (types only), so the page's bundle stays small.
 * Left out: timeouts (a forward pass over a long batch can take seconds; the caller decides).
 */

import type { PrecisionData } from '../api/quantize.ts';
import type { PrecisionOf } from '../model/sentence-encoder.ts';
import type {
  EmbedProgress,
  Inspection,
  LoadOptions,
  LoadProgress,
  ModelInfo,
  SerializedError,
  TokenView,
  WorkerEmbedOptions,
  WorkerRequest,
  WorkerResponse,
  WorkerResults,
} from './protocol.ts';

export type {
  EmbedProgress, Inspection, LoadOptions, LoadProgress, ModelInfo, SyntheticVariant, TokenView, WeightsSource, WorkerEmbedOptions,
} from './protocol.ts';

/** Options of `EncoderClient.embed`: what crosses to the worker, and a progress callback. */
export interface ClientEmbedOptions extends WorkerEmbedOptions {
  /** Called after each batch of `batchSize` texts. */
  onProgress?: (progress: EmbedProgress) => void;
}

/** An error raised inside the worker. `name` is the original class name (e.g. 'WeightsError'). */
export class WorkerRequestError extends Error {
  constructor(error: SerializedError, readonly request: WorkerRequest['type']) {
    super(error.message);
    this.name = error.name;
  }
}

/** The worker itself failed (its script did not load, or it was terminated). */
export class WorkerFailedError extends Error {
  override name = 'WorkerFailedError';
}

/** The part of `Worker` the client uses (a MessagePort-like object would do). */
export interface WorkerLike {
  postMessage(message: WorkerRequest, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerResponse>) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: Event) => void): void;
  terminate?(): void;
}

interface Pending {
  type: WorkerRequest['type'];
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (progress: never) => void;
}

export class EncoderClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;

  private constructor(private readonly worker: WorkerLike) {
    worker.addEventListener('message', (event: MessageEvent<WorkerResponse>) => this.receive(event.data));
    worker.addEventListener('error', (event: Event) => {
      const detail = (event as ErrorEvent).message;
      this.fail(new WorkerFailedError(`the model worker failed${detail ? `: ${detail}` : ' (its script could not be loaded or threw at start-up)'}`));
    });
    worker.addEventListener('messageerror', () => {
      this.fail(new WorkerFailedError('a message from the model worker could not be read'));
    });
  }

  /** Wraps a worker started from `worker.ts` (built as minilm.worker.js). */
  static fromWorker(worker: WorkerLike): EncoderClient {
    return new EncoderClient(worker);
  }

  /** Starts the worker script at `url` as a module worker and wraps it. */
  static start(url: string | URL): EncoderClient {
    return new EncoderClient(new Worker(url, { type: 'module', name: 'minilm-ts' }));
  }

  /**
   * Loads a model into the worker, replacing any previous one once it is ready. `onProgress` is
   * called while the weights download, are read from the cache, or are generated.
   */
  load(options: LoadOptions, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
    const resolved: LoadOptions = { ...options };
    for (const key of ['configUrl', 'vocabUrl'] as const) {
      const url = options[key];
      if (url !== undefined) resolved[key] = absoluteUrl(url);
    }
    const transfer: Transferable[] = [];
    const weights = options.weights;
    if (weights?.kind === 'url') resolved.weights = { ...weights, url: absoluteUrl(weights.url) };
    if (weights?.kind === 'buffer' && weights.buffer instanceof ArrayBuffer) transfer.push(weights.buffer);
    return this.request({ type: 'load', options: resolved }, transfer, onProgress);
  }

  /**
   * Sentence embeddings, one row per text (views of one transferred buffer): Float32Array [H] by
   * default, Int8Array or Uint8Array for the quantized precisions.
   */
  async embed<O extends ClientEmbedOptions = Record<never, never>>(texts: string[], options?: O & ClientEmbedOptions): Promise<PrecisionData<PrecisionOf<O>>[]> {
    const { onProgress, ...sent } = options ?? ({} as ClientEmbedOptions);
    const message = Object.keys(sent).length > 0 ? { type: 'embed' as const, texts, options: sent } : { type: 'embed' as const, texts };
    const { data, count, dimension } = await this.request(message, [], onProgress);
    return Array.from({ length: count }, (_, b) => data.subarray(b * dimension, (b + 1) * dimension) as PrecisionData<PrecisionOf<O>>);
  }

  /** The tokens the model sees for `text`: ids, token strings, offsets. */
  tokenize(text: string): Promise<TokenView> {
    return this.request({ type: 'tokenize', text }, []);
  }

  /** One forward pass opened up: tokens, every attention map [layers, heads, L, L], the embedding. */
  inspect(text: string): Promise<Inspection> {
    return this.request({ type: 'inspect', text }, []);
  }

  /** Drops the model in the worker (the worker keeps running). */
  async dispose(): Promise<void> {
    await this.request({ type: 'dispose' }, []);
  }

  /** Ends the worker. Pending requests reject. */
  terminate(): void {
    this.worker.terminate?.();
    this.fail(new WorkerFailedError('the model worker was terminated'));
  }

  private request<M extends DistributiveOmit<WorkerRequest, 'id'>>(
    message: M,
    transfer: Transferable[],
    onProgress?: ((progress: LoadProgress) => void) | ((progress: EmbedProgress) => void),
  ): Promise<WorkerResults[M['type']]> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<WorkerResults[M['type']]>((resolve, reject) => {
      this.pending.set(id, {
        type: message.type,
        resolve: resolve as (value: unknown) => void,
        reject,
        ...(onProgress === undefined ? {} : { onProgress }),
      });
      try {
        this.worker.postMessage({ ...message, id } as WorkerRequest, transfer);
      } catch (error) {
        this.pending.delete(id);
        reject(error as Error); // e.g. a value structured clone cannot carry
      }
    });
  }

  private receive(message: WorkerResponse): void {
    const pending = this.pending.get(message?.id);
    if (pending === undefined) return;
    switch (message.type) {
      case 'progress':
        pending.onProgress?.(message.progress as never);
        return;
      case 'result':
        this.pending.delete(message.id);
        pending.resolve(message.value);
        return;
      case 'error':
        this.pending.delete(message.id);
        pending.reject(new WorkerRequestError(message.error, pending.type));
        return;
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** `url` resolved against the page (or the current script when there is no page). */
function absoluteUrl(url: string): string {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  return base === undefined ? url : new URL(url, base).href;
}
