/**
 * Checkpoint bytes that arrive after the encoder is built: the word-embedding table, read in the
 * background by an adapter that can read a file at any offset.
 *
 * Why: the table is half of all-MiniLM-L6-v2's 91 MB (30522 rows × 384 floats = 47 MB), yet a
 * forward pass reads only the rows of its batch's token ids, and every other tensor is needed
 * (or copied into a backend) at load time. So an adapter (the Node one, src/node.ts) may build
 * the encoder as soon as the other 44 MB are read: it passes the whole file's buffer as
 * `weights`, with the table's bytes not yet filled, and a `DeferredWeightBytes` that goes on
 * filling them. Before each forward pass the encoder asks it for the rows the batch uses
 * (`WordEmbeddingRows.ensureRows`), which reads those few rows at once if the background read
 * has not reached them. Once the whole table is in, that check costs nothing.
 *
 * The plain version is to read the whole file before building the encoder (what every adapter
 * does without this, and what the Node adapter does for a table that is not float32).
 *
 * Only the word-embedding table may be deferred, and only as a zero-copy float32 view of the
 * buffer (its bytes are read where the model's view already points); `fromParts` checks both,
 * because any other deferred tensor would be consumed, wrongly, while still zero.
 */

import { WeightsError } from './errors.ts';

/** [start, end): byte offsets in the checkpoint file, i.e. indices into the `weights` bytes. */
export type ByteRange = readonly [start: number, end: number];

/** The part of the checkpoint's buffer an adapter is still reading. */
export interface DeferredWeightBytes {
  /** The deferred bytes: [start, end) of the buffer passed as `weights`. */
  readonly start: number;
  readonly end: number;
  /** Resolves once every range (inside [start, end)) holds the file's bytes: reads them now if needed. */
  readRanges(ranges: readonly ByteRange[]): Promise<void>;
  /** Resolves when the whole deferred range is read; rejects if the read failed. */
  readonly complete: Promise<void>;
}

/** The encoder's side: which rows of the table a batch needs, and whether they are in yet. */
export class WordEmbeddingRows {
  private loaded = false;
  private failure: Error | null = null;

  constructor(
    private readonly deferred: DeferredWeightBytes,
    private readonly tableStart: number, // file offset of row 0
    private readonly rowBytes: number, // H × 4
  ) {
    deferred.complete.then(
      () => (this.loaded = true),
      (error: unknown) => (this.failure = readFailure(error)),
    );
  }

  /**
   * null when every row is in memory (nothing to wait for); otherwise a promise that resolves
   * once the rows of `tokenIds` (already checked against the vocabulary size) are.
   */
  ensureRows(tokenIds: Int32Array): Promise<void> | null {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.loaded) return null;
    const ids = Int32Array.from(new Set(tokenIds)).sort();
    // Consecutive ids are one range: one read instead of several.
    const ranges: ByteRange[] = [];
    for (let i = 0; i < ids.length; ) {
      let last = i;
      while (last + 1 < ids.length && ids[last + 1] === ids[last]! + 1) last++;
      ranges.push([this.tableStart + ids[i]! * this.rowBytes, this.tableStart + (ids[last]! + 1) * this.rowBytes]);
      i = last + 1;
    }
    return this.deferred.readRanges(ranges).catch((error: unknown) => {
      throw readFailure(error);
    });
  }
}

/**
 * Checks that `deferred` covers exactly the word-embedding table and that `table` is a zero-copy
 * view of those bytes (float32, aligned), then returns the row gate for it.
 */
export function deferWordEmbeddingRows(
  deferred: DeferredWeightBytes,
  bytes: Uint8Array,
  table: Float32Array,
  hiddenSize: number,
): WordEmbeddingRows {
  const tableStart = table.byteOffset - bytes.byteOffset;
  const isViewOfBytes = table.buffer === bytes.buffer && tableStart >= 0;
  if (!isViewOfBytes || deferred.start !== tableStart || deferred.end !== tableStart + table.byteLength) {
    throw new WeightsError(
      `deferredWeights must cover exactly the bytes of a float32 embeddings.word_embeddings.weight ` +
        `(the only tensor that may arrive after loading), got bytes [${deferred.start}, ${deferred.end})`,
      'embeddings.word_embeddings.weight',
    );
  }
  return new WordEmbeddingRows(deferred, tableStart, hiddenSize * 4);
}

function readFailure(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new WeightsError(`reading the word-embedding table failed: ${message}`, 'embeddings.word_embeddings.weight');
}
