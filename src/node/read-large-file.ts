/**
 * Reads a whole large file (the 91 MB checkpoint), or byte ranges of it, into one buffer, as
 * several concurrent reads of consecutive slices.
 *
 * Why not `readFile`: Node's promise `readFile` reads in 512 KiB steps one after another, and
 * even one big read is bound by a single thread copying from the page cache and faulting in the
 * fresh pages of the destination. Slices read concurrently run on libuv's thread pool, one per
 * core. Measured on a 2-core machine, warm page cache, 91 MB: `readFile` 150-180 ms,
 * `readFileSync` 100-145 ms, 4 concurrent slices 66-82 ms. The result is the same bytes.
 *
 * `shared: true` reads into a SharedArrayBuffer, which worker threads can read as it is (the
 * threaded backend then uses the weights in place instead of copying them).
 *
 * Where the file lands in memory matters as much. The kernel copies from the page cache about 3x
 * slower when each destination byte lies 4 to 31 bytes past its file offset modulo 4 KiB
 * (measured, 40 MB from a warm cache: 20-25 ms at those distances, 6.4-9 ms at 0 and from 32
 * up to 4088; likely 4K aliasing between the copy's loads and stores). A plain `ArrayBuffer` of
 * this size comes from malloc, 16 bytes into a page: the slow case, where we cannot move it. A
 * WebAssembly memory starts on a page boundary, so the file is read into one, at an offset that
 * `fileOffsetInMemory` chooses (44 MB of weights: 45-66 ms into a new ArrayBuffer, 27-40 ms into
 * a new WebAssembly memory, each including the page faults of first touch).
 */

import { closeSync, fstatSync, openSync, read } from 'node:fs';
import type { ByteRange } from '../model/deferred-weights.ts';

/**
 * Slices read at once. libuv's default thread pool has 4 threads; 3 slices read as fast as 4 on
 * 2 cores (44 MB: 35-37 ms against 32-37; 2 slices: 44-53) and leave one thread for other file
 * work meanwhile (the modules a worker or WebAssembly backend imports while the weights are read).
 */
const CONCURRENT_SLICES = 3;
/** Below this size one read is as fast. */
const MIN_SLICED_BYTES = 1 << 20;

export interface ReadBufferOptions {
  /** Read into a SharedArrayBuffer. Default false (an ArrayBuffer). */
  shared?: boolean;
  /**
   * Where to read the file: a function returning `size` zeroed bytes (e.g. a region of a
   * WebAssembly memory, see simd-weights.ts). `alignedByte`: a byte of the file that should land
   * on a 16-byte boundary (a checkpoint's first tensor byte, so that f32x4 loads of its tensors
   * do not straddle cache lines), or 0. Default: a new buffer, as `shared` says.
   */
  allocate?: (size: number, alignedByte: number) => Uint8Array;
}

export async function readLargeFile(path: string, options: ReadBufferOptions = {}): Promise<Uint8Array> {
  const fd = openSync(path, 'r');
  try {
    const bytes = allocateFileBuffer(fstatSync(fd).size, options);
    await readRangesInto(fd, bytes, [[0, bytes.length]], path);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** A zero-filled buffer for `size` bytes of a file (the pages are only touched when read into). */
export function allocateFileBuffer(size: number, options: ReadBufferOptions, alignedByte = 0): Uint8Array {
  if (options.allocate !== undefined) {
    const bytes = options.allocate(size, alignedByte);
    if (bytes.length !== size) throw new RangeError(`allocate(${size}) returned ${bytes.length} bytes`);
    return bytes;
  }
  return pagePlacedBuffer(size, options.shared === true, alignedByte) ?? new Uint8Array(options.shared === true ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
}

const WASM_PAGE_BYTES = 65536;
/** The most pages a WebAssembly memory may have (wasm32: 4 GiB). */
export const MAX_WASM_PAGES = 65536;

/**
 * Where in a page-aligned memory the file's byte 0 goes: a distance the kernel copies to at full
 * speed (0, or at least 32 bytes past the page: see above), and such that file byte `alignedByte`
 * lands on a 16-byte boundary (a checkpoint's first tensor byte, for whole-vector loads). 64 and
 * up, so that address 0 stays unused (it never names a buffer in a WebAssembly memory).
 */
export function fileOffsetInMemory(alignedByte: number): number {
  return 64 + ((16 - (alignedByte % 16)) % 16);
}

/**
 * A new WebAssembly memory (shared: its buffer is a SharedArrayBuffer) with `size` zeroed bytes
 * placed by `fileOffsetInMemory`; `end` is the byte after them. Maximum: `maximumPages` if given
 * (a shared memory must have one), else the initial size for a shared memory, none otherwise.
 * Throws what the WebAssembly.Memory constructor throws.
 */
export function memoryForFile(
  size: number,
  alignedByte: number,
  options: { shared: boolean; maximumPages?: number },
): { memory: WebAssembly.Memory; bytes: Uint8Array; end: number } {
  const offset = fileOffsetInMemory(alignedByte);
  const end = offset + size;
  const initial = Math.ceil(end / WASM_PAGE_BYTES);
  const maximum = options.maximumPages ?? (options.shared ? initial : undefined);
  const memory = new WebAssembly.Memory({ initial, ...(maximum === undefined ? {} : { maximum }), ...(options.shared ? { shared: true } : {}) });
  return { memory, bytes: new Uint8Array(memory.buffer, offset, size), end };
}

/**
 * `memoryForFile`'s bytes, or null where WebAssembly is missing or the file is too large for one
 * memory (the caller then takes a plain buffer, read more slowly but the same).
 */
function pagePlacedBuffer(size: number, shared: boolean, alignedByte: number): Uint8Array | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
    return memoryForFile(size, alignedByte, { shared }).bytes;
  } catch {
    return null; // more than MAX_WASM_PAGES, which the constructor refuses, or the address space is short
  }
}

/**
 * Reads byte ranges [start, end) of the file into the same ranges of `bytes`, as up to
 * CONCURRENT_SLICES concurrent reads of about equal size. Every read is issued before this
 * returns, so the caller's thread may do other work while they run.
 */
export function readRangesInto(fd: number, bytes: Uint8Array, ranges: readonly ByteRange[], path: string): Promise<void> {
  const total = ranges.reduce((sum, [start, end]) => sum + (end - start), 0);
  const slices = total < MIN_SLICED_BYTES ? 1 : CONCURRENT_SLICES;
  const sliceBytes = Math.ceil(total / slices / 4096) * 4096; // page-sized slices
  const reads: Promise<void>[] = [];
  for (const [rangeStart, rangeEnd] of ranges) {
    for (let start = rangeStart; start < rangeEnd; start += sliceBytes) {
      reads.push(readSlice(fd, bytes, start, Math.min(rangeEnd, start + sliceBytes), path));
    }
  }
  // Every read settles before this does, so that the caller may close the file on a failure
  // without a read still running on the descriptor.
  return Promise.allSettled(reads).then((results) => {
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  });
}

/** Reads bytes [start, end) of the file into the same range of `bytes`; a read may return less. */
export async function readSlice(fd: number, bytes: Uint8Array, start: number, end: number, path: string): Promise<void> {
  let position = start;
  while (position < end) {
    const bytesRead = await readAt(fd, bytes, position, end - position);
    if (bytesRead === 0) throw new Error(`${path} became shorter while it was read (ended at byte ${position})`);
    position += bytesRead;
  }
}

/** One positioned read on libuv's thread pool (fs.read on a descriptor: no FileHandle round trips to open it). */
function readAt(fd: number, bytes: Uint8Array, position: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, bytes, position, length, position, (error, bytesRead) => (error === null ? resolve(bytesRead) : reject(error)));
  });
}
