/**
 * From a model name to a folder on disk:
 *
 *   an existing folder                 → used as it is
 *   a Hub id "ORG/NAME" (not a folder) → 1. our cache ($MINILM_CACHE or ~/.cache/minilm-ts)
 *                                        2. an existing Hugging Face cache (read only)
 *                                        3. a download from ${HF_ENDPOINT:-https://huggingface.co}
 *                                           into our cache (unless HF_HUB_OFFLINE=1)
 *
 * Models in the manifest (weights/manifest.json) resolve at their pinned revision and every file
 * is verified (size and sha256); other models resolve at 'main' (or the revision asked for) and
 * are taken as downloaded, without hashes to check against. Downloads resume, are verified and
 * renamed into place atomically (download-file.ts); a folder counts as complete when it holds
 * every file the model needs (model-files.ts), and a record of what was fetched
 * (minilm-download.json) spares later runs from re-checking hashes.
 *
 * Left out: authentication (gated/private models), checking the Hub for newer commits of a
 * cached 'main' (delete the cache folder to refresh), and writing into Hugging Face's cache.
 */

import { statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readModuleLayout } from '../../model/sentence-transformers-config.ts';
import { huggingFaceHubCacheDir, minilmCacheDir, modelCacheDir, type Env } from './cache-dirs.ts';
import { describeError, downloadFile, NotFoundError, sha256OfFile, type ExpectedFile } from './download-file.ts';
import { ChecksumError, HubError } from './errors.ts';
import { findInHuggingFaceCache } from './huggingface-cache.ts';
import { defaultManifest, type Manifest, type ManifestModel } from './manifest.ts';
import { fileSize, filesForLayout, layoutOfFolder, missingFiles } from './model-files.ts';
import { checkRevision, DEFAULT_ENDPOINT, looksLikeModelId, resolveUrl } from './model-id.ts';
import { createProgressBar, type ProgressStream } from './progress-bar.ts';

export interface HubOptions {
  /** Branch, tag or commit. Default: the manifest's pinned revision, else 'main'. */
  revision?: string;
  /** Our cache. Default: $MINILM_CACHE, else ~/.cache/minilm-ts. */
  cacheDir?: string;
  /** Hugging Face's hub cache to look in; null to skip it. Default: from HF_HUB_CACHE / HF_HOME. */
  huggingFaceCacheDir?: string | null;
  /** Default: $HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Never download. Default: HF_HUB_OFFLINE is 1/true/yes/on. */
  offline?: boolean;
  /** Known models with pinned revisions and hashes. Default: weights/manifest.json. */
  manifest?: Manifest;
  /** Environment variables to read. Default: process.env. */
  env?: Env;
  /** Where the download progress bar goes (drawn only on a TTY). Default: process.stderr; null: none. */
  progress?: ProgressStream | null;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Download tuning, see downloadFile. */
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
}

export type ModelSource = 'folder' | 'cache' | 'huggingface-cache' | 'download';

export interface ResolvedModel {
  /** The folder holding the model's files. */
  dir: string;
  source: ModelSource;
  /** null for a folder given directly. */
  modelId: string | null;
  revision: string | null;
  /** Files were checked against the manifest's sizes (and hashes when downloaded or first found). */
  verified: boolean;
}

/** Where a Hub model would live and how it would be fetched. */
export interface HubModelPlan {
  modelId: string;
  revision: string;
  /** Our cache folder for this model and revision. */
  dir: string;
  /** The manifest entry when the revision is the pinned one; then every file is verified. */
  pinned: ManifestModel | null;
  endpoint: string;
  offline: boolean;
  huggingFaceCacheDir: string | null;
  /** The caller asked for this revision (else any cached snapshot of 'main' will do too). */
  revisionWasChosen: boolean;
  urlOf(file: string): string;
}

/** Name of the record written into our cache folder once a download is complete. */
export const DOWNLOAD_RECORD = 'minilm-download.json';

interface DownloadRecord {
  modelId: string;
  revision: string;
  commit?: string;
  endpoint: string;
  files: Record<string, { size: number; sha256: string }>;
  absent: string[];
}

/** The folder of `nameOrDir`, downloading the model when needed (see the file header). */
export async function resolveModel(nameOrDir: string, options: HubOptions = {}): Promise<ResolvedModel> {
  const folder = await existingFolder(nameOrDir);
  if (folder !== null) return { dir: folder, source: 'folder', modelId: null, revision: null, verified: false };
  const plan = planHubModel(nameOrDir, options);
  const found = await findCachedModel(plan);
  if (found !== null) return found;
  if (plan.offline) throw await offlineError(plan, nameOrDir);
  try {
    return await downloadModelFiles(plan, options);
  } catch (error) {
    // "models/mine" may have been meant as a folder: say that none exists.
    if (error instanceof HubError && /: HTTP 40[134] from /.test(error.message)) {
      error.message += `\n(there is no local folder "${nameOrDir}" either)`;
    }
    throw error;
  }
}

/** Like resolveModel, without downloading: null when a Hub model is in no cache. */
export async function locateModel(nameOrDir: string, options: HubOptions = {}): Promise<ResolvedModel | null> {
  const folder = await existingFolder(nameOrDir);
  if (folder !== null) return { dir: folder, source: 'folder', modelId: null, revision: null, verified: false };
  return findCachedModel(planHubModel(nameOrDir, options));
}

/** Settles id, revision, folders and endpoint for a Hub model id. */
export function planHubModel(modelId: string, options: HubOptions = {}): HubModelPlan {
  if (!looksLikeModelId(modelId)) {
    throw new HubError(`there is no model folder "${modelId}", and it is not a Hub model id of the form ORG/NAME`);
  }
  const env = options.env ?? process.env;
  const manifest = options.manifest ?? defaultManifest();
  const known = Object.hasOwn(manifest.models, modelId) ? manifest.models[modelId]! : null;
  const revision = checkRevision(options.revision ?? known?.revision ?? 'main');
  const endpoint = options.endpoint ?? (env['HF_ENDPOINT'] || DEFAULT_ENDPOINT);
  const cacheDir = options.cacheDir ?? minilmCacheDir(env);
  return {
    modelId,
    revision,
    dir: modelCacheDir(cacheDir, modelId, revision),
    pinned: known !== null && known.revision === revision ? known : null,
    endpoint,
    offline: options.offline ?? isTruthy(env['HF_HUB_OFFLINE']),
    huggingFaceCacheDir: options.huggingFaceCacheDir === undefined ? huggingFaceHubCacheDir(env) : options.huggingFaceCacheDir,
    revisionWasChosen: options.revision !== undefined,
    urlOf: (file) => resolveUrl(endpoint, modelId, revision, file),
  };
}

/** Our cache, then Hugging Face's; null when the model is in neither. */
export async function findCachedModel(plan: HubModelPlan): Promise<ResolvedModel | null> {
  const ours = await checkOurCache(plan);
  if (ours !== null) return ours;
  if (plan.huggingFaceCacheDir !== null) {
    const found = await findInHuggingFaceCache(plan.huggingFaceCacheDir, plan.modelId, plan.revision, {
      revisionWasChosen: plan.revisionWasChosen,
      pinned: plan.pinned,
    });
    if (found !== null) {
      const verified = plan.pinned !== null && found.commit === plan.pinned.revision;
      return { dir: found.dir, source: 'huggingface-cache', modelId: plan.modelId, revision: found.commit, verified };
    }
  }
  return null;
}

/** Downloads what our cache folder lacks (skipping the cache lookups). */
export async function downloadModelFiles(plan: HubModelPlan, options: HubOptions = {}): Promise<ResolvedModel> {
  if (plan.offline) throw await offlineError(plan, plan.modelId);
  const progress = options.progress === undefined ? process.stderr : options.progress;
  if (progress?.isTTY) progress.write(`downloading ${plan.modelId} (revision ${plan.revision}) to ${plan.dir}\n`);
  const record: DownloadRecord = { modelId: plan.modelId, revision: plan.revision, endpoint: plan.endpoint, files: {}, absent: [] };

  const fetchOne = async (file: string, expected: ExpectedFile | undefined, required: boolean): Promise<boolean> => {
    const destination = join(plan.dir, file);
    const present = await fileSize(destination);
    if (present !== null && (expected === undefined || present === expected.size)) {
      record.files[file] = { size: present, sha256: expected?.sha256 ?? (await sha256OfFile(destination)) };
      return true;
    }
    const bar = createProgressBar(progress, file, 'bytes', expected?.size);
    try {
      const result = await downloadFile(plan.urlOf(file), destination, {
        ...(expected === undefined ? {} : { expected }),
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        ...(options.retries === undefined ? {} : { retries: options.retries }),
        ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
        ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
        headers: { 'user-agent': 'minilm-ts' },
        onProgress: (received, total) => bar?.update(received, total),
      });
      record.files[file] = { size: result.size, sha256: result.sha256 };
      record.commit ??= result.commit;
      return true;
    } catch (error) {
      if (error instanceof NotFoundError && !required) {
        record.absent.push(file);
        return false;
      }
      throw await downloadError(plan, file, error);
    } finally {
      bar?.finish();
    }
  };

  if (plan.pinned !== null) {
    for (const [file, expected] of Object.entries(plan.pinned.files)) await fetchOne(file, expected, true);
  } else {
    const hasModules = await fetchOne('modules.json', undefined, false);
    const layout = hasModules ? readModuleLayout(await readFile(join(plan.dir, 'modules.json'), 'utf8')) : readModuleLayout(undefined);
    const files = filesForLayout(layout);
    for (const file of files.required) if (file !== 'modules.json') await fetchOne(file, undefined, true);
    for (const file of files.optional) await fetchOne(file, undefined, false);
  }
  await writeRecord(plan.dir, record);
  return { dir: plan.dir, source: 'download', modelId: plan.modelId, revision: plan.revision, verified: plan.pinned !== null };
}

// ---------------------------------------------------------------------------------------------
// Our cache
// ---------------------------------------------------------------------------------------------

async function checkOurCache(plan: HubModelPlan): Promise<ResolvedModel | null> {
  const hit: ResolvedModel = { dir: plan.dir, source: 'cache', modelId: plan.modelId, revision: plan.revision, verified: plan.pinned !== null };
  const record = await readRecord(plan.dir);
  if (record !== null && (await recordHolds(plan.dir, record, plan.pinned))) return hit;

  if (plan.pinned !== null) {
    // Files put here by hand (as the offline error suggests): verify them once, then record them.
    const files = Object.entries(plan.pinned.files);
    if ((await missingFiles(plan.dir, files.map(([file]) => file))).length > 0) return null;
    const verified: DownloadRecord = { modelId: plan.modelId, revision: plan.revision, endpoint: plan.endpoint, files: {}, absent: [] };
    for (const [file, expected] of files) {
      const path = join(plan.dir, file);
      const size = await fileSize(path);
      const sha256 = size === expected.size ? await sha256OfFile(path) : '';
      if (size !== expected.size || sha256 !== expected.sha256) {
        throw new ChecksumError(
          `${path} is not the file the manifest pins for ${plan.modelId}: ${size} bytes${sha256 ? ` with sha256 ${sha256}` : ''}, ` +
            `expected ${expected.size} bytes with sha256 ${expected.sha256}. Delete it (it will be downloaded again) or replace it with ${plan.urlOf(file)}`,
        );
      }
      verified.files[file] = expected;
    }
    await writeRecord(plan.dir, verified);
    return hit;
  }
  try {
    const { required } = filesForLayout(await layoutOfFolder(plan.dir));
    return (await missingFiles(plan.dir, required)).length === 0 ? { ...hit, verified: false } : null;
  } catch {
    return null;
  }
}

async function recordHolds(dir: string, record: DownloadRecord, pinned: ManifestModel | null): Promise<boolean> {
  if (pinned !== null && Object.keys(pinned.files).some((file) => record.files[file]?.sha256 !== pinned.files[file]!.sha256)) return false;
  for (const [file, { size }] of Object.entries(record.files)) {
    if ((await fileSize(join(dir, file))) !== size) return false;
  }
  return true;
}

async function readRecord(dir: string): Promise<DownloadRecord | null> {
  try {
    const record = JSON.parse(await readFile(join(dir, DOWNLOAD_RECORD), 'utf8')) as DownloadRecord;
    return typeof record === 'object' && record !== null && typeof record.files === 'object' && record.files !== null ? record : null;
  } catch {
    return null;
  }
}

async function writeRecord(dir: string, record: DownloadRecord): Promise<void> {
  const path = join(dir, DOWNLOAD_RECORD);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temporary, path);
}

// ---------------------------------------------------------------------------------------------
// Errors that say what is missing and where to put it
// ---------------------------------------------------------------------------------------------

async function offlineError(plan: HubModelPlan, name: string): Promise<HubError> {
  const hf = plan.huggingFaceCacheDir === null ? '' : ` nor in the Hugging Face cache (${plan.huggingFaceCacheDir})`;
  return new HubError(
    `${name} is not in the cache${hf}, and HF_HUB_OFFLINE is set, so it is not downloaded.\n` +
      `${await missingList(plan)}\n` +
      'Put the files there, pass a folder that holds them, or run once with network access.',
  );
}

async function downloadError(plan: HubModelPlan, file: string, error: unknown): Promise<HubError> {
  const url = plan.urlOf(file);
  if (error instanceof NotFoundError) {
    const why =
      error.status === 404
        ? file.endsWith('model.safetensors')
          ? ' (this engine reads safetensors weights only; models with only pytorch_model.bin are not supported)'
          : ''
        : ' (the model does not exist, or it is private or gated)';
    return new HubError(`${plan.modelId} has no ${file} at revision ${plan.revision}: HTTP ${error.status} from ${url}${why}`);
  }
  if (error instanceof ChecksumError) return new ChecksumError(`${file} of ${plan.modelId}: ${error.message}`);
  return new HubError(
    `could not download ${plan.modelId} from ${plan.endpoint} (${file}: ${describeError(error)}).\n` +
      `${await missingList(plan)}\n` +
      'Check the network (or set HF_ENDPOINT to a mirror), or put the files there by hand.',
  );
}

/** "missing in <dir>:" and one line per missing file, with its size, sha256 and URL when known. */
async function missingList(plan: HubModelPlan): Promise<string> {
  const wanted = plan.pinned !== null ? Object.keys(plan.pinned.files) : filesForLayout(await layoutOfFolder(plan.dir).catch(() => readModuleLayout(undefined))).required;
  const missing = await missingFiles(plan.dir, wanted);
  const lines = missing.map((file) => `  ${file}${describeExpected(plan.pinned?.files[file])}  from ${plan.urlOf(file)}`);
  const extra =
    plan.pinned === null
      ? '\nalso, when the model has them: modules.json, 1_Pooling/config.json, sentence_bert_config.json, tokenizer_config.json, config_sentence_transformers.json'
      : '';
  return `missing in ${plan.dir}:\n${lines.join('\n')}${extra}`;
}

function describeExpected(expected: ExpectedFile | undefined): string {
  return expected === undefined ? '' : ` (${expected.size} bytes, sha256 ${expected.sha256})`;
}

// ---------------------------------------------------------------------------------------------

/** The absolute path when `path` is an existing folder; null when nothing is there; an error for a file. */
async function existingFolder(path: string): Promise<string | null> {
  if (typeof path !== 'string' || path.length === 0) throw new HubError('the model must be a folder path or a Hub model id (ORG/NAME)');
  try {
    // Synchronous: a stat takes microseconds, an asynchronous one a round trip through libuv's
    // thread pool.
    const info = statSync(path);
    if (info.isDirectory()) return path;
    throw new HubError(`"${path}" is a file; a model is a folder (config.json, model.safetensors, vocab.txt, …) or a Hub model id`);
  } catch (error) {
    if (error instanceof HubError) throw error;
    return null;
  }
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}
