/**
 * Find a model in an existing Hugging Face cache (read only), so that people who already ran
 * sentence-transformers or transformers download nothing.
 *
 *   <hub>/models--ORG--NAME/refs/<branch>             the commit a branch pointed to when last fetched
 *   <hub>/models--ORG--NAME/snapshots/<commit>/…      the files (symlinks into ../../blobs/)
 *
 * Snapshots tried, in order: the requested revision (a commit, or a branch through refs/), then,
 * when the caller did not ask for a particular revision, whatever refs/main points to. A snapshot
 * is used only when it holds every file the model needs; for a model in the manifest at its
 * pinned revision, sizes must match, and where the weights are a symlink to an LFS blob (named by
 * its sha256) the name must be the manifest's sha256.
 */

import { readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ManifestModel } from './manifest.ts';
import { fileSize, filesForLayout, layoutOfFolder, missingFiles } from './model-files.ts';
import { isCommitHash, repoFolderName } from './model-id.ts';

export async function findInHuggingFaceCache(
  hubCacheDir: string,
  modelId: string,
  revision: string,
  options: { revisionWasChosen: boolean; pinned: ManifestModel | null },
): Promise<{ dir: string; commit: string } | null> {
  const repo = join(hubCacheDir, repoFolderName(modelId));
  const commits: string[] = [];
  const add = (commit: string | null): void => {
    if (commit !== null && !commits.includes(commit)) commits.push(commit);
  };
  add(isCommitHash(revision) ? revision : await readRef(repo, revision));
  if (!options.revisionWasChosen) add(await readRef(repo, 'main'));

  for (const commit of commits) {
    const dir = join(repo, 'snapshots', commit);
    const pinned = options.pinned !== null && commit === options.pinned.revision ? options.pinned : null;
    if (await isUsableSnapshot(dir, pinned)) return { dir, commit };
  }
  return null;
}

async function readRef(repo: string, branch: string): Promise<string | null> {
  try {
    const commit = (await readFile(join(repo, 'refs', branch), 'utf8')).trim();
    return isCommitHash(commit) ? commit : null;
  } catch {
    return null;
  }
}

async function isUsableSnapshot(dir: string, pinned: ManifestModel | null): Promise<boolean> {
  let required: string[];
  try {
    required = filesForLayout(await layoutOfFolder(dir)).required;
  } catch {
    return false; // no snapshot, or an unreadable modules.json: not ours to judge, just not usable
  }
  if ((await missingFiles(dir, required)).length > 0) return false;
  if (pinned === null) return true;
  for (const file of required) {
    const expected = pinned.files[file];
    if (expected === undefined) continue;
    if ((await fileSize(join(dir, file))) !== expected.size) return false;
    const blob = await readlink(join(dir, file)).catch(() => null);
    if (blob !== null && /^[0-9a-f]{64}$/.test(basename(blob)) && basename(blob) !== expected.sha256) return false;
  }
  return true;
}
