/**
 * Micro-batching: token sequences from concurrent requests are queued and run through the model
 * together, so that many small requests cost a few forward passes instead of one each.
 *
 *   request A: [a1 a2]      ┐
 *   request B: [b1]         ├─ queue ─► batch [a1 a2 b1 c1 c2 c3] ─► embed ─► results split back
 *   request C: [c1 c2 c3]   ┘            (at most maxBatchSize sequences, maxBatchTokens tokens)
 *
 * While a batch runs, arrivals queue, and the next batch (everything waiting, up to the limits)
 * starts as soon as the previous one ends: under load, batches fill up by themselves, with no
 * added wait. When the model is idle, a request starts at once by default; `maxWaitMs` > 0 makes
 * it wait that long for company first (or until `maxBatchSize` sequences are waiting). Measured
 * (bench/server-load.ts), the wait did not pay: under load batches form without it, and on an
 * idle server it only adds latency. A large request is cut across several batches; first come,
 * first served.
 *
 * The queue is bounded: `submit` refuses (QueueFullError) a request whose sequences would take
 * the waiting count past `maxQueuedSequences`, so overload turns into quick refusals instead of
 * an ever longer wait and an ever larger heap. A request can be withdrawn with an AbortSignal
 * (timeout, client gone): its sequences still waiting leave the queue at once.
 *
 * With `mergeRequests: false` every batch holds sequences of one request only: the
 * one-request-at-a-time baseline the benchmarks compare against.
 *
 * The forward pass runs on the calling thread and holds its event loop for its duration, which
 * the token limit bounds: no socket is read and no timer fires meanwhile (the server's keep-alive
 * timeout is set well above it).
 *
 * Left out: priorities, and running two batches at once (one model per process, whose matmul
 * threads already share each batch; more throughput comes from more processes, docs/server.md).
 */

import type { TokenSequence } from '../model/token-batch.ts';

/** Runs one batch through the model: one embedding per sequence, in order. */
export type EmbedBatch = (batch: TokenSequence[]) => Promise<Float32Array[]>;

export interface MicroBatcherOptions {
  /** Most sequences in one forward pass. Default 64. */
  maxBatchSize?: number;
  /**
   * Most tokens (sum of sequence lengths) in one forward pass; a longer single sequence runs
   * alone. Default 2048: a forward pass holds the event loop, and about 21 MFLOP per token
   * (all-MiniLM-L6-v2) makes 2048 tokens a few seconds on one core.
   */
  maxBatchTokens?: number;
  /** Longest wait for company when the model is idle, in milliseconds. Default 0 (start at once). */
  maxWaitMs?: number;
  /** Most sequences waiting (not yet in a batch). Default 8192. */
  maxQueuedSequences?: number;
  /** Merge sequences of different requests into one batch. Default true. */
  mergeRequests?: boolean;
}

export const MICRO_BATCHER_DEFAULTS: Readonly<Required<MicroBatcherOptions>> = Object.freeze({
  maxBatchSize: 64,
  maxBatchTokens: 2048,
  maxWaitMs: 0,
  maxQueuedSequences: 8192,
  mergeRequests: true,
});

/** The queue cannot take a request now; the server answers 503 with Retry-After. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

/** One submitted request: its sequences, how far they have been handed out, and their results. */
interface Job {
  sequences: readonly (readonly number[])[];
  /** Index of the first sequence not yet put in a batch. */
  next: number;
  results: Float32Array[];
  /** Sequences whose result has arrived. */
  finished: number;
  settled: boolean;
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: unknown) => void;
  detach: () => void;
}

/** A sequence of a batch, with the request it belongs to and its index there. */
interface BatchEntry {
  job: Job;
  index: number;
}

export class MicroBatcher {
  private readonly embed: EmbedBatch;
  private readonly options: Required<MicroBatcherOptions>;
  /** Jobs with sequences not yet in a batch, oldest first. */
  private readonly queue: Job[] = [];
  /** Sequences waiting in `queue`. */
  private waiting = 0;
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** A start is scheduled with setImmediate. */
  private startPending = false;
  private idleWaiters: Array<() => void> = [];
  /** Counters for /health and the benchmarks. */
  readonly stats = { batches: 0, sequences: 0, largestBatch: 0 };

  constructor(embed: EmbedBatch, options: MicroBatcherOptions = {}) {
    this.embed = embed;
    this.options = { ...MICRO_BATCHER_DEFAULTS, ...withoutUndefined(options) };
    const { maxBatchSize, maxBatchTokens, maxWaitMs, maxQueuedSequences } = this.options;
    for (const [name, value] of Object.entries({ maxBatchSize, maxBatchTokens, maxQueuedSequences })) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`MicroBatcher: ${name} must be a positive integer, got ${value}`);
    }
    if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) throw new RangeError(`MicroBatcher: maxWaitMs must be >= 0, got ${maxWaitMs}`);
  }

  /** Sequences waiting for a batch. */
  get queuedSequences(): number {
    return this.waiting;
  }

  get maxQueuedSequences(): number {
    return this.options.maxQueuedSequences;
  }

  /** Whether a batch is running or waiting to start. */
  get busy(): boolean {
    return this.running || this.startPending || this.queue.length > 0;
  }

  /**
   * Queues the sequences of one request; resolves with their embeddings in order. Throws
   * QueueFullError at once when they do not fit; rejects with `signal.reason` if aborted first.
   */
  submit(sequences: readonly (readonly number[])[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (sequences.length === 0) return Promise.resolve([]);
    if (this.waiting + sequences.length > this.options.maxQueuedSequences) {
      throw new QueueFullError(
        `the queue holds ${this.waiting} inputs and takes at most ${this.options.maxQueuedSequences}; this request has ${sequences.length}`,
      );
    }
    signal?.throwIfAborted();
    return new Promise<Float32Array[]>((resolve, reject) => {
      const job: Job = {
        sequences,
        next: 0,
        results: new Array<Float32Array>(sequences.length),
        finished: 0,
        settled: false,
        resolve,
        reject,
        detach: () => {},
      };
      if (signal !== undefined) {
        const onAbort = (): void => this.withdraw(job, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(job);
      this.waiting += sequences.length;
      this.schedule();
    });
  }

  /** Resolves when nothing is queued or running (used by graceful shutdown). */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Start soon if a full batch waits (or waiting is off), else within maxWaitMs. "Soon" is after
   * the event loop has read every request already waiting on a socket (setImmediate runs after
   * the I/O phase): starting at once, inside the first request's callback, would hold the loop
   * for a whole forward pass with the others unread, and batches would stay small.
   */
  private schedule(): void {
    if (this.running || this.queue.length === 0 || this.startPending) return;
    const { maxWaitMs, maxBatchSize, mergeRequests } = this.options;
    if (maxWaitMs === 0 || !mergeRequests || this.waiting >= maxBatchSize) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.startPending = true;
      setImmediate(() => {
        this.startPending = false;
        void this.run();
      });
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.run();
      }, maxWaitMs);
    }
  }

  /** Runs batches until the queue is empty. Only one run is active at a time. */
  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        await this.runBatch(batch);
        // Let sockets be read between batches, so requests that arrived meanwhile join the next one.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0) {
        this.schedule();
      } else {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const wake of waiters) wake();
      }
    }
  }

  /** Takes sequences from the oldest jobs, within the size and token limits (at least one). */
  private takeBatch(): BatchEntry[] {
    const { maxBatchSize, maxBatchTokens, mergeRequests } = this.options;
    const batch: BatchEntry[] = [];
    let tokens = 0;
    while (this.queue.length > 0 && batch.length < maxBatchSize) {
      const job = this.queue[0]!;
      const length = job.sequences[job.next]!.length;
      if (batch.length > 0 && tokens + length > maxBatchTokens) break;
      batch.push({ job, index: job.next });
      tokens += length;
      job.next++;
      this.waiting--;
      if (job.next === job.sequences.length) {
        this.queue.shift();
        if (!mergeRequests) break;
      }
    }
    return batch;
  }

  private async runBatch(batch: BatchEntry[]): Promise<void> {
    this.stats.batches++;
    this.stats.sequences += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    let vectors: Float32Array[];
    try {
      vectors = await this.embed(batch.map(({ job, index }) => ({ inputIds: job.sequences[index]! })));
      if (vectors.length !== batch.length) {
        throw new Error(`the model returned ${vectors.length} embeddings for a batch of ${batch.length}`);
      }
    } catch (error) {
      for (const { job } of batch) this.fail(job, error);
      return;
    }
    batch.forEach(({ job, index }, b) => {
      if (job.settled) return;
      job.results[index] = vectors[b]!;
      job.finished++;
      if (job.finished === job.sequences.length) {
        job.settled = true;
        job.detach();
        job.resolve(job.results);
      }
    });
  }

  /** An aborted request: its waiting sequences leave the queue; results still computing are dropped. */
  private withdraw(job: Job, reason: unknown): void {
    if (job.settled) return;
    const at = this.queue.indexOf(job);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.waiting -= job.sequences.length - job.next;
    }
    this.fail(job, reason);
  }

  private fail(job: Job, error: unknown): void {
    if (job.settled) return;
    job.settled = true;
    job.detach();
    job.reject(error);
  }
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
