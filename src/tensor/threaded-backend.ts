/**
 * The threaded backend: `linearTiled` (linear-packed.ts) with the rows of each call shared
 * between the calling thread and `threads − 1` workers, over SharedArrayBuffer memory.
 *
 *   const backend = await createThreadedBackend({ threads: 2, spawnWorker });   // async: starts workers
 *   const w = backend.prepare(weight, outFeatures, inFeatures);               // copied once, shared
 *   const x = backend.allocate(rows * inFeatures), out = backend.allocate(rows * outFeatures);
 *   backend.linear(out, x, w, bias, rows, 'gelu');                              // synchronous
 *   backend.dispose();                                                          // ends the workers
 *
 * Memory. Every weight (copied at `prepare` as is, in its [outFeatures, inFeatures] layout, with
 * no repacking: workers cannot read the checkpoint's ordinary ArrayBuffer) and every activation
 * buffer (from `allocate`) is its own SharedArrayBuffer, posted once to each worker and then
 * named by a number. One buffer per allocation rather than one growing arena: nothing to grow
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
 * Left out: a thread pool shared between backends, work on anything but the linear layers.
 */

import type { LinearActivation, LinearBackend, PreparedLinear } from './backend.ts';
import { checkLinearArguments, linearTiled, wrapLinearWeight, type LinearWeightView } from './linear-packed.ts';
import {
  ACKNOWLEDGED,
  ACTIVATION,
  BIAS_BUFFER,
  CHUNK_ROWS,
  CLAIM,
  COMMAND,
  CONTROL_LENGTH,
  Command,
  FAILED,
  FINISHED,
  GENERATION,
  MAX_CHUNKS,
  OUT_BUFFER,
  OUT_OFFSET,
  ROWS,
  WEIGHT_BUFFER,
  WORKER_ROWS,
  X_BUFFER,
  X_OFFSET,
  claimChunk,
  claimWord,
  closedClaimWord,
  spinWhileEqual,
} from './linear-worker.ts';
import { spawnWebLinearWorker, type LinearWorkerHandle, type SpawnLinearWorker } from './worker-spawn.ts';

export interface ThreadedBackendOptions {
  /** Threads computing each linear call, the calling thread included: an integer ≥ 1. */
  threads: number;
  /**
   * Starts one worker. Default: the Web Worker API (browsers, Deno, Bun). Node has no global
   * Worker: pass `spawnNodeLinearWorker` from the Node adapter.
   */
  spawnWorker?: SpawnLinearWorker;
}

export interface ThreadedBackend extends LinearBackend {
  readonly threads: number;
  /** Rows computed by the workers (not the calling thread) so far: shows whether sharing happens. */
  readonly rowsComputedByWorkers: number;
}

/** Misuse of the threaded backend or failure of one of its workers. */
export class ThreadedBackendError extends Error {
  override name = 'ThreadedBackendError';
}

/** Below this many multiply-adds (~0.1 ms of work) a call runs on the calling thread alone. */
const MIN_PARALLEL_MULTIPLY_ADDS = 1 << 17;
/** Chunks per thread: enough for a slow thread to hand its share over, few enough to be cheap. */
const CHUNKS_PER_THREAD = 4;
/** How long the caller spins before sleeping while it waits for the workers' last rows. */
const CALLER_SPIN_MS = 0.5;
/** Workers load their module (and, from TypeScript sources under Node < 22, a compiler) first. */
const WORKER_START_TIMEOUT_MS = 60_000;
/** A worker that has not finished after this long (plus time for the work itself) is taken for dead. */
const WORKER_TIMEOUT_MS = 60_000;
const MULTIPLY_ADDS_PER_MS_AT_WORST = 100_000; // 0.1 GMAC/s: far below any real machine

/** Starts the workers and resolves once all of them are ready. */
export async function createThreadedBackend(options: ThreadedBackendOptions): Promise<ThreadedBackend> {
  const { threads } = options;
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > 256) {
    throw new ThreadedBackendError(`threads must be an integer from 1 to 256, got ${threads}`);
  }
  if (typeof SharedArrayBuffer === 'undefined') {
    throw new ThreadedBackendError(
      'SharedArrayBuffer is not available; browsers provide it only to cross-origin-isolated pages ' +
        '(Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp)',
    );
  }
  if (threads > 1 && !threadCanBlock()) {
    throw new ThreadedBackendError(
      'this thread may not block in Atomics.wait (a browser page\'s main thread): create the backend inside a Worker',
    );
  }
  const backend = new ThreadedLinearBackend(threads);
  try {
    if (threads > 1) await backend.start(options.spawnWorker ?? defaultSpawner());
  } catch (error) {
    backend.dispose();
    throw error instanceof ThreadedBackendError
      ? error
      : new ThreadedBackendError(`could not start linear workers: ${describe(error)}`, { cause: error });
  }
  return backend;
}

class ThreadedLinearBackend implements ThreadedBackend {
  readonly name = 'threaded';
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_LENGTH * 4)); // see linear-worker.ts
  private workers: LinearWorkerHandle[] = [];
  /** Registration number of every SharedArrayBuffer made by this backend. */
  private readonly bufferIds = new WeakMap<ArrayBufferLike, number>();
  private nextBufferId = 0;
  /** True when workers have messages (new or released buffers) they have not read yet. */
  private unsynced = false;
  private readonly released = new FinalizationRegistry<number>((id) => this.release(id));
  private biasScratch: Float32Array = new Float32Array(0); // [≥ outFeatures], shared copy of the current bias
  private biasScratchId = -1;
  private generation = 0;
  private failure: string | null = null; // why the backend can no longer be used
  private lastWorkerError: string | null = null;
  private disposed = false;

  readonly threads: number;

  constructor(threads: number) {
    this.threads = threads;
  }

  get rowsComputedByWorkers(): number {
    return Atomics.load(this.control, WORKER_ROWS);
  }

  async start(spawn: SpawnLinearWorker): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 1; i < this.threads; i++) {
      const worker = spawn();
      this.workers.push(worker);
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.onMessage((message) => {
            if (message.type === 'ready') resolve();
            else if (message.type === 'error') this.lastWorkerError = message.message;
          });
          worker.onError((error) => {
            this.failure ??= `linear worker ${i} failed: ${error.message}`;
            reject(error);
          });
        }),
      );
      worker.postMessage({ type: 'init', control: this.control.buffer as SharedArrayBuffer });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ThreadedBackendError(`linear workers did not start within ${WORKER_START_TIMEOUT_MS / 1000} s`)),
        WORKER_START_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([Promise.all(ready), timeout]);
    } finally {
      clearTimeout(timer);
    }
    for (const worker of this.workers) worker.unref();
  }

  prepare(weight: Float32Array, outFeatures: number, inFeatures: number): LinearWeightView {
    this.checkUsable();
    wrapLinearWeight(weight, outFeatures, inFeatures); // checks the sizes before anything is allocated
    const shared = new Float32Array(new SharedArrayBuffer(weight.length * 4)); // [outFeatures, inFeatures]
    shared.set(weight); // the same layout: a plain copy, no repacking
    const prepared = wrapLinearWeight(shared, outFeatures, inFeatures);
    this.register(shared.buffer as SharedArrayBuffer, { outFeatures, inFeatures });
    return prepared;
  }

  allocate(length: number): Float32Array {
    this.checkUsable();
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
    this.checkUsable();
    checkLinearArguments(out, x, prepared, bias, 0, rows, activation);
    const weightId = this.bufferIds.get(prepared.data.buffer);
    if (weightId === undefined) throw new ThreadedBackendError('weight was not prepared by this backend');
    const xId = this.idOf(x, 'x');
    const outId = this.idOf(out, 'out');
    if (rows === 0) return;

    const multiplyAdds = rows * prepared.inFeatures * prepared.outFeatures;
    const chunkRows = this.chunkRows(rows, multiplyAdds);
    if (chunkRows >= rows) {
      linearTiled(out, x, prepared, bias, 0, rows, activation);
      return;
    }
    const biasId = bias === null ? -1 : this.stageBias(bias);
    if (this.unsynced) this.sync();

    // Publish the job: close the old claim word before rewriting the fields, open the new one
    // after, bump the generation last (linear-worker.ts explains why this order).
    const control = this.control;
    const generation = this.nextGeneration();
    Atomics.store(control, CLAIM, closedClaimWord(generation));
    Atomics.store(control, X_BUFFER, xId);
    Atomics.store(control, X_OFFSET, x.byteOffset / 4);
    Atomics.store(control, OUT_BUFFER, outId);
    Atomics.store(control, OUT_OFFSET, out.byteOffset / 4);
    Atomics.store(control, WEIGHT_BUFFER, weightId);
    Atomics.store(control, BIAS_BUFFER, biasId);
    Atomics.store(control, ROWS, rows);
    Atomics.store(control, CHUNK_ROWS, chunkRows);
    Atomics.store(control, ACTIVATION, activation === 'gelu' ? 1 : 0);
    Atomics.store(control, FINISHED, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.store(control, CLAIM, claimWord(generation, 0));
    Atomics.store(control, COMMAND, Command.Linear);
    Atomics.store(control, GENERATION, generation);
    Atomics.notify(control, GENERATION);

    // Work alongside the workers, then wait for the rows they claimed.
    const chunkCount = Math.ceil(rows / chunkRows);
    for (let chunk = claimChunk(control, generation, chunkCount); chunk !== -1; chunk = claimChunk(control, generation, chunkCount)) {
      const rowStart = chunk * chunkRows;
      const rowEnd = Math.min(rows, rowStart + chunkRows);
      try {
        linearTiled(out, x, prepared, bias, rowStart, rowEnd, activation);
      } finally {
        Atomics.add(control, FINISHED, rowEnd - rowStart); // counted even on failure: the wait must end
      }
    }
    this.waitUntilAtLeast(FINISHED, rows, WORKER_TIMEOUT_MS + multiplyAdds / MULTIPLY_ADDS_PER_MS_AT_WORST);
    if (Atomics.load(control, FAILED) !== 0) {
      throw new ThreadedBackendError(`a linear worker failed to compute its rows${this.lastWorkerErrorText()}`);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.workers.length > 0) {
      Atomics.store(this.control, COMMAND, Command.Exit);
      Atomics.store(this.control, GENERATION, this.nextGeneration());
      Atomics.notify(this.control, GENERATION);
    }
    for (const worker of this.workers) worker.terminate();
    this.workers = [];
  }

  /** Rows per chunk, or `rows` when the call is too small to share. */
  private chunkRows(rows: number, multiplyAdds: number): number {
    if (this.workers.length === 0 || rows < 2 || multiplyAdds < MIN_PARALLEL_MULTIPLY_ADDS) return rows;
    let chunkRows = Math.ceil(rows / (this.threads * CHUNKS_PER_THREAD));
    chunkRows += chunkRows & 1; // even: the kernel's tile is 2 rows
    return Math.max(chunkRows, Math.ceil(rows / MAX_CHUNKS));
  }

  private register(buffer: SharedArrayBuffer, weight?: { outFeatures: number; inFeatures: number }): number {
    const id = this.nextBufferId++;
    this.bufferIds.set(buffer, id);
    for (const worker of this.workers) {
      worker.postMessage(weight === undefined ? { type: 'register', id, buffer } : { type: 'register', id, buffer, weight });
    }
    if (this.workers.length > 0) this.unsynced = true;
    this.released.register(buffer, id);
    return id;
  }

  /** Called by the garbage collector's FinalizationRegistry once a buffer is unreachable here. */
  private release(id: number): void {
    if (this.disposed || this.workers.length === 0) return;
    for (const worker of this.workers) worker.postMessage({ type: 'release', id });
    this.unsynced = true;
  }

  /** Lets every worker read its pending messages (they sleep in Atomics.wait, not in their event loop). */
  private sync(): void {
    const control = this.control;
    const generation = this.nextGeneration();
    Atomics.store(control, ACKNOWLEDGED, 0);
    for (const worker of this.workers) worker.postMessage({ type: 'resume', generation });
    Atomics.store(control, CLAIM, closedClaimWord(generation));
    Atomics.store(control, COMMAND, Command.Sync);
    Atomics.store(control, GENERATION, generation);
    Atomics.notify(control, GENERATION);
    this.waitUntilAtLeast(ACKNOWLEDGED, this.workers.length, WORKER_TIMEOUT_MS);
    this.unsynced = false;
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

  /** Spins, then sleeps in slices, until control[index] ≥ target; a dead worker ends in an error. */
  private waitUntilAtLeast(index: number, target: number, timeoutMs: number): void {
    const control = this.control;
    const deadline = performance.now() + timeoutMs;
    let value = Atomics.load(control, index);
    if (value < target && spinWhileEqual(control, index, value, CALLER_SPIN_MS)) value = Atomics.load(control, index);
    while (value < target) {
      if (performance.now() > deadline) {
        this.failure = `a linear worker did not answer within ${Math.round(timeoutMs / 1000)} s${this.lastWorkerErrorText()}`;
        throw new ThreadedBackendError(this.failure);
      }
      Atomics.wait(control, index, value, 50);
      value = Atomics.load(control, index);
    }
  }

  private nextGeneration(): number {
    this.generation = (this.generation + 1) & 0x7fffffff || 1; // never 0: workers start having seen 0
    return this.generation;
  }

  private checkUsable(): void {
    if (this.disposed) throw new ThreadedBackendError('the backend was disposed');
    if (this.failure !== null) throw new ThreadedBackendError(`the backend is unusable: ${this.failure}`);
  }

  private lastWorkerErrorText(): string {
    return this.lastWorkerError === null ? '' : ` (worker said: ${this.lastWorkerError})`;
  }
}

function defaultSpawner(): SpawnLinearWorker {
  if (typeof Worker === 'function') return spawnWebLinearWorker;
  throw new ThreadedBackendError(
    'no Web Worker API here: pass spawnWorker (in Node: spawnNodeLinearWorker from the Node adapter)',
  );
}

/** False where Atomics.wait throws: a browser page's main thread. */
function threadCanBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // returns "not-equal" at once
    return true;
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
