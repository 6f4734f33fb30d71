/**
 * The calling thread's side of the linear workers: starts them, posts them messages, and runs a
 * job whose rows the calling thread and the workers share (protocol in linear-worker.ts).
 *
 * Two backends run on it, each with its own kernel and memory:
 *   - the threaded JS backend (threaded-backend.ts): `linearTiled` over SharedArrayBuffers;
 *   - the SIMD backend with threads (simd/simd-backend.ts): the WebAssembly kernel, each worker
 *     its own instance over the one shared WebAssembly.Memory.
 * The pool knows neither kernel: a backend writes its job's fields into the control block and
 * passes the function that computes a range of rows on the calling thread; workers compute their
 * ranges with the same kernel, so results do not depend on who took which rows.
 */

import { checkBatchAttention, computeAttentionItems, type AttentionScratch, type AttentionShape } from './attention.ts';
import {
  ACKNOWLEDGED,
  ATTENTION_HEADS,
  ATTENTION_HEAD_SIZE,
  ATTENTION_KERNEL,
  ATTENTION_TOKENS,
  OUT_BUFFER,
  OUT_OFFSET,
  X_BUFFER,
  X_OFFSET,
  CLAIM,
  COMMAND,
  CONTROL_LENGTH,
  CHUNK_ROWS,
  Command,
  FAILED,
  FINISHED,
  GENERATION,
  MAX_CHUNKS,
  ROWS,
  STARTED,
  WORKER_ROWS,
  claimChunk,
  claimWord,
  closedClaimWord,
  spinWhileEqual,
  type ToWorkerMessage,
} from './linear-worker.ts';
import { spawnWebLinearWorker, type LinearWorkerHandle, type SpawnLinearWorker } from './worker-spawn.ts';

/** Misuse of a threaded backend or failure of one of its workers. */
export class ThreadedBackendError extends Error {
  override name = 'ThreadedBackendError';
}

/** How long the caller spins before sleeping while it waits for the workers' last rows. */
const CALLER_SPIN_MS = 0.5;
/** Workers load their module (and, from TypeScript sources under Node < 22, a compiler) first. */
const WORKER_START_TIMEOUT_MS = 60_000;
/** A worker that has not finished after this long (plus time for the work itself) is taken for dead. */
const WORKER_TIMEOUT_MS = 60_000;
const MULTIPLY_ADDS_PER_MS_AT_WORST = 100_000; // 0.1 GMAC/s: far below any real machine
/**
 * With `waitForWorkers: false`, the workers start once the calls have asked for this much work
 * (multiply-adds counted from the pool's creation, the current call's included): about one short
 * sentence's forward pass (15 tokens: 1.6e8), or the first matmul of a larger batch (32 short
 * sentences: 2.1e8 in their Q, K, V projection alone).
 *
 * Why not at creation: on 2 cores, a starting worker (about 35 ms of CPU before it runs our code,
 * 50-90 ms of wall time) competes with the calling thread's own start, whose freshly loaded code
 * is compiled on V8's background threads. Measured, JS backend, 2 threads, loadSentenceEncoder
 * then one 15-token sentence (medians of 5 processes): workers started at creation, weights
 * ready 45 ms and first embedding 155 ms; started here, 40.5 ms and 127 ms; a worker that never
 * starts, 39 ms and 125 ms. A worker cannot help that first pass either: it joins halfway
 * through, with its own code cold (first embedding about 150 ms whether it joined or not). The
 * cost: embeddings 2 and 3 run while the worker starts (104 and 72 ms instead of 65 and 52 ms);
 * a large first call starts the workers at its first matmul and loses nothing.
 */
export const START_WORKERS_AFTER_MULTIPLY_ADDS = 150_000_000;

/** Where an attention job's qkv and context are for the workers (a buffer number and a float offset), and which kernel they run. */
export interface AttentionViews {
  qkvBuffer: number;
  qkvOffset: number;
  contextBuffer: number;
  contextOffset: number;
  /** AttentionKernel.Js (attention-fast.ts) or AttentionKernel.Simd (simd/simd-attention.ts). */
  kernel: number;
  /** Below this many multiply-adds the step stays on the calling thread (about 0.1 ms of its kernel). */
  minMultiplyAdds: number;
}

/** One job for `LinearWorkerPool.run`. */
export interface RowJob {
  command: (typeof Command)['Linear' | 'SimdLinear' | 'Attention'];
  rows: number;
  /** Rows per chunk handed out (a multiple of the kernel's row tile). */
  chunkRows: number;
  /** rows × inFeatures × outFeatures: bounds how long the wait for the workers may take. */
  multiplyAdds: number;
  /** Writes the job's own fields (buffers, addresses, sizes) into the control block with Atomics.store. */
  writeFields(control: Int32Array): void;
  /** Computes rows [rowStart, rowEnd) on the calling thread. */
  computeRows(rowStart: number, rowEnd: number): void;
}

export class LinearWorkerPool {
  /** The shared control block (layout in linear-worker.ts). */
  readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_LENGTH * 4));
  private workers: LinearWorkerHandle[] = [];
  /** The spawner of workers not started yet (`waitForWorkers: false`: see START_WORKERS_AFTER_MULTIPLY_ADDS). */
  private pendingStart: SpawnLinearWorker | null = null;
  /** Multiply-adds asked for while the workers were not started. */
  private workRequested = 0;
  /** Messages posted before the workers started: each new worker gets them, in order, after 'init'. */
  private messagesBeforeStart: ((workerIndex: number) => ToWorkerMessage)[] = [];
  /**
   * False until every worker has said it is ready: until then every job runs on the calling
   * thread alone (see `start`'s waitForWorkers). Messages posted meanwhile wait in the workers' queues.
   */
  private workersJoined = false;
  /** True when workers have messages they have not read yet (they sleep outside their event loop). */
  private unsynced = false;
  private generation = 0;
  /** Int32 values a job needs beyond the control block (an attention job's sequence starts). */
  private jobData = new Int32Array(new SharedArrayBuffer(64 * 4));
  private failure: string | null = null; // why the pool can no longer be used
  private lastWorkerError: string | null = null;
  private disposed = false;
  /** While the workers start: ends that wait (see spawnWorkers). */
  private endStartWait: (() => void) | null = null;

  private constructor(readonly threads: number) {}

  /**
   * Starts `threads − 1` workers; with threads = 1 the pool has no workers and every job runs on
   * the calling thread.
   *
   * `waitForWorkers` (default true): start the workers now and resolve once every one is ready,
   * so that the first job already shares its rows; a worker that cannot start rejects here. With
   * false the pool is returned at once, and starts its workers only once its calls have asked for
   * START_WORKERS_AFTER_MULTIPLY_ADDS of work: jobs run on the calling thread alone until then
   * and until all workers are ready (a worker takes 50-180 ms to start, longer than a short
   * embedding on one thread); a worker that cannot start makes a later job throw.
   */
  static async start(
    threads: number,
    spawnWorker: SpawnLinearWorker | undefined,
    { waitForWorkers = true }: { waitForWorkers?: boolean | undefined } = {},
  ): Promise<LinearWorkerPool> {
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
    const pool = new LinearWorkerPool(threads);
    if (threads === 1) return pool;
    const spawner = spawnWorker ?? defaultSpawner();
    if (!waitForWorkers) {
      pool.pendingStart = spawner;
      return pool;
    }
    try {
      await pool.spawnWorkers(spawner);
    } catch (error) {
      pool.dispose();
      throw startFailure(error);
    }
    return pool;
  }

  /**
   * Counts a call's work toward starting the workers (`waitForWorkers: false`), and starts them
   * once START_WORKERS_AFTER_MULTIPLY_ADDS is reached. They join a later job, when all are ready.
   */
  private countWork(multiplyAdds: number): void {
    if (this.pendingStart === null) return;
    this.workRequested += multiplyAdds;
    if (this.workRequested < START_WORKERS_AFTER_MULTIPLY_ADDS) return;
    const spawner = this.pendingStart;
    this.pendingStart = null;
    this.spawnWorkers(spawner).catch((error: unknown) => {
      this.failure ??= startFailure(error).message;
    });
  }

  /** Rows computed by the workers (not the calling thread) so far: shows whether sharing happens. */
  get rowsComputedByWorkers(): number {
    return Atomics.load(this.control, WORKER_ROWS);
  }

  /** Posts a message to every worker; they read it before the next job. */
  post(message: ToWorkerMessage): void {
    this.postToEach(() => message);
  }

  /** Posts each worker its own message (`workerIndex` from 1: the calling thread is 0). */
  postToEach(message: (workerIndex: number) => ToWorkerMessage): void {
    if (this.pendingStart !== null) this.messagesBeforeStart.push(message);
    if (this.disposed || this.workers.length === 0) return;
    this.workers.forEach((worker, i) => worker.postMessage(message(i + 1)));
    this.unsynced = true;
  }

  /**
   * Rows per chunk for a call of `rows` rows, or `rows` when the call is too small to share
   * (fewer than `minMultiplyAdds`, about 0.1 ms of the kernel's work). `rowTile`: chunk starts
   * stay multiples of the kernel's row tile, so each row is computed the same way wherever it falls.
   * `chunksPerThread`: how finely the rows are cut. Threads claim chunks until none is left, so a
   * call ends up to one chunk after its first thread runs out of work: finer chunks shorten that
   * wait, and each chunk costs a claim and a call of the kernel. Each backend sets it for its kernel.
   * Asked once per call, it also counts the call's work toward starting the workers.
   */
  chunkRows(rows: number, multiplyAdds: number, minMultiplyAdds: number, rowTile: number, chunksPerThread: number): number {
    this.countWork(multiplyAdds);
    if (!this.haveWorkersJoined() || rows <= rowTile || multiplyAdds < minMultiplyAdds) return rows;
    const perChunk = Math.max(Math.ceil(rows / (this.threads * chunksPerThread)), Math.ceil(rows / MAX_CHUNKS));
    return Math.ceil(perChunk / rowTile) * rowTile;
  }

  /** Runs one job: publishes it, computes chunks alongside the workers, waits for all rows. */
  run(job: RowJob): void {
    this.checkUsable();
    const { rows, chunkRows } = job;
    if (rows === 0) return;
    if (chunkRows >= rows || !this.haveWorkersJoined()) {
      job.computeRows(0, rows);
      return;
    }
    if (this.unsynced) this.sync();

    // Publish the job: close the old claim word before rewriting the fields, open the new one
    // after, bump the generation last (linear-worker.ts explains why this order).
    const control = this.control;
    const generation = this.nextGeneration();
    Atomics.store(control, CLAIM, closedClaimWord(generation));
    job.writeFields(control);
    Atomics.store(control, ROWS, rows);
    Atomics.store(control, CHUNK_ROWS, chunkRows);
    Atomics.store(control, FINISHED, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.store(control, CLAIM, claimWord(generation, 0));
    Atomics.store(control, COMMAND, job.command);
    Atomics.store(control, GENERATION, generation);
    Atomics.notify(control, GENERATION);

    // Work alongside the workers, then wait for the rows they claimed.
    const chunkCount = Math.ceil(rows / chunkRows);
    for (let chunk = claimChunk(control, generation, chunkCount); chunk !== -1; chunk = claimChunk(control, generation, chunkCount)) {
      const rowStart = chunk * chunkRows;
      const rowEnd = Math.min(rows, rowStart + chunkRows);
      try {
        job.computeRows(rowStart, rowEnd);
      } finally {
        Atomics.add(control, FINISHED, rowEnd - rowStart); // counted even on failure: the wait must end
      }
    }
    this.waitUntilAtLeast(FINISHED, rows, WORKER_TIMEOUT_MS + job.multiplyAdds / MULTIPLY_ADDS_PER_MS_AT_WORST);
    if (Atomics.load(control, FAILED) !== 0) {
      throw new ThreadedBackendError(`a linear worker failed to compute its rows${this.lastWorkerErrorText()}`);
    }
  }

  /**
   * The attention step of a backend with this pool (see `LinearBackend.attention`): every
   * (sequence, head) pair of the batch, claimed one at a time by the calling thread and the
   * workers (pairs differ in cost with the sequence length, so small claims keep threads even).
   * `computeHead(start, length, head)` computes one pair on the calling thread; the workers run
   * the same kernel, named by `views.kernel`, on their own scratch.
   */
  attention(
    context: Float32Array,
    qkv: Float32Array,
    sequenceStarts: Int32Array,
    shape: AttentionShape,
    scratch: AttentionScratch,
    views: AttentionViews,
    computeHead: (start: number, length: number, head: number) => void,
  ): void {
    this.checkUsable();
    const multiplyAdds = checkBatchAttention(context, qkv, sequenceStarts, shape, scratch);
    this.countWork(multiplyAdds);
    const sequences = sequenceStarts.length - 1;
    const items = sequences * shape.numHeads;
    const computeItems = (first: number, end: number): void =>
      computeAttentionItems(sequenceStarts, shape.numHeads, first, end, computeHead);
    if (!this.haveWorkersJoined() || items < 2 || multiplyAdds < views.minMultiplyAdds) {
      computeItems(0, items);
      return;
    }
    this.setJobData(sequenceStarts);
    const tokens = sequenceStarts[sequences]!;
    this.run({
      command: Command.Attention,
      rows: items,
      chunkRows: Math.ceil(items / MAX_CHUNKS),
      multiplyAdds,
      writeFields(control) {
        Atomics.store(control, X_BUFFER, views.qkvBuffer);
        Atomics.store(control, X_OFFSET, views.qkvOffset);
        Atomics.store(control, OUT_BUFFER, views.contextBuffer);
        Atomics.store(control, OUT_OFFSET, views.contextOffset);
        Atomics.store(control, ATTENTION_HEADS, shape.numHeads);
        Atomics.store(control, ATTENTION_HEAD_SIZE, shape.headSize);
        Atomics.store(control, ATTENTION_TOKENS, tokens);
        Atomics.store(control, ATTENTION_KERNEL, views.kernel);
      },
      computeRows: computeItems,
    });
  }

  /** Copies `values` into the shared job data, first replacing it by a larger buffer if needed. */
  private setJobData(values: Int32Array): void {
    if (this.jobData.length < values.length) {
      const buffer = new SharedArrayBuffer(Math.max(values.length, 2 * this.jobData.length) * 4);
      this.jobData = new Int32Array(buffer);
      this.post({ type: 'jobData', buffer });
    }
    this.jobData.set(values);
  }

  /** Ends the workers. The pool must not be used afterwards; twice is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pendingStart = null;
    this.messagesBeforeStart = [];
    this.endStartWait?.();
    if (this.workers.length > 0) {
      Atomics.store(this.control, COMMAND, Command.Exit);
      Atomics.store(this.control, GENERATION, this.nextGeneration());
      Atomics.notify(this.control, GENERATION);
    }
    for (const worker of this.workers) worker.terminate();
    this.workers = [];
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Throws when the pool was disposed or a worker died. */
  checkUsable(): void {
    if (this.disposed) throw new ThreadedBackendError('the backend was disposed');
    if (this.failure !== null) throw new ThreadedBackendError(`the backend is unusable: ${this.failure}`);
  }

  private async spawnWorkers(spawn: SpawnLinearWorker): Promise<void> {
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
      // Read before 'init', after which the worker waits on the control block, not its messages.
      worker.postMessage({ type: 'jobData', buffer: this.jobData.buffer as SharedArrayBuffer });
      worker.postMessage({ type: 'init', control: this.control.buffer as SharedArrayBuffer });
      // Read at the first job it joins (see join), as is everything posted while it starts.
      for (const message of this.messagesBeforeStart) worker.postMessage(message(i));
    }
    this.messagesBeforeStart = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ThreadedBackendError(`linear workers did not start within ${WORKER_START_TIMEOUT_MS / 1000} s`)),
        WORKER_START_TIMEOUT_MS,
      );
    });
    // Disposing the pool ends the wait too (and its timer, which would keep a process alive).
    const disposed = new Promise<void>((resolve) => (this.endStartWait = resolve));
    try {
      await Promise.race([Promise.all(ready), timeout, disposed]);
    } finally {
      clearTimeout(timer);
      this.endStartWait = null;
    }
    for (const worker of this.workers) worker.unref();
    if (this.disposed) return;
    this.join();
  }

  /**
   * Whether every worker has started serving jobs. Their 'ready' messages say so, but a message
   * is only delivered when the caller's event loop turns, and a caller that embeds batch after
   * batch (awaiting only promises that are already resolved) may not let it turn for seconds:
   * the workers then sat idle through the first embeddings (measured, 2 threads, JS backend:
   * the second embedding of a process took 93-103 ms, against 58-64 ms once shared). So each
   * worker also counts itself in the control block (STARTED), read here without waiting.
   */
  private haveWorkersJoined(): boolean {
    // No workers (one thread, or disposed): nothing to join. A failed pool is refused by checkUsable before any job.
    if (!this.workersJoined && this.workers.length > 0 && Atomics.load(this.control, STARTED) === this.workers.length) {
      this.join();
    }
    return this.workersJoined;
  }

  private join(): void {
    if (this.workersJoined) return;
    this.workersJoined = true;
    this.unsynced = true; // the first shared job lets them read whatever was posted while they started
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

function startFailure(error: unknown): ThreadedBackendError {
  return error instanceof ThreadedBackendError
    ? error
    : new ThreadedBackendError(`could not start linear workers: ${describe(error)}`, { cause: error });
}
