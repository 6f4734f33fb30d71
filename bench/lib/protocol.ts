/**
 * The measurement protocol every engine runner follows, so that all engines do the same work:
 *
 *   1. load, in three timed steps: import the engine, make the weights ready, embed one sentence;
 *   2. latency: 10 warm-up calls of one sentence, then 50 calls timed one by one;
 *   3. short sentences in batches of 32, with the RSS sampled every 5 ms;
 *   4. passages in batches of 16;
 *   5. mixed lengths in batches of 16 (see `workloads.ts`);
 *   6. checks, untimed: every vector finite and of unit norm, batched equals alone, and the
 *      embeddings of the first short sentence and of "hello world" for the cross-engine check.
 *
 * Before each throughput workload the engine embeds its first batch once, untimed, so that
 * buffers sized by the largest batch seen are allocated before the clock starts, for every
 * engine alike. Each engine runs in its own fresh process (`bench/run.ts`): nothing left by one
 * engine (JIT state, memory, threads) reaches another.
 */

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BenchArgumentError, intOption, parseArgs } from './args.ts';
import { readPeakRssFromProc, startRssSampler } from './memory.ts';
import { corpusPath, modelFilesDir } from './paths.ts';
import type { EngineIdentity, RunnerOutput, RunnerResult, ThroughputResult } from './result.ts';
import { RESULT_LINE_PREFIX } from './result.ts';
import { median, percentile } from './stats.ts';
import type { BatchedWorkload, BenchSequence, Workloads } from './workloads.ts';
import { batches, buildWorkloads, countTokens, paddingFraction, readCorpus, readVocab } from './workloads.ts';

/** An engine ready to measure: one pooled, L2-normalised vector per input sequence. */
export interface BenchEngine {
  embed(batch: BenchSequence[]): Promise<Float32Array[]>;
  /**
   * Engines that tokenize the text themselves: how many of these sequences their tokenizer turns
   * into ids other than the corpus ids (then they did not compute on the same inputs).
   */
  countTokenizerMismatches?(sequences: BenchSequence[]): Promise<number>;
  dispose(): Promise<void> | void;
}

export interface RunnerOptions {
  threads: number;
  quick: boolean;
  /** ONNX file (peers). */
  onnx: string | undefined;
  /** A prepared model folder (minilm-ts: the synthetic checkpoint; Transformers.js: its layout). */
  modelDir: string | undefined;
  /** minilm-ts matmul backend. */
  backend: string | undefined;
}

export class EngineResultError extends Error {
  override name = 'EngineResultError';
}

export function parseRunnerOptions(argv: readonly string[]): RunnerOptions {
  const args = parseArgs(argv, { threads: 'string', quick: 'flag', onnx: 'string', 'model-dir': 'string', backend: 'string' });
  return {
    threads: intOption(args, 'threads', 1),
    quick: args.flags.has('quick'),
    onnx: args.values.get('onnx'),
    modelDir: args.values.get('model-dir'),
    backend: args.values.get('backend'),
  };
}

export function loadWorkloads(quick: boolean): Workloads {
  const vocab = readVocab(path.join(modelFilesDir, 'vocab.txt'));
  return buildWorkloads(readCorpus(corpusPath), vocab, quick);
}

/** Times the load steps; create it first thing in a runner. */
export class LoadClock {
  readonly runnerStartMs = performance.now();
  importMs = Number.NaN;
  weightsMs = Number.NaN;

  async importStep<T>(load: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const value = await load();
    this.importMs = performance.now() - start;
    return value;
  }

  async weightsStep<T>(load: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const value = await load();
    this.weightsMs = performance.now() - start;
    return value;
  }
}

export async function runProtocol(
  identity: EngineIdentity,
  engine: BenchEngine,
  clock: LoadClock,
  workloads: Workloads,
  quick: boolean,
): Promise<RunnerResult> {
  if (!Number.isFinite(clock.importMs) || !Number.isFinite(clock.weightsMs)) {
    throw new Error('the runner must time its import and weights steps before running the protocol');
  }
  let dimensions = 0;
  let badVectors = 0;
  const checked = (vectors: Float32Array[], inputs: BenchSequence[]): Float32Array[] => {
    if (vectors.length !== inputs.length) {
      throw new EngineResultError(`${identity.engine} returned ${vectors.length} vectors for ${inputs.length} inputs`);
    }
    for (const v of vectors) {
      if (dimensions === 0) dimensions = v.length;
      if (v.length !== dimensions) throw new EngineResultError(`${identity.engine} returned vectors of ${v.length} and ${dimensions} dimensions`);
      if (!isUnitVector(v)) badVectors++;
    }
    return vectors;
  };

  // 1. First embedding (the last load step).
  const firstSentence = workloads.short.sequences[0]!;
  let start = performance.now();
  const [firstOutput] = await engine.embed([firstSentence]);
  const firstEmbeddingMs = performance.now() - start;
  const readyAtMs = performance.now();
  const [firstShort] = checked([firstOutput!.slice()], [firstSentence]);

  // 2. One-sentence latency.
  for (const sequence of workloads.latencyWarmup) checked(await engine.embed([sequence]), [sequence]);
  const latencies: number[] = [];
  for (const sequence of workloads.latencyMeasured) {
    start = performance.now();
    checked(await engine.embed([sequence]), [sequence]);
    latencies.push(performance.now() - start);
  }

  // 3-5. Throughput; the RSS sampler watches the short-sentence workload.
  const sampler = await startRssSampler(5);
  const short = await measureThroughput(engine, workloads.short, checked);
  const rss = await sampler.stop();
  const passages = await measureThroughput(engine, workloads.passages, checked);
  const mixed = await measureThroughput(engine, workloads.mixed, checked);

  // 6. Checks, untimed.
  const firstInBatch = short.vectors[0]!;
  const firstMixedBatch = workloads.mixed.sequences.slice(0, workloads.mixed.batchSize);
  const mostPadded = indexOfShortest(firstMixedBatch);
  const [mostPaddedAlone] = checked(await engine.embed([firstMixedBatch[mostPadded]!]), [firstMixedBatch[mostPadded]!]);
  const [helloWorld] = checked(await engine.embed([workloads.helloWorld]), [workloads.helloWorld]);
  const everyInput = [workloads.short, workloads.passages, workloads.mixed].flatMap((w) => w.sequences);
  const tokenizerMismatches = engine.countTokenizerMismatches ? await engine.countTokenizerMismatches(everyInput) : null;
  await engine.dispose();

  return {
    kind: 'result',
    ...identity,
    quick,
    load: {
      runnerStartMs: clock.runnerStartMs,
      importMs: clock.importMs,
      weightsMs: clock.weightsMs,
      firstEmbeddingMs,
      totalMs: clock.importMs + clock.weightsMs + firstEmbeddingMs,
      readyAtMs,
    },
    latency: {
      warmupCalls: workloads.latencyWarmup.length,
      calls: latencies.length,
      medianMs: median(latencies),
      p90Ms: percentile(latencies, 90),
      meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    },
    short: short.result,
    passages: passages.result,
    mixed: mixed.result,
    memory: { shortPeakRssMb: rss.peakMb, shortRssSamples: rss.samples, processPeakRssMb: readPeakRssFromProc() },
    check: {
      firstShort: Array.from(firstShort!),
      helloWorld: Array.from(helloWorld!),
      batchVsAloneMaxDiff: maxAbsDiff(firstShort!, firstInBatch),
      mixedPaddedVsAloneMaxDiff: maxAbsDiff(mostPaddedAlone!, mixed.vectors[mostPadded]!),
      badVectors,
      dimensions,
      tokenizerMismatches,
    },
  };
}

async function measureThroughput(
  engine: BenchEngine,
  workload: BatchedWorkload,
  checked: (vectors: Float32Array[], inputs: BenchSequence[]) => Float32Array[],
): Promise<{ result: ThroughputResult; vectors: Float32Array[] }> {
  const all = batches(workload);
  checked(await engine.embed(all[0]!), all[0]!); // untimed warm-up
  const outputs: Float32Array[][] = [];
  const start = performance.now();
  // Copies (a few microseconds a batch): an engine may reuse its output buffers between calls.
  for (const batch of all) outputs.push((await engine.embed(batch)).map((v) => v.slice()));
  const seconds = (performance.now() - start) / 1000;
  const vectors = outputs.flatMap((out, i) => checked(out, all[i]!));
  const tokens = countTokens(workload);
  return {
    vectors,
    result: {
      items: workload.sequences.length,
      batchSize: workload.batchSize,
      seconds,
      itemsPerSecond: workload.sequences.length / seconds,
      tokens,
      tokensPerSecond: tokens / seconds,
      paddingFraction: paddingFraction(workload),
    },
  };
}

function indexOfShortest(sequences: BenchSequence[]): number {
  let best = 0;
  sequences.forEach((s, i) => {
    if (s.ids.length < sequences[best]!.ids.length) best = i;
  });
  return best;
}

function isUnitVector(v: Float32Array): boolean {
  let sumSquares = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) return false;
    sumSquares += v[i]! * v[i]!;
  }
  return Math.abs(Math.sqrt(sumSquares) - 1) < 1e-3;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/**
 * Runs a runner's body and prints its one result line. Exits explicitly: some engines keep
 * worker threads alive after their sessions are released.
 */
export function runnerMain(body: () => Promise<RunnerOutput>): void {
  body().then(
    (output) => {
      process.stdout.write(RESULT_LINE_PREFIX + JSON.stringify(output) + '\n', () => process.exit(0));
    },
    (error: unknown) => {
      const message = error instanceof BenchArgumentError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`benchmark runner failed: ${message}\n`, () => process.exit(1));
    },
  );
}
