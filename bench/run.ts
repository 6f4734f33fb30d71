/**
 * The benchmark harness: runs every engine configuration (see `lib/configs.ts`) in a fresh
 * process, round after round, takes the median of each metric, checks that the engines agree,
 * and writes bench/RESULTS.md plus the raw results in bench/results/.
 *
 *   npm run bench -- [--runs 3] [--engines minilm-ts,onnxruntime-node] [--threads 1,2]
 *                    [--quick] [--force] [--onnx PATH] [--max-busy 0.25]
 *                    [--load-attempts 6] [--load-wait 20] [--timeout 60]
 *                    [--min-host-speed 0] [--host-attempts 40] [--host-wait 30]
 *
 * Before each round it samples the CPU for a second; if other processes use more than
 * --max-busy cores it waits --load-wait seconds and tries again, up to --load-attempts times,
 * then gives up without recording anything, unless --force (then the round is recorded and
 * marked as forced). Before each engine process it times a fixed run of the pure-JS kernel
 * (lib/host-speed.ts) and records the host's speed: a slowed host is invisible to the CPU check.
 * With --min-host-speed G (GFLOPS of that run; 0, the default, only records it), a process
 * starts only once the host runs at G or more: below it the harness waits --host-wait seconds
 * and measures again, up to --host-attempts times, then gives up like the CPU check (or, with
 * --force, starts the process anyway; RESULTS.md then marks its host speed as below the minimum).
 * --timeout is per engine process, in minutes.
 *
 * Exit code: 0 when every engine ran and agreed; 2 when one failed or computed a wrong result
 * (the results are written all the same); 1 on bad options; 3 when the CPU stayed busy or the
 * host stayed slow.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigSummary } from './lib/aggregate.ts';
import { crossEngineReference, judgeCorrectness, largestPairwiseDiff, medianOf, readReferenceEmbedding } from './lib/aggregate.ts';
import { BenchArgumentError, intOption, numberOption, parseArgs } from './lib/args.ts';
import type { EngineConfig } from './lib/configs.ts';
import { allConfigs, parseThreadCounts, selectConfigs } from './lib/configs.ts';
import { waitForQuietCpu } from './lib/cpu-load.ts';
import { waitForFastHost } from './lib/host-speed.ts';
import { killRunningEngineProcess, runEngineProcess } from './lib/engine-process.ts';
import { describeMachine } from './lib/machine.ts';
import {
  MINILM_ENTRY_VARIABLE, minilmCompiledEntry, minilmRevision, minilmUnavailableReason, syntheticFullDir, writeSyntheticFullModel,
} from './lib/minilm-ts-api.ts';
import { bundleRunner } from './lib/runner-bundle.ts';
import { buildLibrary } from '../scripts/build.ts';
import { MissingOnnxModelError, benchDir, peerInstalled, referenceEmbeddingPath, requireOnnxPath, resultsDir } from './lib/paths.ts';
import type { RoundLoad, RunMeta } from './lib/report.ts';
import { label, renderResults, withoutMachinePaths } from './lib/report.ts';
import { makeTransformersModelDir } from './lib/transformers-model-dir.ts';
import { FULL_SIZES, QUICK_SIZES } from './lib/workloads.ts';

const PEERS_INSTALL = 'cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm ci';

interface HarnessOptions {
  runs: number;
  configs: EngineConfig[];
  quick: boolean;
  force: boolean;
  onnxOption: string | undefined;
  maxBusyCores: number;
  loadAttempts: number;
  loadWaitMs: number;
  minHostGflops: number;
  hostAttempts: number;
  hostWaitMs: number;
  timeoutMs: number;
}

function readOptions(argv: string[]): HarnessOptions {
  const args = parseArgs(argv, {
    runs: 'string',
    engines: 'string',
    threads: 'string',
    quick: 'flag',
    force: 'flag',
    onnx: 'string',
    'max-busy': 'string',
    'load-attempts': 'string',
    'load-wait': 'string',
    'min-host-speed': 'string',
    'host-attempts': 'string',
    'host-wait': 'string',
    timeout: 'string',
  });
  return {
    runs: intOption(args, 'runs', 3),
    configs: selectConfigs(allConfigs(parseThreadCounts(args.values.get('threads'))), args.values.get('engines')),
    quick: args.flags.has('quick'),
    force: args.flags.has('force'),
    onnxOption: args.values.get('onnx'),
    maxBusyCores: numberOption(args, 'max-busy', 0.25),
    loadAttempts: intOption(args, 'load-attempts', 6),
    loadWaitMs: numberOption(args, 'load-wait', 20) * 1000,
    minHostGflops: numberOption(args, 'min-host-speed', 0),
    hostAttempts: intOption(args, 'host-attempts', 40),
    hostWaitMs: numberOption(args, 'host-wait', 30) * 1000,
    timeoutMs: numberOption(args, 'timeout', 60) * 60_000,
  };
}

/** The command as typed, for the results file (paths of this machine masked). */
function commandLine(argv: string[]): string {
  const quoted = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  const command = process.env['npm_lifecycle_event'] === 'bench' ? `npm run bench${quoted ? ` -- ${quoted}` : ''}` : `npx tsx bench/run.ts ${quoted}`;
  return withoutMachinePaths(command.trim());
}

const log = (message: string): void => void process.stderr.write(`${message}\n`);

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const options = readOptions(argv);
  const summaries: ConfigSummary[] = options.configs.map((config) => ({
    config,
    results: [],
    skipped: null,
    failures: [],
    medians: null,
    correctness: null,
  }));

  // What can run here: the peers need their install and the ONNX file, minilm-ts its sources.
  let onnxPath: string | null = null;
  let onnxProblem: string | null = null;
  try {
    onnxPath = requireOnnxPath(options.onnxOption);
  } catch (error) {
    if (!(error instanceof MissingOnnxModelError)) throw error;
    onnxProblem = error.message;
  }
  for (const s of summaries) {
    const peer = s.config.peerPackage;
    if (peer !== undefined) {
      if (!peerInstalled(peer)) s.skipped = `${peer} is not installed (${PEERS_INSTALL})`;
      else if (onnxProblem !== null) s.skipped = onnxProblem;
    } else {
      const reason = minilmUnavailableReason();
      if (reason !== null) s.skipped = `minilm-ts cannot run: ${reason}`;
    }
    if (s.skipped !== null) log(`skipping ${s.config.id}: ${s.skipped}`);
  }
  const active = summaries.filter((s) => s.skipped === null);
  if (active.length === 0) {
    log('nothing to run: every selected configuration was skipped');
    return 1;
  }

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minilm-ts-bench-'));
  const removeWorkDir = (): void => fs.rmSync(workDir, { recursive: true, force: true });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killRunningEngineProcess();
      removeWorkDir();
      log(`interrupted (${signal}): nothing recorded`);
      process.exit(130);
    });
  }
  const roundLoads: RoundLoad[] = [];
  try {
    // Shared inputs, prepared once, before any clock starts.
    if (active.some((s) => s.config.engine === 'minilm-ts')) {
      log('bringing the synthetic checkpoint folder (weights/synthetic/full) up to date...');
      await writeSyntheticFullModel(syntheticFullDir);
    }
    const transformersParent = path.join(workDir, 'transformers');
    if (active.some((s) => s.config.engine === 'transformers-js')) {
      fs.mkdirSync(transformersParent);
      makeTransformersModelDir(onnxPath!, transformersParent);
    }
    // Read the ONNX file once so that the first engine to load it does not pay for the disk.
    if (onnxPath !== null && active.some((s) => s.config.peerPackage !== undefined)) fs.readFileSync(onnxPath);

    // Plain JavaScript in every engine process (lib/runner-bundle.ts): minilm-ts as its compiled
    // package, each runner bundled once.
    const engineEnv: NodeJS.ProcessEnv = {};
    if (active.some((s) => s.config.engine === 'minilm-ts' && s.skipped === null)) {
      log('building the compiled package (dist/) that minilm-ts runs as...');
      await buildLibrary();
      engineEnv[MINILM_ENTRY_VARIABLE] = minilmCompiledEntry;
    }
    const bundles = new Map<string, string>();
    for (const s of active) {
      if (s.skipped === null && !bundles.has(s.config.runnerPath)) bundles.set(s.config.runnerPath, await bundleRunner(s.config.runnerPath));
    }

    const runnerArgs = (config: EngineConfig): string[] => {
      const args = ['--threads', String(config.threads)];
      if (options.quick) args.push('--quick');
      if (config.backend !== undefined) args.push('--backend', config.backend);
      if (config.peerPackage !== undefined) args.push('--onnx', onnxPath!);
      if (config.engine === 'minilm-ts') args.push('--model-dir', syntheticFullDir);
      if (config.engine === 'transformers-js') args.push('--model-dir', transformersParent);
      return args;
    };

    for (let round = 1; round <= options.runs; round++) {
      const check = await waitForQuietCpu({
        maxBusyCores: options.maxBusyCores,
        attempts: options.force ? 1 : options.loadAttempts,
        waitMs: options.loadWaitMs,
        onBusy: (sample, attempt) =>
          log(`round ${round}: other processes use ${sample.busyCores.toFixed(2)} cores (threshold ${options.maxBusyCores})` +
            (options.force ? ', recording anyway (--force)' : `, waiting (check ${attempt}/${options.loadAttempts})`)),
      });
      if (!check.quiet && !options.force) {
        log(
          `the CPU stayed busy (${check.sample!.busyCores.toFixed(2)} cores used by other processes after ${check.attempts} checks, threshold ${options.maxBusyCores}): ` +
            'nothing recorded. Stop the other work, or pass --force to record anyway (the results are then marked as forced).',
        );
        return 3;
      }
      const hostGflops: Record<string, number> = {};
      roundLoads.push({
        round,
        busyCores: check.sample?.busyCores ?? null,
        stealCores: check.sample?.stealCores ?? null,
        attempts: check.attempts,
        forced: !check.quiet,
        hostGflops,
      });

      // Alternate: every configuration once per round, the order rotated by one each round.
      const runnable = active.filter((s) => s.skipped === null);
      const shift = (round - 1) % Math.max(1, runnable.length);
      for (const s of [...runnable.slice(shift), ...runnable.slice(0, shift)]) {
        const host = await waitForFastHost({
          minGflops: options.minHostGflops,
          attempts: options.force ? 1 : options.hostAttempts,
          waitMs: options.hostWaitMs,
          onSlow: (gflops, attempt) =>
            log(`round ${round}: the host runs at ${gflops.toFixed(2)} GFLOPS (minimum ${options.minHostGflops})` +
              (options.force ? ', starting anyway (--force)' : `, waiting (check ${attempt}/${options.hostAttempts})`)),
        });
        if (!host.fast && !options.force) {
          log(
            `the host stayed slow (${host.gflops.toFixed(2)} GFLOPS after ${host.measurements} checks, minimum ${options.minHostGflops}): ` +
              'nothing recorded. Run again later, lower --min-host-speed, or pass --force to record anyway (RESULTS.md then marks the slow processes).',
          );
          return 3;
        }
        hostGflops[s.config.id] = host.gflops;
        log(`round ${round}/${options.runs}: ${s.config.id} (host speed ${host.gflops.toFixed(2)} GFLOPS)...`);
        const outcome = await runEngineProcess(s.config, runnerArgs(s.config), options.timeoutMs, bundles.get(s.config.runnerPath), engineEnv);
        if (!outcome.ok) {
          s.failures.push(outcome.error);
          log(`  FAILED: ${outcome.error}`);
        } else if (outcome.output.kind === 'skipped') {
          s.skipped = outcome.output.reason;
          log(`  skipped: ${outcome.output.reason}`);
        } else {
          const r = outcome.output;
          s.results.push(r);
          log(
            `  ${r.short.itemsPerSecond.toFixed(1)} sent/s, ${r.passages.itemsPerSecond.toFixed(2)} passages/s, ${r.mixed.itemsPerSecond.toFixed(2)} mixed seq/s, ` +
              `latency ${r.latency.medianMs.toFixed(2)} ms, load ${r.load.totalMs.toFixed(0)} ms, peak RSS ${r.memory.processPeakRssMb?.toFixed(0) ?? '?'} MB (${outcome.wallSeconds.toFixed(0)} s)`,
          );
        }
      }
    }
  } finally {
    removeWorkDir();
  }

  // Medians and correctness.
  const reference = crossEngineReference(summaries);
  const referenceEmbedding = readReferenceEmbedding(referenceEmbeddingPath);
  for (const s of summaries) {
    if (s.results.length === 0) continue;
    s.medians = medianOf(s.results);
    s.correctness = judgeCorrectness(s, referenceEmbedding, reference!.results[0]!.check.firstShort);
  }
  const pairwise = largestPairwiseDiff(summaries);

  const sizes = options.quick ? QUICK_SIZES : FULL_SIZES;
  const meta: RunMeta = {
    date: new Date().toISOString(),
    command: commandLine(argv),
    machine: describeMachine(),
    rounds: options.runs,
    quick: options.quick,
    force: options.force,
    maxBusyCores: options.maxBusyCores,
    minHostGflops: options.minHostGflops,
    roundLoads,
    workloadSizes: sizes,
    minilmRevision: minilmRevision(),
    crossEngineReference: reference?.config.id ?? null,
    largestPairwiseDiff: pairwise,
  };

  fs.mkdirSync(resultsDir, { recursive: true });
  const rawPath = path.join(resultsDir, `${meta.date.replace(/[:.]/g, '-')}${options.quick ? '-quick' : ''}.json`);
  fs.writeFileSync(rawPath, JSON.stringify({ meta, configurations: summaries }, null, 1) + '\n');
  fs.writeFileSync(path.join(benchDir, 'RESULTS.md'), renderResults(meta, summaries));

  // The console summary: correctness first, a wrong engine must not go unnoticed.
  log('');
  log(`correctness (max abs diff; tolerance 1e-4; cross-engine reference ${meta.crossEngineReference ?? 'none'}):`);
  for (const s of summaries) {
    const c = s.correctness;
    if (c === null) continue;
    log(
      `  ${s.config.id.padEnd(22)} vs fixture ${c.referenceMaxDiff?.toExponential(1) ?? '–'}, vs others ${c.crossEngineMaxDiff.toExponential(1)}, ` +
        `batched vs alone ${c.batchVsAloneMaxDiff.toExponential(1)}${c.problems.length > 0 ? `  WRONG: ${c.problems.join('; ')}` : ''}`,
    );
  }
  if (pairwise !== null) log(`  largest difference between two configurations: ${pairwise.diff.toExponential(1)} (${pairwise.between.join(' vs ')})`);
  log('');
  for (const s of summaries) {
    const m = s.medians;
    if (m === null) continue;
    log(
      `${label(s).padEnd(36)} ${m.shortPerSecond.toFixed(1).padStart(7)} sent/s ${m.passagesPerSecond.toFixed(2).padStart(7)} passages/s ` +
        `${m.mixedPerSecond.toFixed(2).padStart(7)} mixed/s ${m.latencyMedianMs.toFixed(2).padStart(8)} ms ${m.loadTotalMs.toFixed(0).padStart(6)} ms load`,
    );
  }
  log(`\nwrote bench/RESULTS.md and bench/results/${path.basename(rawPath)}`);

  const wrong = summaries.some((s) => (s.correctness?.problems.length ?? 0) > 0);
  const failed = summaries.some((s) => s.failures.length > 0);
  return wrong || failed ? 2 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof BenchArgumentError ? `bench: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
