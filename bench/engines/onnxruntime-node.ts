/**
 * Benchmark runner: onnxruntime-node (native CPU execution provider) on the ONNX export of the
 * synthetic checkpoint. Threads: intraOpNumThreads = --threads, interOpNumThreads = 1, sequential
 * execution. Pooling and normalisation in JavaScript (`../lib/ort-engine.ts`). Takes token ids.
 *
 *   npx tsx bench/engines/onnxruntime-node.ts --threads 2 [--quick] [--onnx PATH]
 */

import { importPeer } from '../peers/import-peer.mjs';
import { ortEngine } from '../lib/ort-engine.ts';
import { requireOnnxPath, peerVersion } from '../lib/paths.ts';
import type { OrtModule } from '../lib/peer-types.ts';
import { LoadClock, loadWorkloads, parseRunnerOptions, runProtocol, runnerMain } from '../lib/protocol.ts';

runnerMain(async () => {
  const clock = new LoadClock();
  const options = parseRunnerOptions(process.argv.slice(2));
  const onnxPath = requireOnnxPath(options.onnx);
  const workloads = loadWorkloads(options.quick);

  const ort = await clock.importStep(() => importPeer('onnxruntime-node') as Promise<OrtModule>);
  const session = await clock.weightsStep(() =>
    ort.InferenceSession.create(onnxPath, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    }),
  );
  const identity = {
    engine: 'onnxruntime-node',
    version: peerVersion('onnxruntime-node'),
    threads: options.threads,
    backend: 'cpu',
    includesTokenizer: false,
    notes: ['mean pooling and normalisation in JavaScript'],
  };
  return runProtocol(identity, ortEngine(ort, session), clock, workloads, options.quick);
});
