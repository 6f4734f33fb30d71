/**
 * The worker side of the threaded backends (threaded-backend.ts: the JS kernel; simd/: the SIMD
 * kernel with threads), and the shared-memory protocol both sides use (the caller's side is
 * worker-pool.ts). A job is one of three kinds: linear rows with `linearTiled`, linear rows with
 * the SIMD kernel on this worker's own instance over the shared WebAssembly.Memory, or
 * (sequence, head) pairs of attention (their fields are described with the control block layout).
 *
 * A worker holds the same SharedArrayBuffers as the calling thread (weights, activations, a
 * bias scratch), registered once by message and then named by a number. A job is not sent by
 * message (a message needs the worker's event loop and a forward pass makes ~50 calls) but
 * written into a small shared control block; the worker sleeps on it with Atomics.wait and
 * shares the rows with the caller:
 *
 *   caller                                   worker(s)
 *   write job fields, claim word, then GEN   spin on GEN, then Atomics.wait(GEN)
 *   Atomics.notify(GEN)               ───►   read job fields
 *   loop: claim a chunk of rows (CAS),       loop: claim a chunk of rows (CAS),
 *         linearTiled(chunk),                       linearTiled(chunk),
 *         FINISHED += rows of chunk                FINISHED += rows of chunk, notify
 *   wait until FINISHED = rows               back to spinning on GEN
 *
 * Rows are handed out in chunks from a shared counter rather than split in fixed halves, so a
 * thread that wakes late or is slowed by other programs simply takes fewer chunks. Every row is
 * computed by the same arithmetic whichever thread takes it, so results do not depend on the
 * split. The claim word carries the job's generation, so a worker that wakes after a job ended
 * cannot claim rows of the next one with the old job's fields.
 *
 * Publishing a job, in this order: (1) close the claim word, (2) write the job fields, (3) open
 * the claim word with the new generation, (4) set COMMAND, bump GENERATION, notify. Every access
 * is an Atomics operation (sequentially consistent), and a worker reads the fields before it
 * claims. So a worker that read a field while the caller was rewriting it then finds the claim
 * word closed or carrying another generation and claims nothing; a worker that does claim a chunk
 * read the fields of that very job, which cannot change before all its rows are finished.
 *
 * New buffers: the caller posts them by message, but a worker asleep in Atomics.wait reads no
 * messages. Command.Sync sends the workers back to their event loops; each reads the pending
 * messages, then the 'resume' message posted after them, which it acknowledges (ACKNOWLEDGED)
 * before returning to the job loop.
 *
 * Control block (Int32Array over a SharedArrayBuffer), indices below. Buffer fields hold the
 * registration number of a SharedArrayBuffer; offsets and lengths are in floats.
 *
 * Left out: spawning (platform-specific, see worker-spawn.ts and the Node adapter) and the
 * caller's side (worker-pool.ts).
 */

import type { LinearActivation } from './backend.ts';
import { attentionHeadFast } from './attention-fast.ts';
import { computeAttentionItems, createAttentionScratch, type AttentionScratch } from './attention.ts';
import { linearTiled, wrapLinearWeight, type LinearWeightView } from './linear-packed.ts';
import { kernelFunctions, matmulRowBlocks, memoryImportModule, memoryImportName, type KernelFunctions } from './simd/kernel-interface.ts';
import { layoutSimdAttentionScratch, simdAttentionFits, simdAttentionHead, type SimdAttentionScratch } from './simd/simd-attention.ts';

// ── Control block layout ───────────────────────────────────────────────────────────────────
export const GENERATION = 0; // bumped by the caller for every command; workers wait on it
export const COMMAND = 1; // what the current generation asks: one of the Command values
export const CLAIM = 2; // claimWord(generation, next chunk index), claimed by compare-exchange
export const FINISHED = 3; // rows finished in the current job
export const ACKNOWLEDGED = 4; // workers that processed their messages after a Command.Sync
export const FAILED = 5; // set to 1 by a worker whose kernel threw
export const X_BUFFER = 6;
export const X_OFFSET = 7;
export const OUT_BUFFER = 8;
export const OUT_OFFSET = 9;
export const WEIGHT_BUFFER = 10;
export const BIAS_BUFFER = 11; // -1: no bias
export const ROWS = 12;
export const CHUNK_ROWS = 13;
export const ACTIVATION = 14; // 0: none, 1: gelu
export const WORKER_ROWS = 15; // rows (and attention items) computed by workers since the start, for statistics
// Fields of a Command.SimdLinear job: byte addresses in the shared WebAssembly.Memory (stored as
// int32, read back with >>> 0 since a wasm32 address may pass 2^31), and the matrix sizes.
export const SIMD_OUT_ADDRESS = 16;
export const SIMD_X_ADDRESS = 17;
export const SIMD_WEIGHT_BLOCKS = 18;
export const SIMD_BIAS_ADDRESS = 19;
export const SIMD_IN_FEATURES = 20;
export const SIMD_OUT_FEATURES = 21;
// Fields of a Command.Attention job; its items (ROWS) are (sequence, head) pairs, item k being
// sequence ⌊k / heads⌋, head k mod heads; the sequence starts are in the job data (see below).
// qkv is named by X_BUFFER/X_OFFSET, context by OUT_BUFFER/OUT_OFFSET, where the buffer
// SIMD_MEMORY means the shared WebAssembly.Memory and the offset is then its byte address / 4.
export const ATTENTION_HEADS = 22;
export const ATTENTION_HEAD_SIZE = 23;
export const ATTENTION_TOKENS = 24;
export const ATTENTION_KERNEL = 25; // one of AttentionKernel
// Workers that have read 'init' and serve jobs from now on: the caller reads this to learn that
// they joined without waiting for their 'ready' messages (see LinearWorkerPool.haveWorkersJoined).
export const STARTED = 26;
export const CONTROL_LENGTH = 27;

/** Which kernel an attention job's heads run. */
export const AttentionKernel = {
  /** attentionHeadFast (attention-fast.ts), float64, on the worker's own JS scratch. */
  Js: 0,
  /** simdAttentionHead (simd/simd-attention.ts) on the worker's scratch in the shared memory. */
  Simd: 1,
} as const;

/** The buffer number that names the SIMD backend's shared memory instead of a registered buffer. */
export const SIMD_MEMORY = -2;

export const Command = {
  /** Compute a linear job described by the fields above. */
  Linear: 1,
  /** Return to the event loop, read pending messages (new or released buffers), acknowledge. */
  Sync: 2,
  /** Leave the job loop for good (the worker is then terminated). */
  Exit: 3,
  /** Compute a job with the WebAssembly SIMD kernel: fields SIMD_* above, ROWS, CHUNK_ROWS, ACTIVATION. */
  SimdLinear: 4,
  /** Compute attention heads (attention-fast.ts): fields ATTENTION_* above. */
  Attention: 5,
} as const;

// The claim word packs the low 20 bits of the generation above a 12-bit chunk index; index
// 4095 marks a closed job. A worker claims a chunk only if the word still carries its own
// generation, so a stale worker would need the caller to run 2^20 jobs while it sleeps between
// two instructions to be fooled.
const INDEX_BITS = 12;
const INDEX_MASK = (1 << INDEX_BITS) - 1;
export const MAX_CHUNKS = INDEX_MASK - 1; // 4094
const CLOSED = INDEX_MASK;

export function claimWord(generation: number, index: number): number {
  return ((generation & 0xfffff) << INDEX_BITS) | index;
}

/** A claim word that no worker of any generation can claim from. */
export function closedClaimWord(generation: number): number {
  return claimWord(generation, CLOSED);
}

/**
 * Claims the next chunk of the job `generation`, or returns -1 when none is left (or the job
 * is no longer the current one).
 */
export function claimChunk(control: Int32Array, generation: number, chunkCount: number): number {
  const tag = claimWord(generation, 0) >> INDEX_BITS;
  for (;;) {
    const word = Atomics.load(control, CLAIM);
    const index = word & INDEX_MASK;
    if (word >> INDEX_BITS !== tag || index >= chunkCount) return -1;
    if (Atomics.compareExchange(control, CLAIM, word, word + 1) === word) return index;
  }
}

/**
 * Spins while control[index] === value, for at most `milliseconds`. Returns true if the value
 * changed. Spinning first avoids the ~0.1 ms it costs to wake a thread from Atomics.wait.
 */
export function spinWhileEqual(control: Int32Array, index: number, value: number, milliseconds: number): boolean {
  const deadline = performance.now() + milliseconds;
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(control, index) !== value) return true;
    if (performance.now() > deadline) return false;
  }
}

/** How long a worker spins after a job before it sleeps: the next job usually comes quickly. */
const WORKER_SPIN_MS = 0.5;

// ── Messages ───────────────────────────────────────────────────────────────────────────────
export type ToWorkerMessage =
  | { type: 'init'; control: SharedArrayBuffer }
  /**
   * A buffer, or (with `weight`) one weight matrix in it: its blocks of rows, each at a float
   * offset (several weights may share a buffer: the checkpoint's).
   */
  | {
      type: 'register';
      id: number;
      buffer: SharedArrayBuffer;
      weight?: { outFeatures: number; inFeatures: number; blocks: { floatOffset: number; rows: number }[] };
    }
  | { type: 'release'; id: number }
  | { type: 'resume'; generation: number }
  /**
   * The SIMD kernel, compiled once by the caller (a WebAssembly.Module), and the shared
   * WebAssembly.Memory it runs on. Typed `unknown` here so that the published declarations need
   * no WebAssembly types (a Node project's tsconfig may not have them).
   */
  | { type: 'simd'; module: unknown; memory: unknown }
  /** Where this worker's SIMD attention scratch is in the shared memory (simd/simd-attention.ts). */
  | { type: 'attentionScratch'; address: number }
  /** A new (larger) job-data buffer: Int32 values a job needs beyond the control block. */
  | { type: 'jobData'; buffer: SharedArrayBuffer };

export type FromWorkerMessage = { type: 'ready' } | { type: 'error'; message: string };

/** How a worker talks to the thread that created it (Node's parentPort or a Web worker's self). */
export interface LinearWorkerPort {
  postMessage(message: FromWorkerMessage): void;
  onMessage(listener: (message: ToWorkerMessage) => void): void;
}

/** Runs the worker: call once in the worker's entry module. */
export function runLinearWorker(port: LinearWorkerPort): void {
  let control: Int32Array | null = null;
  const buffers = new Map<number, Float32Array>(); // registration number → whole-buffer view
  const weights = new Map<number, LinearWeightView>();
  let simd: (KernelFunctions & { memory: WebAssembly.Memory }) | null = null;
  let simdAttentionScratch: SimdAttentionScratch | null = null;
  let jobData: Int32Array = new Int32Array(0);
  let attentionScratch: AttentionScratch | null = null; // this worker's own, grown as needed
  let seenGeneration = 0;

  function serve(control: Int32Array): void {
    for (;;) {
      if (!spinWhileEqual(control, GENERATION, seenGeneration, WORKER_SPIN_MS)) {
        Atomics.wait(control, GENERATION, seenGeneration);
      }
      const generation = Atomics.load(control, GENERATION);
      if (generation === seenGeneration) continue;
      seenGeneration = generation;
      const command = Atomics.load(control, COMMAND);
      // Sync: return to the event loop; the 'resume' message that follows acknowledges.
      if (command === Command.Sync || command === Command.Exit) return;
      if (command === Command.Linear) work(control, generation);
      else if (command === Command.SimdLinear) workSimd(control, generation);
      else if (command === Command.Attention) workAttention(control, generation);
    }
  }

  /**
   * Claims chunks of the current job until none is left and computes rows [start, end) of each
   * with `computeChunk`. A chunk is counted as finished even when it failed (FAILED is set and
   * the error posted), so that the caller never waits forever. `rows` and `chunkRows` are the
   * job's fields, read by the caller before claiming like every other field.
   */
  function computeClaimedChunks(
    control: Int32Array,
    generation: number,
    rows: number,
    chunkRows: number,
    computeChunk: (start: number, end: number) => void,
  ): void {
    if (rows < 1 || chunkRows < 1) return; // fields of a job that is being rewritten: not ours
    const chunkCount = Math.ceil(rows / chunkRows);
    for (;;) {
      const chunk = claimChunk(control, generation, chunkCount);
      if (chunk === -1) return;
      const start = chunk * chunkRows;
      const end = Math.min(rows, start + chunkRows);
      try {
        computeChunk(start, end);
      } catch (error) {
        Atomics.store(control, FAILED, 1);
        port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
      }
      Atomics.add(control, WORKER_ROWS, end - start);
      Atomics.add(control, FINISHED, end - start);
      Atomics.notify(control, FINISHED);
    }
  }

  /** A view of `length` floats named by a (buffer, offset) pair of fields, or undefined. */
  function viewOf(control: Int32Array, bufferField: number, offsetField: number, length: number): Float32Array | undefined {
    const buffer = Atomics.load(control, bufferField);
    const offset = Atomics.load(control, offsetField) >>> 0;
    if (buffer === SIMD_MEMORY) return simd === null ? undefined : new Float32Array(simd.memory.buffer, offset * 4, length);
    return buffers.get(buffer)?.subarray(offset, offset + length);
  }

  /** Claims and computes (sequence, head) pairs of an attention job. */
  function workAttention(control: Int32Array, generation: number): void {
    const items = Atomics.load(control, ROWS);
    const chunkItems = Atomics.load(control, CHUNK_ROWS);
    const shape = { numHeads: Atomics.load(control, ATTENTION_HEADS), headSize: Atomics.load(control, ATTENTION_HEAD_SIZE) };
    const hidden = shape.numHeads * shape.headSize;
    const tokens = Atomics.load(control, ATTENTION_TOKENS);
    const qkv = viewOf(control, X_BUFFER, X_OFFSET, tokens * 3 * hidden);
    const context = viewOf(control, OUT_BUFFER, OUT_OFFSET, tokens * hidden);
    const useSimd = Atomics.load(control, ATTENTION_KERNEL) === AttentionKernel.Simd;
    // With the SIMD kernel qkv and context are in the shared memory: their byte addresses.
    const qkvAddress = (Atomics.load(control, X_OFFSET) >>> 0) * 4;
    const contextAddress = (Atomics.load(control, OUT_OFFSET) >>> 0) * 4;
    const computeHead = (start: number, length: number, head: number): void => {
      if (qkv === undefined || context === undefined) throw new Error('attention job names a buffer this worker does not know');
      if (useSimd && simdAttentionFits(length, shape.headSize)) {
        if (simd === null || simdAttentionScratch === null) throw new Error('SIMD attention job before the kernel and scratch were sent');
        simdAttentionHead(simd, simd.memory, simdAttentionScratch, contextAddress, qkvAddress, start, length, shape, head);
        return;
      }
      if (attentionScratch === null || attentionScratch.maxLength < length || attentionScratch.headSize !== shape.headSize) {
        attentionScratch = createAttentionScratch(length, shape.headSize);
      }
      attentionHeadFast(context, qkv, start, length, shape, attentionScratch, head);
    };
    computeClaimedChunks(control, generation, items, chunkItems, (first, end) =>
      computeAttentionItems(jobData, shape.numHeads, first, end, computeHead),
    );
  }

  /** Claims and computes chunks of a SIMD job: the kernel on this worker's own instance. */
  function workSimd(control: Int32Array, generation: number): void {
    const outAddress = Atomics.load(control, SIMD_OUT_ADDRESS) >>> 0;
    const xAddress = Atomics.load(control, SIMD_X_ADDRESS) >>> 0;
    const blockTable = Atomics.load(control, SIMD_WEIGHT_BLOCKS) >>> 0; // see matmulRowBlocks
    const biasAddress = Atomics.load(control, SIMD_BIAS_ADDRESS) >>> 0;
    const inFeatures = Atomics.load(control, SIMD_IN_FEATURES);
    const outFeatures = Atomics.load(control, SIMD_OUT_FEATURES);
    const gelu = Atomics.load(control, ACTIVATION) === 1;
    computeClaimedChunks(control, generation, Atomics.load(control, ROWS), Atomics.load(control, CHUNK_ROWS), (rowStart, rowEnd) => {
      if (simd === null) throw new Error('SIMD job before the SIMD kernel was sent to this worker');
      const length = rowEnd - rowStart;
      const chunkOut = outAddress + rowStart * outFeatures * 4; // rows [rowStart, rowEnd)
      const heap = new Uint32Array(simd.memory.buffer);
      matmulRowBlocks(simd.matmulRows, heap, blockTable, chunkOut, xAddress + rowStart * inFeatures * 4, biasAddress, length, inFeatures, outFeatures);
      if (gelu) simd.gelu(chunkOut, length * outFeatures);
    });
  }

  /** Claims and computes chunks of a JS linear job (`linearTiled` on registered buffers). */
  function work(control: Int32Array, generation: number): void {
    const rows = Atomics.load(control, ROWS);
    // The fields are read before claiming; if the job changed meanwhile the claim fails, and
    // fields read from a newer job are never used.
    const x = buffers.get(Atomics.load(control, X_BUFFER));
    const out = buffers.get(Atomics.load(control, OUT_BUFFER));
    const weight = weights.get(Atomics.load(control, WEIGHT_BUFFER));
    const biasBuffer = Atomics.load(control, BIAS_BUFFER);
    const bias = biasBuffer === -1 ? null : buffers.get(biasBuffer);
    const xOffset = Atomics.load(control, X_OFFSET);
    const outOffset = Atomics.load(control, OUT_OFFSET);
    const activation: LinearActivation = Atomics.load(control, ACTIVATION) === 1 ? 'gelu' : 'none';
    computeClaimedChunks(control, generation, rows, Atomics.load(control, CHUNK_ROWS), (rowStart, rowEnd) => {
      if (x === undefined || out === undefined || weight === undefined || bias === undefined) {
        throw new Error('job names a buffer this worker does not know');
      }
      const xView = x.subarray(xOffset, xOffset + rows * weight.inFeatures);
      const outView = out.subarray(outOffset, outOffset + rows * weight.outFeatures);
      const biasView = bias === null ? null : bias.subarray(0, weight.outFeatures);
      linearTiled(outView, xView, weight, biasView, rowStart, rowEnd, activation);
    });
  }

  port.onMessage((message) => {
    switch (message.type) {
      case 'init':
        control = new Int32Array(message.control);
        port.postMessage({ type: 'ready' });
        Atomics.add(control, STARTED, 1);
        serve(control);
        break;
      case 'register': {
        const { weight } = message;
        if (weight) {
          const { buffer } = message;
          const blocks = weight.blocks.map(({ floatOffset, rows }) => new Float32Array(buffer, floatOffset * 4, rows * weight.inFeatures));
          weights.set(message.id, wrapLinearWeight(blocks, weight.outFeatures, weight.inFeatures));
        } else {
          buffers.set(message.id, new Float32Array(message.buffer));
        }
        break;
      }
      case 'simd': {
        // Instantiating a small compiled module is quick; each worker has its own instance
        // (its own stack and globals) over the one shared memory.
        const memory = message.memory as WebAssembly.Memory;
        const instance = new WebAssembly.Instance(message.module as WebAssembly.Module, { [memoryImportModule]: { [memoryImportName]: memory } });
        simd = { ...kernelFunctions(instance), memory };
        break;
      }
      case 'attentionScratch':
        simdAttentionScratch = layoutSimdAttentionScratch(message.address);
        break;
      case 'jobData':
        jobData = new Int32Array(message.buffer);
        break;
      case 'release':
        buffers.delete(message.id);
        weights.delete(message.id);
        break;
      case 'resume':
        if (control === null) return;
        seenGeneration = message.generation;
        Atomics.add(control, ACKNOWLEDGED, 1);
        Atomics.notify(control, ACKNOWLEDGED);
        serve(control);
        break;
    }
  });
}
