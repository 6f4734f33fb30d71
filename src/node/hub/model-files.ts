/**
 * Which files a sentence-transformers model folder needs, from its modules.json:
 *
 *   required   [modules.json], <transformer>/config.json, <transformer>/model.safetensors,
 *              <transformer>/vocab.txt, [<pooling>/config.json]      ([…]: when modules.json exists)
 *   optional   <transformer>/sentence_bert_config.json, <transformer>/tokenizer_config.json,
 *              config_sentence_transformers.json
 *
 * tokenizer.json, special_tokens_map.json, ONNX exports and PyTorch .bin files are never needed.
 */

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readModuleLayout, type ModuleLayout } from '../../model/sentence-transformers-config.ts';

export interface FilePlan {
  required: string[];
  optional: string[];
}

/** `name` inside the module folder `path` ('' = the root). */
export function inModule(path: string | null, name: string): string {
  return path ? `${path}/${name}` : name;
}

export function filesForLayout(layout: ModuleLayout): FilePlan {
  const t = (name: string): string => inModule(layout.transformerPath, name);
  const required = [t('config.json'), t('model.safetensors'), t('vocab.txt')];
  if (layout.fromModulesJson) required.unshift('modules.json');
  if (layout.fromModulesJson && layout.poolingPath !== null) required.push(inModule(layout.poolingPath, 'config.json'));
  return { required, optional: [t('sentence_bert_config.json'), t('tokenizer_config.json'), 'config_sentence_transformers.json'] };
}

/** The layout of a folder on disk (the default one when it has no modules.json). */
export async function layoutOfFolder(dir: string): Promise<ModuleLayout> {
  let text: string;
  try {
    text = await readFile(join(dir, 'modules.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return readModuleLayout(undefined);
    throw error;
  }
  return readModuleLayout(text);
}

/** The files of `files` that are not regular files in `dir` (a broken symlink counts as missing). */
export async function missingFiles(dir: string, files: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const file of files) {
    if ((await fileSize(join(dir, file))) === null) missing.push(file);
  }
  return missing;
}

/** Size of a regular file (following symlinks), or null when there is none. */
export async function fileSize(path: string): Promise<number | null> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}
