/**
 * An encoder built while the word-embedding table is still being read (deferred-weights.ts):
 * it asks for exactly the rows of each batch, waits for them, and gives the same bits as an
 * encoder built from the complete file. The adapters' side (reading) is test/node/read-checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { SentenceEncoder } from '../../src/model/sentence-encoder.ts';
import { WordEmbeddingRows, type ByteRange, type DeferredWeightBytes } from '../../src/model/deferred-weights.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { WeightsError } from '../../src/model/errors.ts';
import { RECIPES, realVocab, syntheticWeights } from '../helpers/checkpoints.ts';

const TABLE = 'embeddings.word_embeddings.weight';

/**
 * A copy of the tiny checkpoint with the table zeroed, and a deferred read that fills exactly the
 * ranges asked for from the real file and never completes on its own (`finish` completes it).
 */
function deferredTinyCheckpoint(): { bytes: Uint8Array; deferred: DeferredWeightBytes; asked: ByteRange[][]; finish: () => void } {
  const file = syntheticWeights('tiny');
  const info = parseSafetensors(file).tensors.get(TABLE)!;
  const bytes = file.slice();
  bytes.fill(0, info.byteOffset, info.byteOffset + info.byteLength);
  const asked: ByteRange[][] = [];
  let finish = (): void => {};
  const deferred: DeferredWeightBytes = {
    start: info.byteOffset,
    end: info.byteOffset + info.byteLength,
    complete: new Promise<void>((resolve) => {
      finish = () => {
        bytes.set(file.subarray(info.byteOffset, info.byteOffset + info.byteLength), info.byteOffset);
        resolve();
      };
    }),
    async readRanges(ranges) {
      asked.push([...ranges]);
      for (const [from, to] of ranges) bytes.set(file.subarray(from, to), from);
    },
  };
  return { bytes, deferred, asked, finish };
}

const parts = () => ({ config: RECIPES.tiny.config, vocab: realVocab(), backend: 'js' as const });

describe('an encoder with a deferred word-embedding table', () => {
  it('gives the same embeddings as one built from the whole file, reading only the rows it needs', async () => {
    const { bytes, deferred, asked, finish } = deferredTinyCheckpoint();
    const deferredEncoder = SentenceEncoder.fromParts({ ...parts(), weights: bytes, deferredWeights: deferred });
    const wholeEncoder = SentenceEncoder.fromParts({ ...parts(), weights: syntheticWeights('tiny') });
    const texts = ['A man is eating food.', 'The quick brown fox jumps over the lazy dog.', 'unaffable naïve café'];
    const got = await deferredEncoder.embed(texts);
    const want = await wholeEncoder.embed(texts);
    expect(got.map((v) => [...v])).toEqual(want.map((v) => [...v]));

    // The rows read are exactly those of the batch's tokens ([CLS] and [SEP] included).
    const rowBytes = RECIPES.tiny.config.hidden_size * 4;
    const rowsRead = new Set<number>();
    for (const [from, to] of asked.flat()) for (let at = from; at < to; at += rowBytes) rowsRead.add((at - deferred.start) / rowBytes);
    const tokenIds = new Set(texts.flatMap((text) => deferredEncoder.tokenize(text)));
    expect([...rowsRead].sort((a, b) => a - b)).toEqual([...tokenIds].sort((a, b) => a - b));

    // embedTokenIds waits for its rows too; once the table is complete nothing more is asked.
    const ids = [101, 7592, 2088, 999, 102];
    const [alone] = await deferredEncoder.embedTokenIds([{ inputIds: ids }]);
    const [reference] = await wholeEncoder.embedTokenIds([{ inputIds: ids }]);
    expect([...alone!]).toEqual([...reference!]);
    finish();
    await deferred.complete;
    const askedBefore = asked.length;
    await deferredEncoder.embed('a last sentence');
    expect(asked.length).toBe(askedBefore);
  });

  it('joins consecutive rows into one range and skips repeats', () => {
    const asked: ByteRange[][] = [];
    const deferred: DeferredWeightBytes = {
      start: 1000,
      end: 1000 + 50 * 16,
      complete: new Promise(() => {}),
      readRanges: async (ranges) => void asked.push([...ranges]),
    };
    const rows = new WordEmbeddingRows(deferred, 1000, 16);
    void rows.ensureRows(Int32Array.from([7, 3, 4, 9, 9, 5, 3, 49]));
    expect(asked).toEqual([[[1000 + 3 * 16, 1000 + 6 * 16], [1000 + 7 * 16, 1000 + 8 * 16], [1000 + 9 * 16, 1000 + 10 * 16], [1000 + 49 * 16, 1000 + 50 * 16]]]);
  });

  it('reports a failed read as a WeightsError at the next embedding', async () => {
    const { bytes, deferred } = deferredTinyCheckpoint();
    const failing: DeferredWeightBytes = {
      ...deferred,
      complete: Promise.reject(new Error('model.safetensors became shorter while it was read')),
      readRanges: () => Promise.reject(new Error('model.safetensors became shorter while it was read')),
    };
    const encoder = SentenceEncoder.fromParts({ ...parts(), weights: bytes, deferredWeights: failing });
    const error = await encoder.embed('text').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as Error).message).toMatch(/reading the word-embedding table failed: model\.safetensors became shorter/);
  });

  it('refuses a deferred range that is not exactly the float32 table', () => {
    const { bytes, deferred } = deferredTinyCheckpoint();
    for (const wrong of [
      { ...deferred, start: deferred.start - 4 },
      { ...deferred, end: deferred.end - 4 },
      { ...deferred, start: 8, end: 16 },
    ]) {
      expect(() => SentenceEncoder.fromParts({ ...parts(), weights: bytes, deferredWeights: wrong })).toThrow(
        /deferredWeights must cover exactly the bytes of a float32 embeddings\.word_embeddings\.weight/,
      );
    }
  });
});
