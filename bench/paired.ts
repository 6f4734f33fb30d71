/**
 * minilm-ts against onnxruntime-web, batch by batch in one process: a speed ratio that a noisy
 * host does not move.
 *
 *   npm run bench:paired                                  # js backend, 1 thread, 4 passes
 *   npm run bench:paired -- --threads 2 --passes 6 [--backend simd] [--onnx PATH] [--write]
 *
 * --write also saves the table, with date, machine, versions and command, as this backend's and
 * thread count's section of bench/PAIRED-RESULTS.md.
 *
 * Why it exists. The harness (run.ts) runs each engine in a process of its own, minutes apart.
 * On a virtual machine whose host slows by up to 2× for minutes at a time (see the host-speed
 * table of RESULTS.md), the ratio of two such processes carries the host's swings: in one 5-round
 * run, minilm-ts js@1 ÷ onnxruntime-web@1 on short sentences ranged from 0.17 to 0.25 between
 * rounds. Here both engines are loaded in one process and every batch of a workload is embedded
 * by one engine and then by the other (the order alternating from batch to batch), so each pair
 * of timings is taken a few seconds apart, on the same host. The ratio of each pair is
 * minilm-ts's speed ÷ onnxruntime-web's; the script prints the median over all pairs with its
 * quartiles, for the short-sentence and passage workloads of run.ts (same corpus, same batches).
 *
 * What it does not replace: load time, memory and the absolute rates (run.ts), and the isolation
 * of one engine per process. Sharing a process is fair to both at 1 thread (each runs on the
 * main thread, in turn). At 2 threads each engine's helper threads may still spin for a moment
 * after a batch and take a core from the other's next batch; the alternating order spreads
 * that over both, but read those ratios with it in mind.
 *
 * Check: for every batch the two engines' vectors must agree within the harness's tolerance
 * (the same as run.ts's cross-engine check), else the script stops with exit code 2.
 */

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { importPeer } from './peers/import-peer.mjs';
import { AGREEMENT_TOLERANCE } from './lib/aggregate.ts';
import { BenchArgumentError, intOption, parseArgs } from './lib/args.ts';
import { measureHostSpeed } from './lib/host-speed.ts';
import { describeMachine, machineSummary } from './lib/machine.ts';
import { importMinilmNode, minilmBenchEngine, minilmRevision, minilmVersion, syntheticFullDir, writeSyntheticFullModel } from './lib/minilm-ts-api.ts';
import { createOrtWebSession, ortEngine } from './lib/ort-engine.ts';
import { benchDir, peerInstalled, peerVersion, requireOnnxPath } from './lib/paths.ts';
import type { OrtModule } from './lib/peer-types.ts';
import type { BenchEngine } from './lib/protocol.ts';
import { loadWorkloads } from './lib/protocol.ts';
import { writeMarkedSection } from './lib/results-section.ts';
import { percentile } from './lib/stats.ts';
import type { BatchedWorkload, BenchSequence } from './lib/workloads.ts';
import { batches } from './lib/workloads.ts';

interface PairedOptions {
  threads: number;
  passes: number;
  backend: string;
  onnx: string | undefined;
  write: boolean;
}

function readOptions(argv: string[]): PairedOptions {
  const args = parseArgs(argv, { threads: 'string', passes: 'string', backend: 'string', onnx: 'string', write: 'flag' });
  return {
    threads: intOption(args, 'threads', 1),
    passes: intOption(args, 'passes', 4),
    backend: args.values.get('backend') ?? 'js',
    onnx: args.values.get('onnx'),
    write: args.flags.has('write'),
  };
}

/** The engines' vectors differ by more than the harness's tolerance. */
class DisagreementError extends Error {
  override name = 'DisagreementError';
}

/** One engine's seconds for one batch, and its vectors (copied: an engine may reuse its buffers). */
async function timeBatch(engine: BenchEngine, batch: BenchSequence[]): Promise<{ seconds: number; vectors: Float32Array[] }> {
  const start = performance.now();
  const out = await engine.embed(batch);
  const seconds = (performance.now() - start) / 1000;
  return { seconds, vectors: out.map((v) => v.slice()) };
}

function largestDifference(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let largest = 0;
  a.forEach((vector, i) => vector.forEach((value, j) => (largest = Math.max(largest, Math.abs(value - b[i]![j]!)))));
  return largest;
}

interface PairedResult {
  pairs: number;
  /** minilm-ts items/s ÷ onnxruntime-web items/s, one per pair. */
  ratios: number[];
  minilmItemsPerSecond: number[];
  peerItemsPerSecond: number[];
  largestDifference: number;
}

/** Every batch of `workload`, `passes` times, each by both engines in alternating order. */
async function measurePairs(minilm: BenchEngine, peer: BenchEngine, workload: BatchedWorkload, passes: number): Promise<PairedResult> {
  const all = batches(workload);
  // Untimed warm-up of both, as run.ts does before each throughput workload.
  await minilm.embed(all[0]!);
  await peer.embed(all[0]!);
  const result: PairedResult = { pairs: 0, ratios: [], minilmItemsPerSecond: [], peerItemsPerSecond: [], largestDifference: 0 };
  for (let pass = 0; pass < passes; pass++) {
    for (const [i, batch] of all.entries()) {
      const minilmFirst = (pass + i) % 2 === 0;
      const first = await timeBatch(minilmFirst ? minilm : peer, batch);
      const second = await timeBatch(minilmFirst ? peer : minilm, batch);
      const [ours, theirs] = minilmFirst ? [first, second] : [second, first];
      const difference = largestDifference(ours.vectors, theirs.vectors);
      if (!(difference <= AGREEMENT_TOLERANCE)) {
        throw new DisagreementError(`batch ${i}: the engines' vectors differ by ${difference} (tolerance ${AGREEMENT_TOLERANCE})`);
      }
      result.largestDifference = Math.max(result.largestDifference, difference);
      result.pairs++;
      result.ratios.push(theirs.seconds / ours.seconds); // speed ratio = time ratio inverted
      result.minilmItemsPerSecond.push(batch.length / ours.seconds);
      result.peerItemsPerSecond.push(batch.length / theirs.seconds);
    }
  }
  return result;
}

/** Where --write saves the results: one section per backend and thread count. */
const PAIRED_RESULTS_FILE = path.join(benchDir, 'PAIRED-RESULTS.md');
const PAIRED_RESULTS_HEADING = [
  '# Paired throughput ratios',
  '',
  'minilm-ts ÷ onnxruntime-web, batch by batch in one process (`npm run bench:paired`): every batch embedded by one engine and then by the other, ' +
    "the order alternating; the ratio of each pair is minilm-ts's speed ÷ onnxruntime-web's (above 1: minilm-ts faster). " +
    'Medians over the pairs, quartiles in brackets. Each section is rewritten by the command it names. ' +
    'See bench/README.md ("One ratio, batch by batch") for what this measures and what it does not.',
].join('\n');

const log = (message: string): void => void process.stderr.write(`${message}\n`);
const quartiles = (samples: number[], digits: number): string =>
  `${percentile(samples, 50).toFixed(digits)} (${percentile(samples, 25).toFixed(digits)}–${percentile(samples, 75).toFixed(digits)})`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const options = readOptions(argv);
  const { threads } = options;
  if (!peerInstalled('onnxruntime-web')) {
    log('onnxruntime-web is not installed: cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm ci');
    return 1;
  }
  const onnxPath = requireOnnxPath(options.onnx);
  log('bringing the synthetic checkpoint folder (weights/synthetic/full) up to date...');
  await writeSyntheticFullModel(syntheticFullDir);
  const workloads = loadWorkloads(false);

  // One thread count per process: onnxruntime-web fixes its thread count when its WebAssembly
  // module starts, at the first session, and ignores a later setting.
  const minilmModule = await importMinilmNode();
  const encoder = await minilmModule.loadSentenceEncoder(syntheticFullDir, { threads, backend: options.backend });
  await encoder.ready?.();
  const minilm = minilmBenchEngine(encoder);
  const ort = (await importPeer('onnxruntime-web')) as OrtModule;
  const peer = ortEngine(ort, await createOrtWebSession(ort, onnxPath, threads));

  const hostBefore = measureHostSpeed();
  const rows: string[] = [];
  for (const [name, workload] of [['short sentences', workloads.short], ['passages', workloads.passages]] as const) {
    log(`${name}: ${options.passes} passes of ${batches(workload).length} batches of ${workload.batchSize}, each by both engines...`);
    const r = await measurePairs(minilm, peer, workload, options.passes);
    rows.push(
      `| ${name} | ${r.pairs} | ${quartiles(r.ratios, 3)} | ${quartiles(r.minilmItemsPerSecond, 2)} | ${quartiles(r.peerItemsPerSecond, 2)} | ${r.largestDifference.toExponential(1)} |`,
    );
  }
  const hostAfter = measureHostSpeed();
  await minilm.dispose();
  await peer.dispose();

  const machine = describeMachine();
  const section = [
    `## minilm-ts/${options.backend}@${threads} ÷ onnxruntime-web@${threads}`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machineSummary(machine)}; Node ${machine.node}`,
    `- minilm-ts ${minilmVersion()} (${minilmRevision() ?? 'not a git checkout'}), from its sources through tsx; onnxruntime-web ${peerVersion('onnxruntime-web')}, WebAssembly SIMD`,
    `- Command: \`npm run bench:paired${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}\``,
    `- Workloads: those of run.ts (bench/corpus.json): ${workloads.short.sequences.length} short sentences in batches of ${workloads.short.batchSize}, ` +
      `${workloads.passages.sequences.length} passages in batches of ${workloads.passages.batchSize}; ${options.passes} passes over each.`,
    `- Host speed before / after: ${hostBefore.toFixed(2)} / ${hostAfter.toFixed(2)} GFLOPS (bench/lib/host-speed.ts, the measure of the host-speed table in RESULTS.md).`,
    '',
    '| workload | pairs | speed ratio, median (quartiles) | minilm-ts items/s | onnxruntime-web items/s | largest difference |',
    '| --- | ---: | --- | --- | --- | ---: |',
    ...rows,
  ].join('\n');
  console.log(section);
  if (options.write) {
    writeMarkedSection(PAIRED_RESULTS_FILE, PAIRED_RESULTS_HEADING, `paired-${options.backend}-threads${threads}`, section);
    log(`wrote its section of bench/${path.basename(PAIRED_RESULTS_FILE)}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof BenchArgumentError) log(`bench:paired: ${error.message}`);
    else log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(error instanceof DisagreementError ? 2 : 1);
  },
);
