/**
 * Where models are cached.
 *
 *   ours:               $MINILM_CACHE, else ~/.cache/minilm-ts
 *                       <cache>/models--ORG--NAME/<revision>/<files as on the Hub>
 *   Hugging Face's:     $HF_HUB_CACHE (or the older $HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub,
 *                       else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub
 *                       <hub>/models--ORG--NAME/snapshots/<commit>/<files>   (refs/<branch> holds the commit)
 *
 * Reading Hugging Face's cache means people who already ran sentence-transformers download
 * nothing. We never write into it.
 */

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoFolderName } from './model-id.ts';

export type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export function minilmCacheDir(env: Env): string {
  return resolve(nonEmpty(env['MINILM_CACHE']) ?? join(homedir(), '.cache', 'minilm-ts'));
}

export function huggingFaceHubCacheDir(env: Env): string {
  const explicit = nonEmpty(env['HF_HUB_CACHE']) ?? nonEmpty(env['HUGGINGFACE_HUB_CACHE']);
  if (explicit !== undefined) return resolve(explicit);
  const hfHome = nonEmpty(env['HF_HOME']) ?? join(nonEmpty(env['XDG_CACHE_HOME']) ?? join(homedir(), '.cache'), 'huggingface');
  return resolve(hfHome, 'hub');
}

/** Our folder for one model at one revision ('/' in a revision becomes '--'). */
export function modelCacheDir(cacheDir: string, modelId: string, revision: string): string {
  return join(cacheDir, repoFolderName(modelId), revision.replace(/\//g, '--'));
}
