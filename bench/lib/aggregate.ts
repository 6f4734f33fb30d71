/**
 * From the runs of every configuration to what the results file shows:
 *   - the median of each metric over the rounds (each metric on its own);
 *   - the correctness verdict: each engine's "hello world" embedding against the reference
 *     fixture, its first short sentence against the other engines, batched against alone,
 *     vector sanity and tokenizer agreement. Any difference above 1e-4 marks the engine wrong;
 *     the harness reports it, it never drops the engine's numbers.
 */

import fs from 'node:fs';
import type { EngineConfig } from './configs.ts';
import { maxAbsDiff } from './protocol.ts';
import type { RunnerResult } from './result.ts';
import { median } from './stats.ts';

export const AGREEMENT_TOLERANCE = 1e-4;

export interface Medians {
  shortPerSecond: number;
  passagesPerSecond: number;
  mixedPerSecond: number;
  mixedTokensPerSecond: number;
  latencyMedianMs: number;
  latencyP90Ms: number;
  importMs: number;
  weightsMs: number;
  firstEmbeddingMs: number;
  loadTotalMs: number;
  readyAtMs: number;
  shortPeakRssMb: number;
  processPeakRssMb: number | null;
}

export interface Correctness {
  /** vs the reference fixture's "hello world" embedding (null: fixture missing). */
  referenceMaxDiff: number | null;
  /** First short sentence vs the cross-engine reference configuration. */
  crossEngineMaxDiff: number;
  batchVsAloneMaxDiff: number;
  paddedVsAloneMaxDiff: number;
  badVectors: number;
  tokenizerMismatches: number | null;
  problems: string[];
}

export interface ConfigSummary {
  config: EngineConfig;
  results: RunnerResult[];
  skipped: string | null;
  failures: string[];
  medians: Medians | null;
  correctness: Correctness | null;
}

export function medianOf(results: readonly RunnerResult[]): Medians {
  const m = (pick: (r: RunnerResult) => number): number => median(results.map(pick));
  const hwm = results.map((r) => r.memory.processPeakRssMb).filter((v): v is number => v !== null);
  return {
    shortPerSecond: m((r) => r.short.itemsPerSecond),
    passagesPerSecond: m((r) => r.passages.itemsPerSecond),
    mixedPerSecond: m((r) => r.mixed.itemsPerSecond),
    mixedTokensPerSecond: m((r) => r.mixed.tokensPerSecond),
    latencyMedianMs: m((r) => r.latency.medianMs),
    latencyP90Ms: m((r) => r.latency.p90Ms),
    importMs: m((r) => r.load.importMs),
    weightsMs: m((r) => r.load.weightsMs),
    firstEmbeddingMs: m((r) => r.load.firstEmbeddingMs),
    loadTotalMs: m((r) => r.load.totalMs),
    readyAtMs: m((r) => r.load.readyAtMs),
    shortPeakRssMb: m((r) => r.memory.shortPeakRssMb),
    processPeakRssMb: hwm.length === 0 ? null : median(hwm),
  };
}

/** The reference embedding of "[CLS] hello world [SEP]", or null when the fixture is absent. */
export function readReferenceEmbedding(fixturePath: string): number[] | null {
  if (!fs.existsSync(fixturePath)) return null;
  const fixture = JSON.parse(fs.readFileSync(fixturePath, 'utf8')) as { sentence_embedding?: number[][] };
  const embedding = fixture.sentence_embedding?.[0];
  if (!Array.isArray(embedding)) throw new Error(`${fixturePath} has no sentence_embedding`);
  return embedding;
}

/**
 * The configuration whose first-sentence embedding the others are compared with: the first
 * onnxruntime-node one (the peers' reference implementation), else the first with results.
 */
export function crossEngineReference(summaries: readonly ConfigSummary[]): ConfigSummary | null {
  const withResults = summaries.filter((s) => s.results.length > 0);
  return withResults.find((s) => s.config.engine === 'onnxruntime-node') ?? withResults[0] ?? null;
}

export function judgeCorrectness(summary: ConfigSummary, referenceEmbedding: number[] | null, crossReference: number[]): Correctness {
  const results = summary.results;
  const worst = (values: number[]): number => Math.max(...values);
  const correctness: Correctness = {
    referenceMaxDiff: referenceEmbedding === null ? null : worst(results.map((r) => maxAbsDiff(r.check.helloWorld, referenceEmbedding))),
    crossEngineMaxDiff: worst(results.map((r) => maxAbsDiff(r.check.firstShort, crossReference))),
    batchVsAloneMaxDiff: worst(results.map((r) => r.check.batchVsAloneMaxDiff)),
    paddedVsAloneMaxDiff: worst(results.map((r) => r.check.mixedPaddedVsAloneMaxDiff)),
    badVectors: worst(results.map((r) => r.check.badVectors)),
    tokenizerMismatches: results[0]!.check.tokenizerMismatches === null ? null : worst(results.map((r) => r.check.tokenizerMismatches ?? 0)),
    problems: [],
  };
  const tooFar = (what: string, diff: number | null): void => {
    if (diff !== null && !(diff <= AGREEMENT_TOLERANCE)) correctness.problems.push(`${what}: max diff ${diff.toExponential(2)} > ${AGREEMENT_TOLERANCE.toExponential(0)}`);
  };
  tooFar('"hello world" vs the reference fixture', correctness.referenceMaxDiff);
  tooFar('first short sentence vs the other engines', correctness.crossEngineMaxDiff);
  tooFar('first short sentence batched vs alone', correctness.batchVsAloneMaxDiff);
  tooFar('padded mixed sequence batched vs alone', correctness.paddedVsAloneMaxDiff);
  if (correctness.badVectors > 0) correctness.problems.push(`${correctness.badVectors} output vectors not finite or not of unit norm`);
  if ((correctness.tokenizerMismatches ?? 0) > 0) {
    correctness.problems.push(`its tokenizer gave other ids than the corpus for ${correctness.tokenizerMismatches} inputs`);
  }
  return correctness;
}

/** The largest difference between the first-sentence embeddings of any two configurations. */
export function largestPairwiseDiff(summaries: readonly ConfigSummary[]): { diff: number; between: [string, string] } | null {
  const vectors = summaries.filter((s) => s.results.length > 0).map((s) => ({ id: s.config.id, v: s.results[0]!.check.firstShort }));
  let best: { diff: number; between: [string, string] } | null = null;
  for (let i = 0; i < vectors.length; i++) {
    for (let j = i + 1; j < vectors.length; j++) {
      const diff = maxAbsDiff(vectors[i]!.v, vectors[j]!.v);
      if (best === null || diff > best.diff) best = { diff, between: [vectors[i]!.id, vectors[j]!.id] };
    }
  }
  return best;
}
