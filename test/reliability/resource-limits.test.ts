/**
 * Resource limits. One enormous input (10 MB of text) is truncated to max_seq_length tokens, in
 * bounded time and memory, and gives the embedding of its first tokens. embedStream (the
 * streaming API) gives exactly embed()'s vectors, pulls texts only as fast as they are consumed,
 * and carries a million texts in flat memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EmbeddingMatrix } from '../../src/api/embedding-matrix.ts';
import { embedStream } from '../../src/api/stream.ts';
import { InputError } from '../../src/model/errors.ts';
import { SentenceEncoder } from '../../src/model/sentence-encoder.ts';
import { RECIPES, realVocab, syntheticWeights } from '../helpers/checkpoints.ts';

const encoder = SentenceEncoder.fromParts({ config: RECIPES.tiny.config, weights: syntheticWeights('tiny'), vocab: realVocab() });

function settle(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

describe('one enormous input', () => {
  it('10 MB of text: truncated to max_seq_length tokens, bounded time and memory, embedding of its first tokens', async () => {
    const text = 'The quick brown fox jumps over the lazy dog; ünïcödé and 東京 too. '.repeat(160_000); // ~10.4 M characters
    expect(text.length).toBeGreaterThan(10_000_000);
    const before = settle();
    const started = performance.now();
    const vector = await encoder.embed(text);
    const seconds = (performance.now() - started) / 1000;
    const grownMb = (process.memoryUsage().rss - before) / 1e6;
    // Generous bounds for a loaded 2-core machine; a whole-text forward pass (millions of
    // tokens, attention quadratic in them) would blow through both by orders of magnitude.
    expect(seconds).toBeLessThan(60);
    expect(grownMb).toBeLessThan(1000);
    // The first max_seq_length tokens of the text are those of a prefix long enough to hold them.
    const ids = encoder.tokenize(text.slice(0, 5000));
    expect(ids).toHaveLength(encoder.maxSeqLength);
    const [expected] = await encoder.embedTokenIds([{ inputIds: ids }]);
    expect(vector).toEqual(expected);
  });
});

describe('embedStream', () => {
  const texts = Array.from({ length: 75 }, (_, i) => `sentence ${i}${' with more words'.repeat(i % 7)}`);

  async function collect(stream: AsyncIterable<{ start: number; texts: string[]; embeddings: EmbeddingMatrix }>): Promise<{ starts: number[]; rows: Float32Array[]; texts: string[] }> {
    const starts: number[] = [];
    const rows: Float32Array[] = [];
    const seen: string[] = [];
    for await (const batch of stream) {
      starts.push(batch.start);
      seen.push(...batch.texts);
      expect(batch.embeddings.rows).toBe(batch.texts.length);
      for (let r = 0; r < batch.embeddings.rows; r++) rows.push(batch.embeddings.row(r).slice());
    }
    return { starts, rows, texts: seen };
  }

  it('gives exactly the vectors of embed(), in order, from an array, a generator or an async generator', async () => {
    const expected = await encoder.embed(texts);
    function* generate(): Generator<string> {
      yield* texts;
    }
    async function* generateAsync(): AsyncGenerator<string> {
      for (const text of texts) {
        await Promise.resolve();
        yield text;
      }
    }
    for (const [source, batchSize] of [[texts, 32], [generate(), 1], [generateAsync(), 7]] as const) {
      const { starts, rows, texts: seen } = await collect(embedStream(encoder, source, { batchSize }));
      expect(seen).toEqual(texts);
      expect(starts).toEqual(Array.from({ length: Math.ceil(texts.length / batchSize) }, (_, b) => b * batchSize));
      rows.forEach((row, i) => expect(row).toEqual(expected[i]));
    }
  });

  it('passes the embedding options on (truncateDim, normalize, int8 with given ranges)', async () => {
    const options = { truncateDim: 8, normalize: false } as const;
    const expected = await encoder.embed(texts, options);
    const { rows } = await collect(embedStream(encoder, texts, { ...options, batchSize: 10 }));
    rows.forEach((row, i) => expect(row).toEqual(expected[i]));

    const calibrationEmbeddings = await encoder.embedMatrix(texts);
    const quantized = await encoder.embedMatrix(texts, { precision: 'int8', calibrationEmbeddings });
    let at = 0;
    for await (const batch of embedStream(encoder, texts, { precision: 'int8', calibrationEmbeddings, batchSize: 16 })) {
      expect(batch.embeddings.data).toBeInstanceOf(Int8Array);
      expect(Array.from(batch.embeddings.data)).toEqual(Array.from(quantized.data.subarray(at * quantized.cols, (at + batch.texts.length) * quantized.cols)));
      at += batch.texts.length;
    }
  });

  it('pulls texts only as fast as batches are consumed (at most one batch ahead)', async () => {
    let pulled = 0;
    function* counting(): Generator<string> {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield `text ${i}`;
      }
    }
    const stream = embedStream(encoder, counting(), { batchSize: 5 });
    let consumed = 0;
    for await (const batch of stream) {
      consumed += batch.texts.length;
      expect(pulled).toBeLessThanOrEqual(consumed);
      if (consumed >= 20) break;
    }
    expect(pulled).toBe(20);
  });

  it('refuses bad input with InputError naming it', async () => {
    const first = (source: Iterable<unknown>, options: object = {}): Promise<unknown> =>
      embedStream(encoder, source as Iterable<string>, options).next();
    await expect(first(['ok', 3])).rejects.toThrow(/text 1 of the stream is number/);
    await expect(first('a string' as unknown as Iterable<string>)).rejects.toThrow(InputError);
    await expect(first(42 as unknown as Iterable<string>)).rejects.toThrow(/iterable/);
    await expect(first(['a'], { batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(first(['a'], { precision: 'int8' })).rejects.toThrow(/ranges or calibrationEmbeddings/);
    await expect(first(['a'], { onProgress: () => {} })).rejects.toThrow(/onProgress/);
  });

  it('an empty stream yields nothing', async () => {
    expect((await collect(embedStream(encoder, []))).rows).toEqual([]);
  });

  it('random batch sizes and lengths: every text once, in order, exact vectors', async () => {
    const pool = await encoder.embed(texts);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: texts.length }), async (batchSize, count) => {
        const { rows, texts: seen } = await collect(embedStream(encoder, texts.slice(0, count), { batchSize }));
        expect(seen).toEqual(texts.slice(0, count));
        rows.forEach((row, i) => expect(row).toEqual(pool[i]));
      }),
      { numRuns: 25 },
    );
  });

  it('a million texts stream through in flat memory (the consumer keeps nothing)', async () => {
    // A stand-in encoder with the real embedMatrix contract but no model, so the test measures
    // the stream, not the forward pass: each batch is a fresh [rows, 384] matrix (1.5 GB in all).
    const width = 384;
    const fake = {
      embedMatrix: async (batch: readonly string[]) => new EmbeddingMatrix(new Float32Array(batch.length * width).fill(batch.length), batch.length, width),
    } as unknown as SentenceEncoder;
    function* million(): Generator<string> {
      for (let i = 0; i < 1_000_000; i++) yield `sentence number ${i}`;
    }
    const before = settle();
    let peak = before;
    let count = 0;
    let batches = 0;
    for await (const batch of embedStream(fake, million(), { batchSize: 256 })) {
      count += batch.embeddings.rows;
      if (++batches % 500 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(count).toBe(1_000_000);
    expect((peak - before) / 1e6).toBeLessThan(300); // all outputs held would be ~1500 MB
  });
});
