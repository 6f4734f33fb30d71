/**
 * Benchmark runner: Transformers.js, `pipeline('feature-extraction')` with mean pooling and
 * normalisation, on the ONNX export of the synthetic checkpoint (fp32). It takes text and runs
 * its own tokenizer, so its timings include tokenization; the protocol checks afterwards that
 * its ids equal the corpus ids. In Node it runs the model with onnxruntime-node; threads are set
 * through `session_options` (intraOpNumThreads = --threads, interOpNumThreads = 1), since its
 * default leaves ONNX Runtime's own choice (one thread per physical core).
 *
 *   npx tsx bench/engines/transformers-js.ts --threads 2 [--quick] [--onnx PATH] [--model-dir PARENT]
 *
 * --model-dir: a parent folder made by `../lib/transformers-model-dir.ts`; without it one is made
 * in a temporary folder (before the clock starts) and removed at the end.
 */

import fs from 'node:fs';
import { importPeer } from '../peers/import-peer.mjs';
import { requireOnnxPath } from '../lib/paths.ts';
import type { TransformersModule } from '../lib/peer-types.ts';
import type { BenchEngine } from '../lib/protocol.ts';
import { LoadClock, loadWorkloads, parseRunnerOptions, runProtocol, runnerMain } from '../lib/protocol.ts';
import { TRANSFORMERS_MODEL_NAME, makeTransformersModelDir } from '../lib/transformers-model-dir.ts';

runnerMain(async () => {
  const clock = new LoadClock();
  const options = parseRunnerOptions(process.argv.slice(2));
  const workloads = loadWorkloads(options.quick);
  const ownDir = options.modelDir === undefined;
  const modelParent = options.modelDir ?? makeTransformersModelDir(requireOnnxPath(options.onnx));

  try {
    const transformers = await clock.importStep(() => importPeer('@huggingface/transformers') as Promise<TransformersModule>);
    const extractor = await clock.weightsStep(() => {
      transformers.env.allowRemoteModels = false;
      transformers.env.allowLocalModels = true;
      transformers.env.localModelPath = modelParent;
      return transformers.pipeline('feature-extraction', TRANSFORMERS_MODEL_NAME, {
        dtype: 'fp32',
        device: 'cpu',
        local_files_only: true,
        session_options: { intraOpNumThreads: options.threads, interOpNumThreads: 1 },
      });
    });

    const engine: BenchEngine = {
      async embed(batch) {
        const output = await extractor(batch.map((s) => s.text), { pooling: 'mean', normalize: true });
        const [rows, H] = output.dims as [number, number];
        return Array.from({ length: rows }, (_, b) => output.data.slice(b * H, (b + 1) * H));
      },
      async countTokenizerMismatches(sequences) {
        let mismatches = 0;
        for (const sequence of sequences) {
          const ids = Array.from(extractor.tokenizer([sequence.text], { padding: false, truncation: true }).input_ids.data, Number);
          if (ids.length !== sequence.ids.length || ids.some((id, i) => id !== sequence.ids[i])) mismatches++;
        }
        return mismatches;
      },
      dispose: () => extractor.dispose(),
    };
    const identity = {
      engine: 'transformers-js',
      version: transformers.env.version,
      threads: options.threads,
      backend: 'onnxruntime-node',
      includesTokenizer: true,
      notes: ['feature-extraction pipeline, mean pooling, normalize', 'threads set through session_options'],
    };
    return await runProtocol(identity, engine, clock, workloads, options.quick);
  } finally {
    if (ownDir) fs.rmSync(modelParent, { recursive: true, force: true });
  }
});
