/**
 * Benchmark runner: onnxruntime-web, WebAssembly SIMD backend, run in Node on the ONNX export of
 * the synthetic checkpoint. Threads: env.wasm.numThreads = --threads (more than one uses worker
 * threads). Pooling and normalisation in JavaScript (`../lib/ort-engine.ts`). Takes token ids.
 *
 *   npx tsx bench/engines/onnxruntime-web.ts --threads 2 [--quick] [--onnx PATH]
 */

import { importPeer } from '../peers/import-peer.mjs';
import { createOrtWebSession, ortEngine } from '../lib/ort-engine.ts';
import { requireOnnxPath, peerVersion } from '../lib/paths.ts';
import type { OrtModule } from '../lib/peer-types.ts';
import { LoadClock, loadWorkloads, parseRunnerOptions, runProtocol, runnerMain } from '../lib/protocol.ts';

runnerMain(async () => {
  const clock = new LoadClock();
  const options = parseRunnerOptions(process.argv.slice(2));
  const onnxPath = requireOnnxPath(options.onnx);
  const workloads = loadWorkloads(options.quick);

  const ort = await clock.importStep(() => importPeer('onnxruntime-web') as Promise<OrtModule>);
  // The WebAssembly module itself is fetched and compiled inside InferenceSession.create,
  // so it counts as "weights ready", not as "import".
  const session = await clock.weightsStep(() => createOrtWebSession(ort, onnxPath, options.threads));
  const identity = {
    engine: 'onnxruntime-web',
    version: peerVersion('onnxruntime-web'),
    threads: options.threads,
    backend: 'wasm-simd',
    includesTokenizer: false,
    notes: ['WebAssembly SIMD in Node', 'mean pooling and normalisation in JavaScript'],
  };
  return runProtocol(identity, ortEngine(ort, session), clock, workloads, options.quick);
});
