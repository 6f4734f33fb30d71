/**
 * The engine configurations the harness knows, one fresh process each:
 *
 *   minilm-ts/js@1, minilm-ts/js@2         this engine, default TypeScript backend
 *   minilm-ts/simd@1, minilm-ts/simd@2     this engine, WebAssembly SIMD backend (skipped when absent)
 *   onnxruntime-node@1, onnxruntime-node@2 native ONNX Runtime, intraOpNumThreads
 *   onnxruntime-web@1, onnxruntime-web@2   ONNX Runtime WebAssembly SIMD, env.wasm.numThreads
 *   transformers-js@1, transformers-js@2   Transformers.js pipeline, tokenizer included
 *
 * `--engines` selects by family ("minilm-ts", "onnxruntime-web"), family and backend
 * ("minilm-ts/simd") or full id ("onnxruntime-node@2"), comma-separated.
 */

import path from 'node:path';
import { BenchArgumentError } from './args.ts';
import { benchDir } from './paths.ts';

export interface EngineConfig {
  id: string;
  engine: string;
  /** minilm-ts backend; undefined for the peers. */
  backend: string | undefined;
  threads: number;
  runnerPath: string;
  /** npm package in bench/peers the runner needs, if any. */
  peerPackage: string | undefined;
}

const FAMILIES: { engine: string; backends: (string | undefined)[]; peerPackage: string | undefined }[] = [
  { engine: 'minilm-ts', backends: ['js', 'simd'], peerPackage: undefined },
  { engine: 'onnxruntime-node', backends: [undefined], peerPackage: 'onnxruntime-node' },
  { engine: 'onnxruntime-web', backends: [undefined], peerPackage: 'onnxruntime-web' },
  { engine: 'transformers-js', backends: [undefined], peerPackage: '@huggingface/transformers' },
];

export function allConfigs(threadCounts: readonly number[]): EngineConfig[] {
  const configs: EngineConfig[] = [];
  for (const family of FAMILIES) {
    for (const backend of family.backends) {
      for (const threads of threadCounts) {
        const name = backend === undefined ? family.engine : `${family.engine}/${backend}`;
        configs.push({
          id: `${name}@${threads}`,
          engine: family.engine,
          backend,
          threads,
          runnerPath: path.join(benchDir, 'engines', `${family.engine}.ts`),
          peerPackage: family.peerPackage,
        });
      }
    }
  }
  return configs;
}

/** The configurations matching a comma-separated selection (all when undefined). */
export function selectConfigs(configs: readonly EngineConfig[], selection: string | undefined): EngineConfig[] {
  if (selection === undefined) return configs.slice();
  const wanted = selection.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const chosen = new Set<EngineConfig>();
  for (const want of wanted) {
    const matches = configs.filter((c) => c.id === want || c.engine === want || c.id.startsWith(`${want}@`));
    if (matches.length === 0) {
      throw new BenchArgumentError(`--engines: "${want}" matches no configuration (known: ${configs.map((c) => c.id).join(', ')})`);
    }
    matches.forEach((c) => chosen.add(c));
  }
  return configs.filter((c) => chosen.has(c));
}

export function parseThreadCounts(text: string | undefined): number[] {
  if (text === undefined) return [1, 2];
  const counts = text.split(',').map((s) => Number(s.trim()));
  if (counts.length === 0 || !counts.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new BenchArgumentError(`--threads must be a comma-separated list of positive integers, got "${text}"`);
  }
  return [...new Set(counts)];
}
