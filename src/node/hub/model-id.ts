/**
 * Hugging Face Hub model ids ("ORG/NAME") and revisions: what counts as one, and how they become
 * URLs and cache folder names.
 */

import { HubError } from './errors.ts';

export const DEFAULT_MODEL_ID = 'sentence-transformers/all-MiniLM-L6-v2';
export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** ORG/NAME, each part letters, digits, '-', '_', '.', not starting with '.' or '-' (the Hub's rule, roughly). */
const MODEL_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\/[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function looksLikeModelId(name: string): boolean {
  return MODEL_ID.test(name) && !name.includes('..') && !name.endsWith('.git');
}

/** A branch, tag or commit: no spaces, no '..', no leading '/'. */
export function checkRevision(revision: string): string {
  if (typeof revision !== 'string' || !/^[A-Za-z0-9_.\-/]+$/.test(revision) || revision.includes('..') || revision.startsWith('/')) {
    throw new HubError(`revision ${JSON.stringify(revision)} is not a valid branch, tag or commit name`);
  }
  return revision;
}

/** A 40-hex commit id. */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** `{endpoint}/{ORG}/{NAME}/resolve/{revision}/{file}`, each part encoded (a revision 'refs/pr/1' becomes 'refs%2Fpr%2F1'). */
export function resolveUrl(endpoint: string, modelId: string, revision: string, file: string): string {
  const base = endpoint.replace(/\/+$/, '');
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${base}/${modelId}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** The folder name of a model in a cache: 'models--ORG--NAME', as the Hugging Face cache names it. */
export function repoFolderName(modelId: string): string {
  return `models--${modelId.replace('/', '--')}`;
}
