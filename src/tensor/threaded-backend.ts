/**
 * The threaded backend: `linearTiled` (linear-packed.ts) with the rows of each call shared
 * between the calling thread and `threads − 1` workers, over SharedArrayBuffer memory.
 *
 *   const backend = await createThreadedBackend({ threads: 2, spawnWorker });   // async: starts workers
 *   const w = backend.prepare(weight, outFeatures, inFeatures);               // shared (copied once if need be)
 *   const x = backend.allocate(rows * inFeatures), out = backend.allocate(rows * outFeatures);
 *   backend.linear(out, x, w, bias, rows, 'gelu');                              // synchronous
 *   backend.dispose();                                                          // ends the workers
 *
 * Memory. Every weight is used in its [outFeatures, inFeatures] layout, with no repacking: in
 * place when it is already a view of a SharedArrayBuffer (the Node adapter reads the checkpoint
 * into one for this backend), else copied once into a SharedArrayBuffer of its own (workers
 * cannot read an ordinary ArrayBuffer). Every activation buffer (from `allocate`) is its own
 * SharedArrayBuffer. Buffers and weights are posted once to each worker and then named by a
 * number. One buffer per allocation rather than one growing arena: nothing to grow
 * or compact (a SharedArrayBuffer cannot move, and growable ones make V8 compile the kernel for
 * a second array kind), each buffer is freed by the garbage collector independently (a
 * FinalizationRegistry tells the workers to drop theirs), and subarray views of an allocated
 * array work too. The bias is not
 * ours (it is a view into the checkpoint), so it is copied into a shared scratch per call: N
 * floats, nothing next to R·K·N multiply-adds.
 *
 * Synchronisation. `linear` stays synchronous, like the model's forward pass: it writes the job
 * into a shared control block, wakes the workers with Atomics.notify, computes chunks of rows
 * itself, and waits (spin, then Atomics.wait) until every row is done. Protocol details are in
 * linear-worker.ts. Rows are claimed in chunks, so a late or slowed worker costs nothing but its
 * share, and results are bit-identical to `packedBackend` and `plainBackend` however rows fall.
 *
 * Where it runs: the calling thread must be allowed to block in Atomics.wait (Node, Deno, Bun,
 * any worker; not a browser page's main thread: create the backend inside a Worker there), and
 * browsers provide SharedArrayBuffer only to cross-origin-isolated pages (COOP + COEP headers).
 * Starting workers is platform-specific and passed in as `spawnWorker` (worker-spawn.ts).
 *
 * The workers and the job protocol are those of worker-pool.ts, which the SIMD backend's threads
 * use too. Left out: a thread pool shared between encoders, work on anything but the linear layers.
 */

import type { LinearActivation, LinearBackend, PreparedLinear } from './backend.ts';
import type { AttentionScratch, AttentionShape } from './attention.ts';
import { checkLinearArguments, linearTiled, stackRows, wrapLinearWeight, type LinearWeightView } from './linear-packed.ts';
import { attentionHeadFast } from './attention-fast.ts';
import { ACTIVATION, AttentionKernel, BIAS_BUFFER, Command, OUT_BUFFER, OUT_OFFSET, WEIGHT_BUFFER, X_BUFFER, X_OFFSET } from './linear-worker.ts';
import { LinearWorkerPool, ThreadedBackendError } from './worker-pool.ts';
import type { SpawnLinearWorker } from './worker-spawn.ts';
import type { SimdBackend, SimdBackendOptions } from './simd/simd-backend.ts';

export { ThreadedBackendError } from './worker-pool.ts';

export interface ThreadedBackendOptions {
  /** Threads computing each linear call, the calling thread included: an integer ≥ 1. */
  threads: number;
  /**
   * Starts one worker. Default: the Web Worker API (browsers, Deno, Bun). Node has no global
   * Worker: pass `spawnNodeLinearWorker` from the Node adapter.
   */
  spawnWorker?: SpawnLinearWorker;
  /**
   * Default true: start the workers now and resolve once every one is ready. False: resolve at
   * once, start the workers when the calls have asked for about one short sentence's work, and
   * compute on the calling thread alone until they join (see LinearWorkerPool.start).
   */
  waitForWorkers?: boolean;
}

export interface ThreadedBackend extends LinearBackend {
  readonly threads: number;
  /** Row blocks used in place when they share one SharedArrayBuffer (see LinearBackend.prepareRowBlocks). */
  prepareRowBlocks(blocks: readonly Float32Array[], outFeatures: number, inFeatures: number): PreparedLinear;
  /** Rows computed by the workers (not the calling thread) so far: shows whether sharing happens. */
  readonly rowsComputedByWorkers: number;
}

/** Below this many multiply-adds (~0.1 ms of work) a call runs on the calling thread alone. */
const MIN_PARALLEL_MULTIPLY_ADDS = 1 << 17;
/** Rows of the kernel's register tile (linear-packed.ts): chunks start on a tile boundary. */
const ROW_TILE = 2;
/**
 * Chunks per thread and call (see LinearWorkerPool.chunkRows). Finer chunks end a call sooner
 * after its first thread runs out of rows; their cost (a claim, a kernel call) stays small at
 * this kernel's speed. Measured on 2 cores, the encoder on 2 threads, the two settings in
 * alternation batch by batch in one process (median of per-batch speed ratios, short-sentence
 * batches of 32 / passage batches of 16): 16 against 4, 1.020 / 1.044 (64 / 32 pairs); 64
 * against 16, 1.010 / 1.005; 128 against 32, 0.999 / 0.946.
 */
const CHUNKS_PER_THREAD = 16;

/** Starts the workers and resolves once all of them are ready. */
export async function createThreadedBackend(options: ThreadedBackendOptions): Promise<ThreadedBackend> {
  const { threads, spawnWorker, waitForWorkers } = options;
  const pool = await LinearWorkerPool.start(threads, spawnWorker, { waitForWorkers });
  return new ThreadedLinearBackend(pool);
}

/**
 * The WebAssembly SIMD backend (simd/simd-backend.ts) with each call's rows shared between the
 * calling thread and `threads − 1` workers: one shared WebAssembly.Memory, one kernel instance
 * per thread. Same requirements as createThreadedBackend, plus WebAssembly SIMD.
 */
export async function createThreadedSimdBackend(
  options: ThreadedBackendOptions & Omit<SimdBackendOptions, 'pool' | 'sharedMemory'>,
): Promise<SimdBackend> {
  const { threads, spawnWorker, waitForWorkers, ...memoryOptions } = options;
  const { createSimdBackend } = await import('./simd/simd-backend.ts');
  const pool = await LinearWorkerPool.start(threads, spawnWorker, { waitForWorkers });
  try {
    return await createSimdBackend({ ...memoryOptions, sharedMemory: true, pool });
  } catch (error) {
    pool.dispose();
    throw error;
  }
}

class ThreadedLinearBackend implements ThreadedBackend {
  readonly name = 'threaded';
  /** Registration number of every activation SharedArrayBuffer made by this backend. */
  private readonly bufferIds = new WeakMap<ArrayBufferLike, number>();
  /** Registration number of every prepared weight (several may share one buffer: the checkpoint's). */
  private readonly weightIds = new WeakMap<LinearWeightView, number>();
  private nextBufferId = 0;
  private readonly released = new FinalizationRegistry<number>((id) => this.pool.post({ type: 'release', id }));
  private biasScratch: Float32Array = new Float32Array(0); // [≥ outFeatures], shared copy of the current bias
  private biasScratchId = -1;

  constructor(private readonly pool: LinearWorkerPool) {}

  get threads(): number {
    return this.pool.threads;
  }

  get rowsComputedByWorkers(): number {
    return this.pool.rowsComputedByWorkers;
  }

  prepare(weight: Float32Array, outFeatures: number, inFeatures: number): LinearWeightView {
    return this.prepareRowBlocks([weight], outFeatures, inFeatures);
  }

  prepareRowBlocks(blocks: readonly Float32Array[], outFeatures: number, inFeatures: number): LinearWeightView {
    this.pool.checkUsable();
    const given = wrapLinearWeight(blocks, outFeatures, inFeatures); // checks the sizes before anything is allocated
    // Weights already in one SharedArrayBuffer (the Node adapter reads the checkpoint into one
    // for this backend) are used where they lie; any other is copied once, its blocks stacked.
    const buffer = given.blocks[0]!.data.buffer;
    const inPlace = buffer instanceof SharedArrayBuffer && given.blocks.every((block) => block.data.buffer === buffer);
    let prepared = given;
    if (!inPlace) {
      const shared = new Float32Array(new SharedArrayBuffer(outFeatures * inFeatures * 4)); // [outFeatures, inFeatures]
      stackRows(blocks, shared); // the same layout: a plain copy, no repacking
      prepared = wrapLinearWeight(shared, outFeatures, inFeatures);
    }
    const id = this.nextBufferId++;
    this.weightIds.set(prepared, id);
    const placement = prepared.blocks.map(({ data, rows }) => ({ floatOffset: data.byteOffset / 4, rows }));
    const sharedBuffer = prepared.blocks[0]!.data.buffer as SharedArrayBuffer;
    this.pool.post({ type: 'register', id, buffer: sharedBuffer, weight: { outFeatures, inFeatures, blocks: placement } });
    this.released.register(prepared, id);
    return prepared;
  }

  allocate(length: number): Float32Array {
    this.pool.checkUsable();
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new ThreadedBackendError(`allocate: length must be a non-negative integer, got ${length}`);
    }
    const buffer = new SharedArrayBuffer(length * 4);
    this.register(buffer);
    return new Float32Array(buffer);
  }

  linear(
    out: Float32Array,
    x: Float32Array,
    prepared: PreparedLinear,
    bias: Float32Array | null,
    rows: number,
    activation: LinearActivation = 'none',
  ): void {
    this.pool.checkUsable();
    checkLinearArguments(out, x, prepared, bias, 0, rows, activation);
    const weightId = this.weightIds.get(prepared);
    if (weightId === undefined) throw new ThreadedBackendError('weight was not prepared by this backend');
    const xId = this.idOf(x, 'x');
    const outId = this.idOf(out, 'out');
    if (rows === 0) return;

    const multiplyAdds = rows * prepared.inFeatures * prepared.outFeatures;
    const chunkRows = this.pool.chunkRows(rows, multiplyAdds, MIN_PARALLEL_MULTIPLY_ADDS, ROW_TILE, CHUNKS_PER_THREAD);
    const computeRows = (rowStart: number, rowEnd: number): void =>
      linearTiled(out, x, prepared, bias, rowStart, rowEnd, activation);
    if (chunkRows >= rows) {
      computeRows(0, rows);
      return;
    }
    const biasId = bias === null ? -1 : this.stageBias(bias);
    this.pool.run({
      command: Command.Linear,
      rows,
      chunkRows,
      multiplyAdds,
      writeFields(control) {
        Atomics.store(control, X_BUFFER, xId);
        Atomics.store(control, X_OFFSET, x.byteOffset / 4);
        Atomics.store(control, OUT_BUFFER, outId);
        Atomics.store(control, OUT_OFFSET, out.byteOffset / 4);
        Atomics.store(control, WEIGHT_BUFFER, weightId);
        Atomics.store(control, BIAS_BUFFER, biasId);
        Atomics.store(control, ACTIVATION, activation === 'gelu' ? 1 : 0);
      },
      computeRows,
    });
  }

  /** Shares the batch's (sequence, head) pairs between the threads (see LinearWorkerPool.attention). */
  attention(context: Float32Array, qkv: Float32Array, sequenceStarts: Int32Array, shape: AttentionShape, scratch: AttentionScratch): void {
    const views = {
      qkvBuffer: this.idOf(qkv, 'qkv'),
      qkvOffset: qkv.byteOffset / 4,
      contextBuffer: this.idOf(context, 'context'),
      contextOffset: context.byteOffset / 4,
      kernel: AttentionKernel.Js,
      minMultiplyAdds: MIN_PARALLEL_MULTIPLY_ADDS,
    };
    this.pool.attention(context, qkv, sequenceStarts, shape, scratch, views, (start, length, head) =>
      attentionHeadFast(context, qkv, start, length, shape, scratch, head),
    );
  }

  dispose(): void {
    this.pool.dispose();
  }

  private register(buffer: SharedArrayBuffer): number {
    const id = this.nextBufferId++;
    this.bufferIds.set(buffer, id);
    this.pool.post({ type: 'register', id, buffer });
    this.released.register(buffer, id);
    return id;
  }

  private stageBias(bias: Float32Array): number {
    if (this.biasScratch.length < bias.length) {
      const buffer = new SharedArrayBuffer(bias.length * 4);
      this.biasScratch = new Float32Array(buffer);
      this.biasScratchId = this.register(buffer);
    }
    this.biasScratch.set(bias);
    return this.biasScratchId;
  }

  private idOf(array: Float32Array, name: string): number {
    const id = this.bufferIds.get(array.buffer);
    if (id === undefined) {
      throw new ThreadedBackendError(`${name} was not allocated by this backend: use backend.allocate() for activations`);
    }
    return id;
  }
}
