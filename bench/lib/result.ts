/**
 * The one JSON line an engine runner prints on stdout, read back by `bench/run.ts`.
 * Times are milliseconds, memory MB, rates per second. Everything an engine computes for the
 * correctness check travels here too, so the harness can compare engines with each other and
 * with the reference fixture.
 */

export interface EngineIdentity {
  /** Engine family: 'minilm-ts', 'onnxruntime-node', 'onnxruntime-web', 'transformers-js'. */
  engine: string;
  version: string;
  threads: number;
  /** minilm-ts matmul backend ('js', 'simd'); the execution provider for the peers. */
  backend: string;
  /** True when the timings include turning text into token ids. */
  includesTokenizer: boolean;
  notes: string[];
}

export interface ThroughputResult {
  items: number;
  batchSize: number;
  seconds: number;
  itemsPerSecond: number;
  /** Tokens without padding, [CLS] and [SEP] included. */
  tokens: number;
  tokensPerSecond: number;
  /** Share of positions that are padding if each batch is padded to its longest sequence. */
  paddingFraction: number;
}

export interface RunnerResult extends EngineIdentity {
  kind: 'result';
  quick: boolean;
  load: {
    /** performance.now() when the runner's own code starts: Node start-up plus module loading. */
    runnerStartMs: number;
    importMs: number;
    weightsMs: number;
    firstEmbeddingMs: number;
    /** importMs + weightsMs + firstEmbeddingMs. */
    totalMs: number;
    /** performance.now() after the first embedding: from process start to a usable engine. */
    readyAtMs: number;
  };
  latency: { warmupCalls: number; calls: number; medianMs: number; p90Ms: number; meanMs: number };
  short: ThroughputResult;
  passages: ThroughputResult;
  mixed: ThroughputResult;
  memory: {
    /** Peak RSS sampled every few ms during the short-sentence workload. */
    shortPeakRssMb: number;
    shortRssSamples: number;
    /** VmHWM at the end: peak RSS over the whole process life (null off Linux). */
    processPeakRssMb: number | null;
  };
  check: {
    /** Embedding of the first short sentence, embedded alone. */
    firstShort: number[];
    /** Embedding of "[CLS] hello world [SEP]" (compared with the reference fixture). */
    helloWorld: number[];
    /** Max |a - b| between the first short sentence embedded alone and inside its batch. */
    batchVsAloneMaxDiff: number;
    /** Same for the shortest sequence of the first mixed batch (the most padded one). */
    mixedPaddedVsAloneMaxDiff: number;
    /** Output vectors that were not finite or not of unit norm, over all workloads. */
    badVectors: number;
    dimensions: number;
    /** Engines that tokenize: inputs whose ids differ from the corpus ids (null: takes ids). */
    tokenizerMismatches: number | null;
  };
}

export interface RunnerSkipped extends EngineIdentity {
  kind: 'skipped';
  reason: string;
}

export type RunnerOutput = RunnerResult | RunnerSkipped;

/** Marks the result line among whatever else an engine writes to stdout. */
export const RESULT_LINE_PREFIX = 'BENCH-RESULT ';
