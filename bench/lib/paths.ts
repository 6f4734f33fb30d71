/**
 * Where the benchmark finds its inputs, all relative to the repository root:
 *   - the corpus (`bench/corpus.json`),
 *   - the tokenizer and config files of the model (`weights/all-MiniLM-L6-v2/`),
 *   - the reference embedding used for the correctness check (`test/fixtures/reference/full/`),
 *   - the peers' install (`bench/peers/`),
 *   - the ONNX export of the synthetic checkpoint that the peers run. It is 90 MB and not part of
 *     the repository: `--onnx PATH`, else the environment variable MINILM_BENCH_ONNX, else
 *     `../shared/bench/minilm-synth-full.onnx` beside the repository.
 */

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
export const benchDir = path.join(repoRoot, 'bench');
export const corpusPath = path.join(benchDir, 'corpus.json');
export const peersDir = path.join(benchDir, 'peers');
export const modelFilesDir = path.join(repoRoot, 'weights', 'all-MiniLM-L6-v2');
export const referenceEmbeddingPath = path.join(repoRoot, 'test', 'fixtures', 'reference', 'full', 'hello_world.json');
export const resultsDir = path.join(benchDir, 'results');

const DEFAULT_ONNX_RELATIVE = path.join('..', 'shared', 'bench', 'minilm-synth-full.onnx');

export class MissingOnnxModelError extends Error {
  override name = 'MissingOnnxModelError';
}

/** The ONNX path chosen by `--onnx`, MINILM_BENCH_ONNX or the default, without checking it. */
export function chooseOnnxPath(fromOption: string | undefined): string {
  const chosen = fromOption ?? process.env['MINILM_BENCH_ONNX'];
  if (chosen !== undefined && chosen !== '') return path.resolve(chosen);
  return path.resolve(repoRoot, DEFAULT_ONNX_RELATIVE);
}

/** The ONNX path, or a MissingOnnxModelError saying how to provide it. */
export function requireOnnxPath(fromOption: string | undefined): string {
  const onnxPath = chooseOnnxPath(fromOption);
  if (!fs.existsSync(onnxPath)) {
    throw new MissingOnnxModelError(
      `ONNX export of the synthetic checkpoint not found at ${onnxPath}. ` +
        'The peers need it: pass --onnx PATH or set MINILM_BENCH_ONNX ' +
        `(default: ${DEFAULT_ONNX_RELATIVE} relative to the repository root).`,
    );
  }
  return onnxPath;
}

/** Whether the peers are installed (`cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm ci`). */
export function peerInstalled(packageName: string): boolean {
  return fs.existsSync(path.join(peersDir, 'node_modules', packageName, 'package.json'));
}

/** The installed version of a peer, read from its package.json. */
export function peerVersion(packageName: string): string {
  const file = path.join(peersDir, 'node_modules', packageName, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
