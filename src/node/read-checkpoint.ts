/**
 * Reads model.safetensors for `loadSentenceEncoder`: everything but the word-embedding table
 * now, the table in the background (see model/deferred-weights.ts for why and how the encoder
 * waits for the rows it needs).
 *
 *   file:  [8-byte length][header][ … tensors … | word_embeddings (47 MB) | … tensors … ]
 *   now:    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^                        ^^^^^^^^^^^^^^^
 *   then:                                         ^^^^^^^^^^^^^^^^^^^^^^ in chunks, one at a time;
 *          rows a batch needs before their chunk is in are read at once, on their own
 *
 * The whole file's buffer is allocated up front (its pages cost nothing until read into), so
 * every tensor is a view at its usual place and the table's rows land where the model's view of
 * them already points. Whatever cannot be deferred safely (a file whose header does not parse,
 * a table that is not an aligned float32 tensor, a small table) is read whole, as before, and
 * the encoder reports any error in it as usual.
 */

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ByteRange, DeferredWeightBytes } from '../model/deferred-weights.ts';
import { allocateFileBuffer, readRangesInto, readSlice, type ReadBufferOptions } from './read-large-file.ts';

/** Tables smaller than this are read with the rest: deferring them would save little. */
const MIN_DEFERRED_BYTES = 1 << 20;
/**
 * Background read: chunk size, and one chunk at a time: on two cores, the first forward pass keeps
 * one busy and the read the other (two chunks at once slowed that first pass).
 */
const CHUNK_BYTES = 2 << 20;
const CONCURRENT_CHUNKS = 1;

const TABLE_NAMES = ['embeddings.word_embeddings.weight', 'bert.embeddings.word_embeddings.weight'];

export interface CheckpointRead {
  /** The whole file's bytes; while `deferred` is reading, its range is still being filled. */
  bytes: Uint8Array;
  /** The word-embedding table being read in the background; absent when the file was read whole. */
  deferred?: DeferredWeightBytes;
}

/**
 * Opening the file and reading its header are synchronous (a few KB, microseconds), so every
 * large read is already running when this returns its promise: the caller's thread is free to
 * build the tokenizer meanwhile.
 */
export function readCheckpoint(path: string, options: ReadBufferOptions = {}): Promise<CheckpointRead> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return Promise.reject(error);
  }
  const owner = fd;
  const closeFile = (): void => closeSync(owner);
  try {
    const size = fstatSync(fd).size;
    const bytes = allocateFileBuffer(size, options, tensorDataStart(fd, size));
    const table = readHeaderAndFindTable(fd, bytes, path);
    if (table === null) {
      return readRangesInto(fd, bytes, [[0, bytes.length]], path).then(() => ({ bytes })).finally(closeFile);
    }
    const [tableStart, tableEnd] = table;
    const rest = readRangesInto(fd, bytes, [[headerEndOf(bytes), tableStart], [tableEnd, bytes.length]], path);
    return rest.then(
      // The background read owns the file from here, and closes it when done.
      () => ({ bytes, deferred: new BackgroundTableRead(fd, closeFile, bytes, tableStart, tableEnd, path) }),
      (error: unknown) => {
        closeFile();
        throw error;
      },
    );
  } catch (error) {
    closeFile();
    return Promise.reject(error);
  }
}

/**
 * Reads the length prefix and the header into `bytes` and returns the table's byte range, or null
 * when the file should be read whole (not parseable here, no float32 aligned table, or small).
 */
function readHeaderAndFindTable(fd: number, bytes: Uint8Array, path: string): ByteRange | null {
  if (bytes.length < MIN_DEFERRED_BYTES) return null;
  readExactlySync(fd, bytes, 0, 8, path);
  const headerEnd = headerEndOf(bytes);
  if (!(headerEnd <= bytes.length)) return null; // the encoder reports the bad length
  readExactlySync(fd, bytes, 8, headerEnd, path);
  // Only the table's offsets are needed here, so a plain JSON.parse: the full validation
  // (parseSafetensors: duplicate keys, gaps, overlaps...) runs once, in fromParts, and any
  // problem it finds is reported there. Anything unexpected here means: read the file whole.
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd)));
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null) return null;
  for (const name of TABLE_NAMES) {
    const entry = (header as Record<string, unknown>)[name];
    if (entry === undefined) continue;
    if (typeof entry !== 'object' || entry === null) return null;
    const { dtype, data_offsets: offsets } = entry as { dtype?: unknown; data_offsets?: unknown };
    if (dtype !== 'F32' || !Array.isArray(offsets) || offsets.length !== 2) return null;
    const [begin, end] = offsets as unknown[];
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end)) return null;
    const start = headerEnd + (begin as number);
    const stop = headerEnd + (end as number);
    const usable = start % 4 === 0 && start < stop && stop <= bytes.length && stop - start >= MIN_DEFERRED_BYTES;
    return usable ? [start, stop] : null;
  }
  return null;
}

/** The file's first tensor byte (8 + the header length), or 0 when the length prefix makes no sense. */
function tensorDataStart(fd: number, size: number): number {
  if (size < 8) return 0;
  const prefix = new Uint8Array(8);
  if (readSync(fd, prefix, 0, 8, 0) !== 8) return 0;
  const headerEnd = headerEndOf(prefix);
  return headerEnd <= size ? headerEnd : 0;
}

function readExactlySync(fd: number, bytes: Uint8Array, start: number, end: number, path: string): void {
  for (let position = start; position < end; ) {
    const bytesRead = readSync(fd, bytes, position, end - position, position);
    if (bytesRead === 0) throw new Error(`${path} became shorter while it was read (ended at byte ${position})`);
    position += bytesRead;
  }
}

/** 8 + the header length, from the first 8 bytes (u64 little-endian); NaN beyond 2^53. */
function headerEndOf(bytes: Uint8Array): number {
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return length > BigInt(Number.MAX_SAFE_INTEGER - 8) ? Number.NaN : 8 + Number(length);
}

/** The table, read chunk by chunk in the background; rows asked for early are read on their own. */
class BackgroundTableRead implements DeferredWeightBytes {
  readonly complete: Promise<void>;
  private readonly chunkDone: Uint8Array; // 1 once chunk i is in
  private failure: Error | null = null;
  private readonly closeFile: () => void;
  private backgroundDone = false;
  private rowReadsInFlight = 0;
  private closed = false;

  constructor(
    private readonly fd: number,
    closeFile: () => void,
    private readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
    private readonly path: string,
  ) {
    this.chunkDone = new Uint8Array(Math.ceil((end - start) / CHUNK_BYTES));
    this.closeFile = closeFile;
    this.complete = this.readAllChunks().then(
      () => this.backgroundReadEnded(null),
      (error: unknown) => {
        this.backgroundReadEnded(error as Error);
        throw error;
      },
    );
    this.complete.catch(() => {}); // the encoder reports it, through `complete` or `readRanges`
  }

  async readRanges(ranges: readonly ByteRange[]): Promise<void> {
    const missing = ranges.filter(([from, to]) => {
      if (from < this.start || to > this.end || from > to) {
        throw new RangeError(`bytes [${from}, ${to}) are outside the deferred table [${this.start}, ${this.end})`);
      }
      return !this.chunksDone(from, to);
    });
    if (missing.length === 0) return;
    if (this.failure !== null) throw this.failure;
    // Same bytes as the chunk read that may be writing them now: either write leaves the file's bytes.
    // The file stays open until these reads are done, even if the background read ends first.
    this.rowReadsInFlight++;
    try {
      await Promise.all(missing.map(([from, to]) => readSlice(this.fd, this.bytes, from, to, this.path)));
    } finally {
      this.rowReadsInFlight--;
      this.closeWhenIdle();
    }
  }

  /** Records the background read's end (and its error), then closes the file unless rows are being read. */
  private backgroundReadEnded(failure: Error | null): void {
    this.failure = failure;
    this.backgroundDone = true;
    this.closeWhenIdle();
  }

  /**
   * Closes the file once the background read has ended and no row read is running. Closing it
   * under a running read made that read fail (EBADF), or worse, read another file opened meanwhile
   * under the same descriptor number.
   */
  private closeWhenIdle(): void {
    if (!this.backgroundDone || this.rowReadsInFlight > 0 || this.closed) return;
    this.closed = true;
    this.closeFile();
  }

  private chunksDone(from: number, to: number): boolean {
    const first = Math.floor((from - this.start) / CHUNK_BYTES);
    const last = Math.floor((Math.max(from, to - 1) - this.start) / CHUNK_BYTES);
    for (let chunk = first; chunk <= last; chunk++) if (this.chunkDone[chunk] === 0) return false;
    return true;
  }

  private async readAllChunks(): Promise<void> {
    let next = 0;
    const reader = async (): Promise<void> => {
      while (next < this.chunkDone.length) {
        const chunk = next++;
        const from = this.start + chunk * CHUNK_BYTES;
        await readSlice(this.fd, this.bytes, from, Math.min(this.end, from + CHUNK_BYTES), this.path);
        this.chunkDone[chunk] = 1;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT_CHUNKS }, reader));
  }
}
