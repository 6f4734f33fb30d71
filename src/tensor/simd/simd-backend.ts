/**
 * The optional WebAssembly SIMD128 backend: `LinearBackend` (see `../backend.ts`) with the matmul
 * done by the kernel of `matmul-kernel.ts`: about 8× the fastest scalar JavaScript and 30-50× the
 * plain reference loop of `linear.ts`, on one thread.
 *
 * The plain backend stays the default and the reference; this module is separate so that code
 * which never imports it (a browser bundle of the default engine) carries no WebAssembly.
 *
 * Dimensions (as in `linear.ts`): rows R, inFeatures K, outFeatures N.
 *
 * Memory. Everything the kernel touches lives in one WebAssembly.Memory, handed out by a bump
 * allocator (16-byte aligned, never freed; a WebAssembly memory cannot shrink):
 *   - The linear layers' kernel (`matmulRows`, matmul-rows-kernel.ts) reads each weight [N, K] as
 *     the checkpoint stores it. A weight that already lies in the memory is used where it is:
 *     the Node adapter reads model.safetensors straight into it (`memory` and `firstFreeByte`
 *     below), so loading copies nothing and the weights are held once. Any other weight is
 *     copied in by `prepare` (a plain copy, no repacking). Each prepared weight also gets a
 *     block table (see `matmulRowBlocks` in kernel-interface.ts) and a bias slot [N].
 *   - `allocate` hands out Float32Array views of the memory for activations, so `linear` passes
 *     only byte addresses to the kernel: no copy per call. A bias that is not in the memory is
 *     copied into its slot on each call, which costs 1/(R·K) of the matmul.
 *   - Growing. `prepare` and `allocate` grow the memory when it is full (exactly as much as
 *     needed). Growing a plain memory detaches its old ArrayBuffer, and with it every view handed
 *     out before: a second `allocate` usually detaches the first one's array. Three ways to live
 *     with that, from the most portable:
 *       1. prepare every weight, then allocate the whole workspace in one `allocate` call and
 *          slice it with `subarray`; a bigger workspace later replaces the old one entirely;
 *       2. reserve the bytes up front with `initialBytes`, so nothing grows;
 *       3. `sharedMemory: true`: a shared memory's growth never detaches old views (needs
 *          SharedArrayBuffer: always in Node, Deno, Bun; cross-origin-isolated pages in browsers).
 *     A detached or foreign view passed to `linear` is reported by name, never read as zeros.
 *
 * Precision: the kernel accumulates in float32 (what f32x4 offers), where `linear.ts` uses
 * float64; for K ≤ 1536 the difference stays at float32 rounding (the tests bound it).
 * GELU is the kernel module's own (`gelu-kernel.ts`: float32 lanes, within 8 units in the last
 * place of the exact float64 `gelu.ts`, which took 10-13% of a forward pass in JavaScript); so
 * are the attention's softmax (`softmax-kernel.ts`) and the "Add & Norm" steps
 * (`addLayerNorm` below, `layer-norm-kernel.ts`), the other two steps that profiling showed
 * worth it (11-12% and 7-10%).
 *
 * Threads (`pool`, made by `createThreadedSimdBackend` in ../threaded-backend.ts): the kernel
 * keeps no state and writes only the output rows it is given, so each worker instantiates the
 * compiled module over the same shared memory and takes chunks of rows (every row is computed
 * exactly as on one thread, see CHUNK_ROW_MULTIPLE). Weights and activations are never copied
 * for the workers: they already live in the memory they share. Measured choice: one shared
 * memory rather than a memory per worker, which would hold the 42 MB of weights once per
 * thread and copy every activation in and out per call. Workers may join after the backend is
 * created (`waitForWorkers: false`, see ../worker-pool.ts): calls run on this thread until then.
 */

import type { LinearActivation, LinearBackend, PreparedLinear } from '../backend.ts';
import { addLayerNorm } from '../layer-norm.ts';
import { stackRows } from '../linear-packed.ts';
import {
  type KernelFunctions,
  type KernelMemoryKind,
  kernelFunctions,
  matmulRowBlocks,
  maximumMemoryPages,
  memoryImportModule,
  memoryImportName,
  pageBytes,
} from './kernel-interface.ts';
import { matmulKernelSharedBase64, matmulKernelUnsharedBase64, simdProbeBase64 } from './matmul-kernel.wasm.ts';
// Types only: the pool's code is imported by ../threaded-backend.ts, never by this module, so a
// bundle of the SIMD backend alone carries no workers.
import type { LinearWorkerPool } from '../worker-pool.ts';
import {
  ACTIVATION,
  AttentionKernel,
  Command,
  SIMD_BIAS_ADDRESS,
  SIMD_IN_FEATURES,
  SIMD_OUT_ADDRESS,
  SIMD_OUT_FEATURES,
  SIMD_WEIGHT_BLOCKS,
  SIMD_MEMORY,
  SIMD_X_ADDRESS,
} from '../linear-worker.ts';
import { checkBatchAttention, computeAttentionItems, type AttentionScratch, type AttentionShape } from '../attention.ts';
import { attentionHeadFast } from '../attention-fast.ts';
import {
  layoutSimdAttentionScratch,
  simdAttentionFits,
  simdAttentionHead,
  simdAttentionScratchBytes,
  type SimdAttentionScratch,
} from './simd-attention.ts';

/** Any misuse of the SIMD backend or failure of its runtime: the message names the culprit. */
export class SimdBackendError extends Error {
  override readonly name = 'SimdBackendError';
}

export interface SimdBackendOptions {
  /**
   * Use a shared WebAssembly.Memory (a SharedArrayBuffer underneath): needed to share the weights
   * with worker threads, and its growth never detaches views. Browsers allow it only on
   * cross-origin-isolated pages. Default false.
   */
  sharedMemory?: boolean;
  /** Bytes to reserve at creation, so that `prepare` and `allocate` need not grow the memory. */
  initialBytes?: number;
  /** Upper bound of the memory in bytes (at most 4 GiB, the wasm32 limit). Default: 4 GiB. */
  maximumBytes?: number;
  /**
   * A memory made by the caller, whose first `firstFreeByte` bytes hold data of the caller's
   * (e.g. the checkpoint, read into it so that weights and biases are used in place). It must be
   * shared when `sharedMemory` is true, and plain otherwise. A plain memory's views are detached
   * when the backend grows it: give it room (`initial` pages) for the workspace too, or make it
   * shared. Default: a new memory of `initialBytes`.
   */
  memory?: WebAssembly.Memory;
  /** With `memory`: the bytes below this address are the caller's; the backend allocates above. */
  firstFreeByte?: number;
  /**
   * Workers that share each call's rows (see ../worker-pool.ts); needs `sharedMemory: true`.
   * The backend owns the pool from then on and ends it on `dispose`.
   */
  pool?: LinearWorkerPool;
}

/** The SIMD backend, with its memory visible for inspection and for a future worker pool. */
export interface SimdBackend extends LinearBackend {
  readonly memory: WebAssembly.Memory;
  readonly sharedMemory: boolean;
  /** Bytes handed out so far (weights, bias slots, activations, one attention scratch per thread). */
  readonly usedBytes: number;
  /** Threads computing each call, the calling thread included. */
  readonly threads: number;
  /** Rows computed by workers (not the calling thread) so far. */
  readonly rowsComputedByWorkers: number;
  /** Bytes of weights `prepare` copied into the memory: 0 when every weight already lay in it. */
  readonly copiedWeightBytes: number;
  /** The attention step on the kernel (simd-attention.ts); see LinearBackend.attention. */
  attention(context: Float32Array, qkv: Float32Array, sequenceStarts: Int32Array, shape: AttentionShape, scratch: AttentionScratch): void;
  /** Row blocks used where they lie when in the memory, else copied in (see LinearBackend.prepareRowBlocks). */
  prepareRowBlocks(blocks: readonly Float32Array[], outFeatures: number, inFeatures: number): PreparedLinear;
  /** Add & Norm on the kernel (layer-norm-kernel.ts); see LinearBackend.addLayerNorm. */
  addLayerNorm: typeof addLayerNorm;
}

// ---------------------------------------------------------------------------------------------
// Feature detection and compilation
// ---------------------------------------------------------------------------------------------

/**
 * True when this runtime can compile WebAssembly that uses SIMD128. False where WebAssembly is
 * missing, lacks SIMD, or compiling is forbidden (e.g. a Content-Security-Policy without
 * 'wasm-unsafe-eval'); never throws.
 */
export function simdSupported(): boolean {
  try {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') return false;
    const probe = decodeBase64(simdProbeBase64);
    if (!WebAssembly.validate(probe)) return false;
    new WebAssembly.Module(probe); // validating is not compiling: a CSP can forbid the latter
    return true;
  } catch {
    return false;
  }
}

const compiledKernels = new Map<KernelMemoryKind, Promise<WebAssembly.Module>>();

/** The kernel module, compiled once per memory kind and reused by every backend (and worker). */
export function compileSimdKernel(memory: KernelMemoryKind): Promise<WebAssembly.Module> {
  let compiled = compiledKernels.get(memory);
  if (compiled === undefined) {
    const base64 = memory === 'shared' ? matmulKernelSharedBase64 : matmulKernelUnsharedBase64;
    compiled = WebAssembly.compile(decodeBase64(base64)).catch((error: unknown) => {
      compiledKernels.delete(memory); // let a later call try again
      throw new SimdBackendError(`could not compile the SIMD kernel: ${messageOf(error)}`);
    });
    compiledKernels.set(memory, compiled);
  }
  return compiled;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Creates a SIMD backend with its own memory. Throws SimdBackendError when SIMD is unavailable
 * (check `simdSupported()` first to fall back to the plain backend) or the memory cannot be made.
 */
export async function createSimdBackend(options: SimdBackendOptions = {}): Promise<SimdBackend> {
  if (!simdSupported()) throw new SimdBackendError('WebAssembly SIMD128 is not available in this runtime');
  const shared = options.sharedMemory ?? false;
  const pool = options.pool ?? null;
  if (pool !== null && !shared) throw new SimdBackendError('a worker pool needs sharedMemory: true');
  const maximumPages = bytesToPages(options.maximumBytes ?? maximumMemoryPages * pageBytes, 'maximumBytes');
  const initialPages = Math.max(1, bytesToPages(options.initialBytes ?? 0, 'initialBytes'));
  if (initialPages > maximumPages) {
    throw new SimdBackendError(`initialBytes (${options.initialBytes}) is more than maximumBytes (${options.maximumBytes})`);
  }
  const memory = options.memory ?? createMemory(initialPages, maximumPages, shared);
  // The buffer the caller's views were made on, before anything here grows the memory.
  const callerBuffer = memory.buffer;
  const firstFreeByte = alignUp(options.firstFreeByte ?? allocationAlignment);
  if (options.memory !== undefined) {
    if ((callerBuffer instanceof ArrayBuffer) === shared) {
      throw new SimdBackendError(`the memory given must be ${shared ? 'shared (sharedMemory: true)' : 'plain (sharedMemory: false)'}`);
    }
    if (!Number.isSafeInteger(firstFreeByte) || firstFreeByte > callerBuffer.byteLength) {
      throw new SimdBackendError(`firstFreeByte (${options.firstFreeByte}) must be an integer within the memory given`);
    }
  }
  const module = await compileSimdKernel(shared ? 'shared' : 'unshared');
  const instance = await WebAssembly.instantiate(module, { [memoryImportModule]: { [memoryImportName]: memory } });
  const kernel = kernelFunctions(instance);
  // No warm-up calls: running the kernels a few times at creation, so that V8 would start its
  // optimizing compiler before the first forward pass, was measured (and removed): it made
  // weights ready 2.6-4.3 ms later and cost 9 ms of CPU during the checkpoint's read, and saved
  // 1.6-1.7 ms on the first embedding (medians of 8-10 loads, 1 and 2 threads).
  const backend = new SimdLinearBackend(memory, shared, maximumPages, kernel, pool, firstFreeByte, callerBuffer);
  // Each worker: its own kernel instance over the shared memory.
  pool?.post({ type: 'simd', module, memory });
  return backend;
}

function createMemory(initialPages: number, maximumPages: number, shared: boolean): WebAssembly.Memory {
  try {
    return new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages, shared });
  } catch (error) {
    const what = shared ? 'a shared WebAssembly.Memory' : 'a WebAssembly.Memory';
    throw new SimdBackendError(`could not create ${what} of ${initialPages} pages: ${messageOf(error)}`);
  }
}

/** `bytes` rounded up to whole allocation units (16 bytes). */
function alignUp(bytes: number): number {
  return Math.ceil(bytes / allocationAlignment) * allocationAlignment;
}

function bytesToPages(bytes: number, optionName: string): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > maximumMemoryPages * pageBytes) {
    throw new SimdBackendError(`${optionName} must be an integer from 0 to 4 GiB, got ${bytes}`);
  }
  return Math.ceil(bytes / pageBytes);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// The backend
// ---------------------------------------------------------------------------------------------

/** The widest rows the kernel's Add & Norm takes (its γ/β slot: 32 KiB); wider ones use the plain one. */
export const layerNormMaxDim = 4096;
/** Byte alignment of every allocation: whole f32x4 vectors. */
const allocationAlignment = 16;
/**
 * Threads take rows in chunks of a multiple of this. Any split gives the same results (each output
 * is one dot product, computed the same way in any tile), but each chunk reads every weight
 * once more from memory: a 14-token sentence split into chunks of 4 rows (the kernel's tile) ran
 * at 9.6-10.4 ms on 2 threads, in chunks of 8 at 7.4-8.4 ms (one chunk: 12-12.5 ms).
 */
const CHUNK_ROW_MULTIPLE = 8;
/**
 * Below this many multiply-adds a call runs on the calling thread alone: waking a worker costs
 * ~0.1 ms (less when it is still spinning), which is ~2 M multiply-adds at this kernel's speed.
 */
const MIN_PARALLEL_MULTIPLY_ADDS = 1 << 20;
/**
 * Chunks per thread and call (see LinearWorkerPool.chunkRows), as in the threaded JS backend.
 * Measured on 2 cores, the encoder on 2 threads, 16 and 4 in alternation batch by batch in one
 * process (median of per-batch speed ratios): 1.048 on short-sentence batches of 32 (64 pairs),
 * 1.052 on passage batches of 16 (32 pairs).
 */
const CHUNKS_PER_THREAD = 16;

/** A weight matrix in this backend's memory, for `matmulRowBlocks` (kernel-interface.ts). */
class SimdPreparedLinear implements PreparedLinear {
  constructor(
    readonly owner: SimdLinearBackend,
    readonly outFeatures: number,
    readonly inFeatures: number,
    readonly blockTable: number, // [blockCount, (address, rows) per block]
    readonly biasSlot: number, //   [outFeatures], for a bias that is not in the memory
  ) {}
}

class SimdLinearBackend implements SimdBackend {
  readonly name = 'simd';
  /** Byte address of the next allocation. Address 0 stays unused so that 0 never names a buffer. */
  private nextFreeByte: number;
  /** Where this backend's allocations start (below: the caller's data, or the unused address 0). */
  private readonly firstFreeByte: number;
  /** The ArrayBuffers views of which are live: the current one, plus older ones if shared. */
  private readonly liveBuffers = new WeakSet<ArrayBufferLike>();
  /** ArrayBuffers detached by growing a plain memory, to say so when one is passed back. */
  private readonly detachedBuffers = new WeakSet<ArrayBufferLike>();
  private disposed = false;
  copiedWeightBytes = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly sharedMemory: boolean,
    private readonly maximumPages: number,
    private readonly kernel: KernelFunctions,
    private readonly pool: LinearWorkerPool | null,
    firstFreeByte: number,
    callerBuffer: ArrayBufferLike,
  ) {
    this.nextFreeByte = firstFreeByte;
    this.firstFreeByte = firstFreeByte;
    this.liveBuffers.add(callerBuffer);
  }

  /**
   * The calling thread's attention scratch (simd-attention.ts), reserved with one per worker by
   * the first `allocate`: before any view exists that growing an unshared memory could detach,
   * and only by backends that compute (a backend that only prepares weights needs none).
   */
  private attentionScratch: SimdAttentionScratch | null = null;
  /** Byte address of [2, layerNormMaxDim] floats: γ then β of an Add & Norm whose γ, β are not in the memory (same reservation). */
  private layerNormParams = -1;

  private reserveScratches(): void {
    const addresses: number[] = [];
    for (let thread = 0; thread < this.threads; thread++) addresses.push(this.reserve(simdAttentionScratchBytes / 4));
    this.attentionScratch = layoutSimdAttentionScratch(addresses[0]!);
    this.pool?.postToEach((worker) => ({ type: 'attentionScratch', address: addresses[worker]! }));
    this.layerNormParams = this.reserve(2 * layerNormMaxDim);
  }

  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  get rowsComputedByWorkers(): number {
    return this.pool?.rowsComputedByWorkers ?? 0;
  }

  get usedBytes(): number {
    return this.nextFreeByte - this.firstFreeByte;
  }

  prepare(weight: Float32Array, outFeatures: number, inFeatures: number): PreparedLinear {
    if (!(weight instanceof Float32Array)) throw new SimdBackendError('prepare: weight must be a Float32Array');
    return this.prepareRowBlocks([weight], outFeatures, inFeatures);
  }

  prepareRowBlocks(blocks: readonly Float32Array[], outFeatures: number, inFeatures: number): PreparedLinear {
    this.assertNotDisposed('prepare');
    assertDimension(outFeatures, 'outFeatures');
    assertDimension(inFeatures, 'inFeatures');
    if (!Array.isArray(blocks) || blocks.length === 0 || !blocks.every((block) => block instanceof Float32Array)) {
      throw new SimdBackendError('prepare: weight blocks must be a non-empty array of Float32Array');
    }
    const total = blocks.reduce((sum, block) => sum + block.length, 0);
    if (total !== outFeatures * inFeatures || blocks.some((block) => block.length % inFeatures !== 0)) {
      throw new SimdBackendError(
        `prepare: weight has ${total} elements, expected outFeatures × inFeatures = ` +
          `${outFeatures} × ${inFeatures} = ${outFeatures * inFeatures}` + (blocks.length > 1 ? ' in blocks of whole rows' : ''),
      );
    }
    // Blocks already in the memory are read where they lie; otherwise all are copied in, as one
    // block: [N, K] row-major is the kernel's layout, so this is a plain copy.
    // (Addresses are taken before the next `reserve`, which may detach views of a plain memory.)
    const inPlace = blocks.every((block) => this.liveBuffers.has(block.buffer));
    const placed = inPlace
      ? blocks.map((block) => [block.byteOffset, block.length / inFeatures])
      : [[this.copyIn(blocks, outFeatures * inFeatures), outFeatures]];
    const tableLength = 1 + 2 * placed.length;
    const blockTable = this.reserve(tableLength);
    new Uint32Array(this.currentBuffer(), blockTable, tableLength).set([placed.length, ...placed.flat()]);
    const biasSlot = this.reserve(outFeatures);
    return new SimdPreparedLinear(this, outFeatures, inFeatures, blockTable, biasSlot);
  }

  /** Stacks the blocks into newly reserved memory; returns its byte address. */
  private copyIn(blocks: readonly Float32Array[], length: number): number {
    const address = this.reserve(length);
    this.copiedWeightBytes += length * 4;
    stackRows(blocks, new Float32Array(this.currentBuffer(), address, length));
    return address;
  }

  allocate(length: number): Float32Array {
    this.assertNotDisposed('allocate');
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new SimdBackendError(`allocate: length must be a non-negative integer, got ${length}`);
    }
    if (this.attentionScratch === null) this.reserveScratches();
    const address = this.reserve(length);
    // Fresh bytes of a WebAssembly memory are zero, and the allocator never hands bytes out twice.
    return new Float32Array(this.currentBuffer(), address, length);
  }

  linear(
    out: Float32Array,
    x: Float32Array,
    prepared: PreparedLinear,
    bias: Float32Array | null,
    rows: number,
    activation: LinearActivation = 'none',
  ): void {
    this.assertNotDisposed('linear');
    if (!(prepared instanceof SimdPreparedLinear) || prepared.owner !== this) {
      throw new SimdBackendError('linear: weight was not prepared by this SIMD backend');
    }
    if (activation !== 'none' && activation !== 'gelu') {
      throw new SimdBackendError(`linear: unknown activation "${String(activation)}"`);
    }
    if (!Number.isSafeInteger(rows) || rows < 0) {
      throw new SimdBackendError(`linear: rows must be a non-negative integer, got ${rows}`);
    }
    const { inFeatures, outFeatures } = prepared;
    const xAddress = this.addressOf(x, 'x', rows * inFeatures, `rows × inFeatures = ${rows} × ${inFeatures}`);
    const outAddress = this.addressOf(out, 'out', rows * outFeatures, `rows × outFeatures = ${rows} × ${outFeatures}`);
    const xEnd = xAddress + rows * inFeatures * 4;
    const outEnd = outAddress + rows * outFeatures * 4;
    if (rows > 0 && xAddress < outEnd && outAddress < xEnd) {
      throw new SimdBackendError('linear: out and x overlap; the kernel would overwrite its input');
    }
    const biasAddress = this.biasAddressOf(prepared, bias);
    if (rows === 0) return;

    const { blockTable } = prepared;
    // Rows [rowStart, rowEnd): the kernel over those rows, then GELU over their outputs.
    const { matmulRows, gelu } = this.kernel;
    const heap = new Uint32Array(this.memory.buffer);
    const computeRows = (rowStart: number, rowEnd: number): void => {
      const length = rowEnd - rowStart;
      const rowsOut = outAddress + rowStart * outFeatures * 4;
      matmulRowBlocks(matmulRows, heap, blockTable, rowsOut, xAddress + rowStart * inFeatures * 4, biasAddress, length, inFeatures, outFeatures);
      if (activation === 'gelu') gelu(rowsOut, length * outFeatures);
    };
    const pool = this.pool;
    const multiplyAdds = rows * inFeatures * outFeatures;
    const chunkRows = pool === null ? rows : pool.chunkRows(rows, multiplyAdds, MIN_PARALLEL_MULTIPLY_ADDS, CHUNK_ROW_MULTIPLE, CHUNKS_PER_THREAD);
    if (pool === null || chunkRows >= rows) {
      computeRows(0, rows);
      return;
    }
    pool.run({
      command: Command.SimdLinear,
      rows,
      chunkRows,
      multiplyAdds,
      writeFields(control) {
        Atomics.store(control, SIMD_OUT_ADDRESS, outAddress);
        Atomics.store(control, SIMD_X_ADDRESS, xAddress);
        Atomics.store(control, SIMD_WEIGHT_BLOCKS, blockTable);
        Atomics.store(control, SIMD_BIAS_ADDRESS, biasAddress);
        Atomics.store(control, SIMD_IN_FEATURES, inFeatures);
        Atomics.store(control, SIMD_OUT_FEATURES, outFeatures);
        Atomics.store(control, ACTIVATION, activation === 'gelu' ? 1 : 0);
      },
      computeRows,
    });
  }

  /**
   * The attention step (see LinearBackend.attention) with the kernel: each (sequence, head) pair
   * through `simdAttentionHead` (simd-attention.ts), shared between the threads when there are
   * workers. Pairs too large for the scratch run the JS kernel of attention-fast.ts.
   */
  attention(
    context: Float32Array,
    qkv: Float32Array,
    sequenceStarts: Int32Array,
    shape: AttentionShape,
    scratch: AttentionScratch,
  ): void {
    this.assertNotDisposed('attention');
    const qkvAddress = this.addressOf(qkv, 'qkv', 0, '');
    const contextAddress = this.addressOf(context, 'context', 0, '');
    const ownScratch = this.attentionScratch!; // reserved by the allocate that made qkv
    const computeHead = (start: number, length: number, head: number): void => {
      if (simdAttentionFits(length, shape.headSize)) {
        simdAttentionHead(this.kernel, this.memory, ownScratch, contextAddress, qkvAddress, start, length, shape, head);
      } else {
        attentionHeadFast(context, qkv, start, length, shape, scratch, head);
      }
    };
    if (this.pool === null) {
      checkBatchAttention(context, qkv, sequenceStarts, shape, scratch);
      computeAttentionItems(sequenceStarts, shape.numHeads, 0, (sequenceStarts.length - 1) * shape.numHeads, computeHead);
      return;
    }
    const views = {
      qkvBuffer: SIMD_MEMORY,
      qkvOffset: qkvAddress / 4,
      contextBuffer: SIMD_MEMORY,
      contextOffset: contextAddress / 4,
      kernel: AttentionKernel.Simd,
      minMultiplyAdds: MIN_PARALLEL_MULTIPLY_ADDS,
    };
    this.pool.attention(context, qkv, sequenceStarts, shape, scratch, views, computeHead);
  }

  /**
   * out = LayerNorm(x + residual) with the kernel module's `addLayerNorm` (layer-norm-kernel.ts)
   * on the calling thread; γ and β are read where they lie when in the memory, else copied into
   * its γ/β slot first. Widths that are not a multiple of 4 (or above layerNormMaxDim) take the
   * plain `addLayerNorm`.
   */
  addLayerNorm(
    out: Float32Array,
    x: Float32Array,
    residual: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    rows: number,
    dim: number,
    eps: number,
  ): void {
    this.assertNotDisposed('addLayerNorm');
    if (dim % 4 !== 0 || dim > layerNormMaxDim || this.layerNormParams < 0) {
      addLayerNorm(out, x, residual, gamma, beta, rows, dim, eps);
      return;
    }
    if (!Number.isSafeInteger(rows) || rows < 0) throw new SimdBackendError(`addLayerNorm: rows must be a non-negative integer, got ${rows}`);
    if (!(gamma instanceof Float32Array) || !(beta instanceof Float32Array) || gamma.length !== dim || beta.length !== dim) {
      throw new SimdBackendError(`addLayerNorm: gamma and beta must be Float32Arrays of dim = ${dim} elements`);
    }
    const needed = rows * dim;
    const neededText = `rows × dim = ${rows} × ${dim}`;
    const outAddress = this.addressOf(out, 'out', needed, neededText, 'addLayerNorm');
    const xAddress = this.addressOf(x, 'x', needed, neededText, 'addLayerNorm');
    const residualAddress = this.addressOf(residual, 'residual', needed, neededText, 'addLayerNorm');
    const gammaAddress = this.addressInMemory(gamma, this.layerNormParams); //          [dim]
    const betaAddress = this.addressInMemory(beta, this.layerNormParams + dim * 4); // [dim]
    this.kernel.addLayerNorm(outAddress, xAddress, residualAddress, gammaAddress, betaAddress, rows, dim, eps);
  }

  /** Marks the backend unusable and ends its workers. The memory is freed when nothing references it. */
  dispose(): void {
    this.disposed = true;
    this.pool?.dispose();
  }

  /**
   * The byte address of the bias [N] for the kernel: the bias itself when it lies in the memory,
   * else the prepared weight's slot with the bias (or zeros, for no bias) copied in.
   */
  private biasAddressOf(prepared: SimdPreparedLinear, bias: Float32Array | null): number {
    if (bias !== null && (!(bias instanceof Float32Array) || bias.length !== prepared.outFeatures)) {
      const got = bias instanceof Float32Array ? `${bias.length} elements` : 'not a Float32Array';
      throw new SimdBackendError(`linear: bias must be a Float32Array of outFeatures = ${prepared.outFeatures}, got ${got}`);
    }
    if (bias !== null) return this.addressInMemory(bias, prepared.biasSlot);
    new Float32Array(this.currentBuffer(), prepared.biasSlot, prepared.outFeatures).fill(0); // [N]
    return prepared.biasSlot;
  }

  /**
   * The byte address of `values` for the kernel: its own when it lies in the memory (e.g. the
   * checkpoint read into it), else `slot`'s, with the values copied there.
   */
  private addressInMemory(values: Float32Array, slot: number): number {
    if (this.liveBuffers.has(values.buffer)) return values.byteOffset;
    new Float32Array(this.currentBuffer(), slot, values.length).set(values);
    return slot;
  }

  /** The byte address of `view` in the memory, after checking that it is a live view of it. */
  private addressOf(view: Float32Array, name: string, neededLength: number, neededText: string, step = 'linear'): number {
    if (!(view instanceof Float32Array)) throw new SimdBackendError(`${step}: ${name} must be a Float32Array`);
    if (!this.liveBuffers.has(view.buffer)) {
      if (this.detachedBuffers.has(view.buffer)) {
        throw new SimdBackendError(
          `${step}: ${name} was detached when the backend's memory grew after ${name} was allocated; ` +
            'prepare weights and allocate buffers before computing, or reserve memory with initialBytes',
        );
      }
      throw new SimdBackendError(`${step}: ${name} is not in the SIMD backend's memory; create it with allocate()`);
    }
    if (view.length < neededLength) {
      throw new SimdBackendError(`${step}: ${name} has ${view.length} elements, needs ${neededText} = ${neededLength}`);
    }
    return view.byteOffset;
  }

  /**
   * The memory's ArrayBuffer, recorded as live: views made on it are accepted by `linear`. (An
   * engine may hand out a new SharedArrayBuffer object for the same shared memory.)
   */
  private currentBuffer(): ArrayBufferLike {
    const buffer = this.memory.buffer;
    this.liveBuffers.add(buffer);
    return buffer;
  }

  /** Reserves `length` floats, growing the memory if needed; returns their byte address. */
  private reserve(length: number): number {
    const address = this.nextFreeByte;
    const end = address + alignUp(length * 4);
    const limit = this.maximumPages * pageBytes;
    if (end > limit) {
      throw new SimdBackendError(
        `out of memory: ${length} floats at byte ${address} would pass the limit of ${limit} bytes (maximumBytes)`,
      );
    }
    this.growTo(end);
    this.nextFreeByte = end;
    return address;
  }

  /** Grows the memory to at least `end` bytes. */
  private growTo(end: number): void {
    const currentBytes = this.memory.buffer.byteLength;
    if (end > currentBytes) {
      const oldBuffer = this.memory.buffer;
      const pages = Math.ceil((end - currentBytes) / pageBytes);
      try {
        this.memory.grow(pages);
      } catch (error) {
        throw new SimdBackendError(`could not grow the memory by ${pages} pages to ${end} bytes: ${messageOf(error)}`);
      }
      if (!this.sharedMemory) {
        this.liveBuffers.delete(oldBuffer);
        this.detachedBuffers.add(oldBuffer);
      }
    }
  }

  /** Throws when disposed, or when its workers failed (e.g. one could not start). */
  private assertNotDisposed(operation: string): void {
    if (this.disposed) throw new SimdBackendError(`${operation}: the SIMD backend was disposed`);
    this.pool?.checkUsable();
  }
}

function assertDimension(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new SimdBackendError(`prepare: ${name} must be a positive integer, got ${value}`);
  }
}
