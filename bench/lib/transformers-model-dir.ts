/**
 * Lays out a model folder the way Transformers.js expects one, for the synthetic checkpoint:
 *
 *   <parent>/minilm-synth-full/
 *     onnx/model.onnx      symbolic link to the ONNX export (90 MB, not copied)
 *     config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.txt
 *                          copied from the repository's model files
 *
 * Transformers.js then loads it with `env.localModelPath = <parent>` and the model name
 * `minilm-synth-full`, without network.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelFilesDir } from './paths.ts';

export const TRANSFORMERS_MODEL_NAME = 'minilm-synth-full';
const COPIED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

/** Creates the folder under `parent` (default: a fresh temporary folder); returns the parent. */
export function makeTransformersModelDir(onnxPath: string, parent = fs.mkdtempSync(path.join(os.tmpdir(), 'minilm-ts-bench-transformers-'))): string {
  const modelDir = path.join(parent, TRANSFORMERS_MODEL_NAME);
  fs.mkdirSync(path.join(modelDir, 'onnx'), { recursive: true });
  fs.symlinkSync(path.resolve(onnxPath), path.join(modelDir, 'onnx', 'model.onnx'));
  for (const file of COPIED_FILES) fs.copyFileSync(path.join(modelFilesDir, file), path.join(modelDir, file));
  return parent;
}
