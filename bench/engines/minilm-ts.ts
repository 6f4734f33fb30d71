/**
 * Benchmark runner: minilm-ts, this project's engine, on the synthetic full-size checkpoint.
 * Loads the model folder with `loadSentenceEncoder(dir, { threads, backend })` (from dist/ when the
 * harness runs it, see lib/minilm-ts-api.ts) and embeds token
 * ids with `embedTokenIds` (no tokenizer in the timings, like the raw ONNX Runtime peers).
 * A backend the engine does not offer (e.g. 'simd' before it exists) is reported as skipped.
 *
 *   npx tsx bench/engines/minilm-ts.ts --threads 2 [--backend js|simd] [--quick] [--model-dir DIR]
 *
 * --model-dir: a folder written by `writeSyntheticModelFolder('full', dir)`, as `bench/run.ts`
 * passes it. Without it the runner uses weights/synthetic/full, brought up to date by
 * `scripts/make-synthetic.ts` in a child process before the clock starts.
 */

import { importMinilmNode, minilmBenchEngine, minilmEntry, minilmUnavailableReason, minilmVersion, syntheticFullDir, writeSyntheticFullModelInChild } from '../lib/minilm-ts-api.ts';
import { LoadClock, loadWorkloads, parseRunnerOptions, runProtocol, runnerMain } from '../lib/protocol.ts';
import type { EngineIdentity, RunnerOutput } from '../lib/result.ts';

runnerMain(async (): Promise<RunnerOutput> => {
  const clock = new LoadClock();
  const options = parseRunnerOptions(process.argv.slice(2));
  const backend = options.backend ?? 'js';
  const identity: EngineIdentity = {
    engine: 'minilm-ts',
    version: minilmVersion(),
    threads: options.threads,
    backend,
    includesTokenizer: false,
    notes: [
      minilmEntry().endsWith('.js')
        ? 'the compiled package (dist/, npm run build), plain node'
        : 'imported from its TypeScript sources through tsx',
    ],
  };
  const unavailable = minilmUnavailableReason();
  if (unavailable !== null) return { kind: 'skipped', ...identity, reason: unavailable };

  const workloads = loadWorkloads(options.quick);
  const modelDir = options.modelDir ?? syntheticFullDir;
  if (options.modelDir === undefined) writeSyntheticFullModelInChild(modelDir);

  const minilm = await clock.importStep(() => importMinilmNode());
  let encoder;
  try {
    // Weights ready = folder read, weights prepared and the backend running.
    encoder = await clock.weightsStep(async () => {
      const loaded = await minilm.loadSentenceEncoder(modelDir, { threads: options.threads, backend });
      await loaded.ready?.();
      return loaded;
    });
  } catch (error) {
    // The default backend must load; another one may simply not exist (yet) on this engine.
    if (backend === 'js') throw error;
    return { kind: 'skipped', ...identity, reason: `backend '${backend}' did not load: ${(error as Error).message}` };
  }
  return runProtocol(identity, minilmBenchEngine(encoder), clock, workloads, options.quick);
});
