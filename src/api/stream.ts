/**
 * embedStream: sentence embeddings of a stream of texts, batch by batch, in bounded memory.
 *
 *   for await (const { start, embeddings } of embedStream(encoder, readLines('corpus.txt'), { batchSize: 64 })) {
 *     write(embeddings.data);            // [rows, dim]; rows = texts start .. start + rows − 1
 *   }
 *
 * `embed(texts)` returns every embedding at once: for a million texts that is one matrix of
 * 1e6 × 384 float32 = 1.5 GB. Here the texts are pulled from any iterable or async iterable only
 * as fast as the consumer takes batches (at most `batchSize` texts are held at a time), and each
 * batch is one forward pass whose embeddings the consumer owns and may drop; memory stays flat
 * whatever the length of the stream. The vectors are exactly those of `embed` (the forward pass
 * of a text does not depend on the other texts of its batch).
 *
 * Quantization: int8/uint8 need ranges per dimension; `embed` computes them from all the
 * embeddings of the call, which a stream does not have, so they must be given (`ranges` or
 * `calibrationEmbeddings`); otherwise each batch would be scaled differently.
 *
 * Left out: progress callbacks (count the batches), and reading files (the caller brings the
 * iterable, so this works in every runtime).
 */

import type { EmbeddingData, EmbeddingMatrix } from './embedding-matrix.ts';
import type { PrecisionData } from './quantize.ts';
import { InputError } from '../model/errors.ts';
import {
  DEFAULT_BATCH_SIZE, type PrecisionOf, type SentenceEmbedOptions, type SentenceEncoder,
} from '../model/sentence-encoder.ts';

export type EmbedStreamOptions = Omit<SentenceEmbedOptions, 'onProgress'>;

/** One batch of the stream: where it starts, its texts, and their embeddings [texts.length, dim]. */
export interface EmbeddedBatch<T extends EmbeddingData> {
  /** Index in the stream of the first text of this batch. */
  start: number;
  texts: string[];
  embeddings: EmbeddingMatrix<T>;
}

/**
 * Embeds `texts` batch by batch (`batchSize` texts per batch and per forward pass, default 32),
 * yielding each batch as soon as it is done. Pulls the next texts only when the consumer asks.
 */
export async function* embedStream<O extends EmbedStreamOptions = Record<never, never>>(
  encoder: SentenceEncoder,
  texts: Iterable<string> | AsyncIterable<string>,
  options?: O,
): AsyncGenerator<EmbeddedBatch<PrecisionData<PrecisionOf<O>>>, void, undefined> {
  const opts: EmbedStreamOptions = options ?? {};
  if (typeof opts !== 'object' || opts === null) throw new InputError('options must be an object');
  if ('onProgress' in opts && (opts as SentenceEmbedOptions).onProgress !== undefined) {
    throw new InputError('embedStream has no onProgress: count the batches it yields');
  }
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new InputError(`batchSize must be a positive integer, got ${String(opts.batchSize)}`);
  }
  const precision = opts.precision ?? 'float32';
  if ((precision === 'int8' || precision === 'uint8') && opts.ranges === undefined && opts.calibrationEmbeddings === undefined) {
    throw new InputError(
      `precision '${precision}' in a stream needs ranges or calibrationEmbeddings: without them every batch would be scaled by its own min and max`,
    );
  }
  if (typeof texts === 'string') throw new InputError('embedStream expects an iterable of texts, not one string (wrap it: [text])');
  if (!isIterable(texts)) throw new InputError('embedStream expects an iterable or async iterable of strings');

  let batch: string[] = [];
  let start = 0;
  let index = 0;
  for await (const text of texts) {
    if (typeof text !== 'string') {
      throw new InputError(`text ${index} of the stream is ${text === null ? 'null' : typeof text}, expected a string`);
    }
    batch.push(text);
    index++;
    if (batch.length === batchSize) {
      yield await embedBatch(encoder, batch, start, opts);
      start += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) yield await embedBatch(encoder, batch, start, opts);
}

async function embedBatch<T extends EmbeddingData>(encoder: SentenceEncoder, texts: string[], start: number, options: EmbedStreamOptions): Promise<EmbeddedBatch<T>> {
  const embeddings = (await encoder.embedMatrix(texts, options)) as unknown as EmbeddingMatrix<T>;
  return { start, texts, embeddings };
}

function isIterable(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const candidate = value as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof candidate[Symbol.asyncIterator] === 'function' || typeof candidate[Symbol.iterator] === 'function';
}
