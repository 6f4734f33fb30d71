/**
 * Writes bench/RESULTS.md from the summaries: what ran where (date, machine, versions, the exact
 * command, CPU load before each round, host speed before each process), the table of medians,
 * minilm-ts against each peer at the same thread count, the correctness verdicts, and what was
 * skipped or failed.
 * Smoke runs (`--quick`) and runs recorded on a busy machine (`--force`) say so at the top.
 * Paths of the machine never reach the file: they are replaced by <repo> and <tmp>.
 */

import os from 'node:os';
import type { ConfigSummary, Medians } from './aggregate.ts';
import { AGREEMENT_TOLERANCE } from './aggregate.ts';
import type { MachineInfo } from './machine.ts';
import { machineSummary } from './machine.ts';
import { repoRoot } from './paths.ts';

export interface RoundLoad {
  round: number;
  busyCores: number | null;
  stealCores: number | null;
  attempts: number;
  /** Busy beyond the threshold, recorded anyway because of --force. */
  forced: boolean;
  /**
   * The host's speed just before each engine process of the round, by configuration id: GFLOPS
   * of a fixed kernel run (see host-speed.ts).
   */
  hostGflops: Record<string, number>;
}

export interface RunMeta {
  date: string;
  command: string;
  machine: MachineInfo;
  rounds: number;
  quick: boolean;
  force: boolean;
  maxBusyCores: number;
  /** --min-host-speed: processes start only once the host runs at this many GFLOPS (0: no minimum). */
  minHostGflops: number;
  roundLoads: RoundLoad[];
  workloadSizes: { short: number; passages: number; mixed: number; latencyWarmup: number; latencyMeasured: number };
  /** The commit of the engine's sources (null outside git). */
  minilmRevision: string | null;
  crossEngineReference: string | null;
  largestPairwiseDiff: { diff: number; between: [string, string] } | null;
}

const fixed = (value: number | null, digits: number): string => (value === null || !Number.isFinite(value) ? '–' : value.toFixed(digits));
const sci = (value: number | null): string => (value === null ? '–' : value === 0 ? '0' : value.toExponential(1));
const ratio = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');

/** Replaces this machine's paths in free text (error messages) by placeholders. */
export function withoutMachinePaths(text: string): string {
  return text.split(repoRoot).join('<repo>').split(os.tmpdir()).join('<tmp>').split(os.homedir()).join('~');
}

export function label(summary: ConfigSummary): string {
  const first = summary.results[0];
  return first === undefined ? summary.config.id : `${summary.config.id} (${first.version})`;
}

/** A process's host speed; marked * when below the run's minimum (started anyway, --force). */
function hostSpeedCell(gflops: number | undefined, minimum: number): string {
  return gflops === undefined ? fixed(null, 2) : `${fixed(gflops, 2)}${gflops < minimum ? '*' : ''}`;
}

export function renderResults(meta: RunMeta, summaries: readonly ConfigSummary[]): string {
  const lines: string[] = [];
  const push = (...more: string[]): void => void lines.push(...more);
  const forcedRounds = meta.roundLoads.filter((r) => r.forced);

  push('# Benchmark results', '');
  if (meta.quick) {
    push('> **Smoke run** (`--quick`): shortened workloads, to check that the harness works. Not a measurement: do not quote these numbers.', '');
  }
  if (forcedRounds.length > 0) {
    const which = forcedRounds.length === 1 ? `round ${forcedRounds[0]!.round}` : `rounds ${forcedRounds.map((r) => r.round).join(', ')}`;
    push(`> **Forced** (\`--force\`): ${which} ran while other processes were using the CPU (see the load below): the numbers are disturbed.`, '');
  }
  push(
    `- Date: ${meta.date}`,
    `- Machine: ${machineSummary(meta.machine)}`,
    `- Node: ${meta.machine.node}`,
    `- minilm-ts sources: ${meta.minilmRevision === null ? 'not a git checkout' : `commit ${meta.minilmRevision}`}`,
    `- Command: \`${meta.command}\``,
    `- Rounds: ${meta.rounds}; each round runs every configuration once, each in a fresh process, in an order rotated by one per round; the tables show medians over the rounds.`,
    `- CPU used by other processes before each round (threshold ${meta.maxBusyCores} core): ` +
      meta.roundLoads
        .map((r) => `round ${r.round}: ${r.busyCores === null ? 'not measurable' : `${r.busyCores.toFixed(2)} cores`}${r.forced ? ' (forced)' : ''}`)
        .join('; '),
    `- Workloads: ${meta.workloadSizes.short} short sentences (batches of 32), ${meta.workloadSizes.passages} passages (batches of 16), ` +
      `${meta.workloadSizes.mixed} mixed-length sequences of 5..256 tokens (batches of 16), latency over ${meta.workloadSizes.latencyMeasured} single sentences after ${meta.workloadSizes.latencyWarmup} warm-up calls. See bench/README.md.`,
    '',
  );

  push(
    '## Host speed',
    '',
    "GFLOPS of a fixed piece of work timed just before each engine process: the engine's pure-JavaScript kernel on a [64×384]·[384×384]ᵀ product " +
      '(bench/lib/host-speed.ts). It falls when another machine sharing the physical cores is busy, which the CPU check above cannot see: ' +
      'compare the rounds with it, and read a row well below the others as a slowed host.' +
      (meta.minHostGflops > 0
        ? ` Each process started only once the host ran at ${meta.minHostGflops} GFLOPS or more (\`--min-host-speed\`); a value marked * was below it, started anyway (\`--force\`).`
        : ''),
    '',
    `| configuration | ${meta.roundLoads.map((r) => `round ${r.round}`).join(' | ')} |`,
    `| --- | ${meta.roundLoads.map(() => '---').join(' | ')} |`,
    ...summaries
      .filter((s) => meta.roundLoads.some((r) => r.hostGflops[s.config.id] !== undefined))
      .map((s) => `| ${s.config.id} | ${meta.roundLoads.map((r) => hostSpeedCell(r.hostGflops[s.config.id], meta.minHostGflops)).join(' | ')} |`),
    '',
  );

  push('## Engines', '');
  for (const s of summaries) {
    const first = s.results[0];
    if (first === undefined) continue;
    const what = [first.backend, first.includesTokenizer ? 'tokenizer included in the timings' : 'takes token ids', ...first.notes].join('; ');
    push(`- ${s.config.id}: ${first.engine} ${first.version}, ${first.threads} thread${first.threads === 1 ? '' : 's'} — ${what}`);
  }
  push('');

  push(
    '## Medians',
    '',
    'Throughput in items per second (higher is better), latency in ms (lower is better). Load = import + weights ready + first embedding, in ms; "ready at" adds Node\'s own start-up (ms from process start to the first embedding done). Peak RSS: sampled during the short-sentence workload / VmHWM of the whole process.',
    '',
    '| configuration | runs | short sent/s | passages/s | mixed seq/s | mixed tok/s | latency median ms | latency p90 ms | load ms (import + weights + first) | ready at ms | peak RSS MB (short / process) | correct |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const s of summaries) {
    const m = s.medians;
    if (m === null) continue;
    const verdict = s.correctness === null ? '–' : s.correctness.problems.length === 0 ? 'yes' : '**NO**';
    push(
      `| ${label(s)} | ${s.results.length}/${meta.rounds} | ${fixed(m.shortPerSecond, 1)} | ${fixed(m.passagesPerSecond, 2)} | ${fixed(m.mixedPerSecond, 2)} | ${fixed(m.mixedTokensPerSecond, 0)} | ` +
        `${fixed(m.latencyMedianMs, 2)} | ${fixed(m.latencyP90Ms, 2)} | ${fixed(m.loadTotalMs, 0)} (${fixed(m.importMs, 0)} + ${fixed(m.weightsMs, 0)} + ${fixed(m.firstEmbeddingMs, 0)}) | ${fixed(m.readyAtMs, 0)} | ` +
        `${fixed(m.shortPeakRssMb, 0)} / ${fixed(m.processPeakRssMb, 0)} | ${verdict} |`,
    );
  }
  push('');

  push(
    '## minilm-ts compared with each peer',
    '',
    'Same thread count. Every ratio reads "how many times better minilm-ts is": speed of minilm-ts ÷ speed of the peer for throughput, peer ms ÷ minilm-ts ms for latency and load, peer MB ÷ minilm-ts MB for memory. Above 1× minilm-ts is ahead, below 1× behind.',
    '',
  );
  const ours = summaries.filter((s) => s.config.engine === 'minilm-ts' && s.medians !== null);
  const peers = summaries.filter((s) => s.config.engine !== 'minilm-ts' && s.medians !== null);
  const pairs = ours.flatMap((o) => peers.filter((p) => p.config.threads === o.config.threads).map((p) => [o, p] as const));
  if (pairs.length === 0) {
    push('No pair to compare in this run (minilm-ts or the peers did not produce results).', '');
  } else {
    push('| minilm-ts | peer | threads | short | passages | mixed | latency | load | peak RSS |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [o, p] of pairs) {
      const a = o.medians as Medians;
      const b = p.medians as Medians;
      const memory = a.processPeakRssMb !== null && b.processPeakRssMb !== null ? b.processPeakRssMb / a.processPeakRssMb : Number.NaN;
      push(
        `| ${o.config.id} | ${p.config.id} | ${o.config.threads} | ${ratio(a.shortPerSecond / b.shortPerSecond)} | ${ratio(a.passagesPerSecond / b.passagesPerSecond)} | ` +
          `${ratio(a.mixedPerSecond / b.mixedPerSecond)} | ${ratio(b.latencyMedianMs / a.latencyMedianMs)} | ${ratio(b.loadTotalMs / a.loadTotalMs)} | ${ratio(memory)} |`,
      );
    }
    push('');
  }

  push(
    '## Correctness',
    '',
    `Max absolute differences, worst over the rounds; above ${AGREEMENT_TOLERANCE.toExponential(0)} an engine is marked wrong. ` +
      `"Reference": the embedding of "[CLS] hello world [SEP]" against the fixture computed by the reference implementation. ` +
      `"Others": the first short sentence against ${meta.crossEngineReference ?? '(no engine)'}` +
      (meta.largestPairwiseDiff === null
        ? '.'
        : `; the largest difference between any two configurations is ${sci(meta.largestPairwiseDiff.diff)} (${meta.largestPairwiseDiff.between.join(' vs ')}).`),
    '',
    '| configuration | reference | others | batched vs alone | padded vs alone | bad vectors | tokenizer mismatches | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const s of summaries) {
    const c = s.correctness;
    if (c === null) continue;
    const verdict = c.problems.length === 0 ? 'ok' : `**WRONG**: ${c.problems.join('; ')}`;
    push(
      `| ${s.config.id} | ${sci(c.referenceMaxDiff)} | ${sci(c.crossEngineMaxDiff)} | ${sci(c.batchVsAloneMaxDiff)} | ${sci(c.paddedVsAloneMaxDiff)} | ${c.badVectors} | ` +
        `${c.tokenizerMismatches === null ? 'takes ids' : c.tokenizerMismatches} | ${verdict} |`,
    );
  }
  push('');

  const skipped = summaries.filter((s) => s.skipped !== null);
  const failed = summaries.filter((s) => s.failures.length > 0);
  if (skipped.length > 0 || failed.length > 0) {
    push('## Skipped and failed', '');
    for (const s of skipped) push(`- ${s.config.id}: skipped — ${withoutMachinePaths(s.skipped!)}`);
    for (const s of failed) {
      for (const failure of s.failures) push(`- ${s.config.id}: failed — ${withoutMachinePaths(failure.split('\n')[0]!)}`);
    }
    push('');
  }
  push('Raw results of every process: `bench/results/` (not committed).', '');
  return lines.join('\n');
}
