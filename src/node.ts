/**
 * Node adapter: load a model from a folder or from the Hugging Face Hub. The only part of the
 * library (with the CLI and server) that touches the file system and the network; everything it
 * builds is the runtime-neutral core.
 *
 *   import { loadSentenceEncoder } from 'minilm-ts/node';
 *   const encoder = await loadSentenceEncoder('sentence-transformers/all-MiniLM-L6-v2'); // cache or download
 *   const local = await loadSentenceEncoder('./my-model-folder');
 *
 * A model folder is what the Hub holds for a sentence-transformers model:
 *   modules.json                        the module list (without it: mean pooling + Normalize)
 *   <transformer>/config.json, model.safetensors, vocab.txt              (required)
 *   <transformer>/sentence_bert_config.json, tokenizer_config.json       (optional)
 *   <pooling>/config.json               (required when modules.json lists a Pooling module)
 *   config_sentence_transformers.json   (optional: prompts)
 * where <transformer> and <pooling> are the modules' paths in modules.json (usually '' and 1_Pooling).
 * Hub ids, caches and downloads: see src/node/hub/resolve-model.ts.
 */

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { SentenceEncoder, type SentenceEncoderParts } from './model/sentence-encoder.ts';
import { resolveBackend } from './model/backend-choice.ts';
import { SentenceTokenizer } from './model/sentence-tokenizer.ts';
import { readLargeFile } from './node/read-large-file.ts';
import { readModuleLayout } from './model/sentence-transformers-config.ts';
import type { BertConfig } from './model/config.ts';
import { fileSize, inModule } from './node/hub/model-files.ts';
import { resolveModel, type HubOptions, type ResolvedModel } from './node/hub/resolve-model.ts';
import { spawnNodeLinearWorker } from './node/worker-spawn.ts';

export * from './index.ts';
export { resolveModel, locateModel, planHubModel, downloadModelFiles, DOWNLOAD_RECORD } from './node/hub/resolve-model.ts';
export type { HubOptions, ResolvedModel, ModelSource, HubModelPlan } from './node/hub/resolve-model.ts';
export { HubError, ChecksumError } from './node/hub/errors.ts';
export { DEFAULT_MODEL_ID, looksLikeModelId } from './node/hub/model-id.ts';
export { minilmCacheDir, huggingFaceHubCacheDir } from './node/hub/cache-dirs.ts';
export { defaultManifest, type Manifest, type ManifestModel } from './node/hub/manifest.ts';

/** Error for a model folder that lacks a file or holds an unreadable one. */
export class ModelFolderError extends Error {
  override readonly name = 'ModelFolderError';
}

/** Everything fromParts takes except the parts read from the folder, plus where to find the model. */
export type LoadOptions = Omit<
  SentenceEncoderParts,
  'config' | 'weights' | 'vocab' | 'modules' | 'poolingConfig' | 'sentenceBertConfig' | 'sentenceTransformersConfig' | 'tokenizerConfig'
> &
  HubOptions;

/** The files of a model folder, read and parsed, ready for `SentenceEncoder.fromParts`. */
export interface ModelFolderParts {
  dir: string;
  config: unknown;
  /** Absent when read with `{ weights: false }`. */
  weights?: Uint8Array;
  vocab: string;
  modules?: unknown;
  poolingConfig?: unknown;
  sentenceBertConfig?: unknown;
  sentenceTransformersConfig?: unknown;
  tokenizerConfig?: unknown;
  /** Paths (relative to dir) of the files read. */
  files: string[];
  /** Path (relative to dir) of the weights, read or not. */
  weightsFile: string;
}

/**
 * Loads a sentence encoder from a folder or a Hub model id ("ORG/NAME": our cache, the Hugging
 * Face cache, else a verified download).
 */
export async function loadSentenceEncoder(dirOrModelId: string, options: LoadOptions = {}): Promise<SentenceEncoder> {
  if (typeof dirOrModelId !== 'string' || dirOrModelId.length === 0) {
    throw new TypeError('loadSentenceEncoder expects a folder path or a Hub model id (ORG/NAME)');
  }
  const resolved = await resolveModel(dirOrModelId, options);
  const encoderParts = encoderOptions(options);
  // Start the backend (workers, WebAssembly compilation) now: it gets ready while the folder is read.
  const backend = resolveBackend(encoderParts);
  if (backend instanceof Promise) backend.catch(() => {}); // reported by the encoder, not as unhandled
  let parts: ModelFolderParts;
  try {
    parts = await readModelFolder(resolved.dir);
  } catch (error) {
    void Promise.resolve(backend).then((started) => started.dispose(), () => {});
    throw error;
  }
  return SentenceEncoder.fromParts({ ...encoderParts, ...parts, weights: parts.weights!, backend });
}

/** Only the tokenizer side of a model (no weights read): what the CLI's `tokenize` uses. */
export async function loadSentenceTokenizer(
  dirOrModelId: string,
  options: LoadOptions = {},
): Promise<{ tokenizer: SentenceTokenizer; config: BertConfig; resolved: ResolvedModel }> {
  const resolved = await resolveModel(dirOrModelId, options);
  const parts = await readModelFolder(resolved.dir, { weights: false });
  return { ...SentenceTokenizer.fromParts({ ...encoderOptions(options), ...parts }), resolved };
}

/** Reads (and JSON-parses) the files of a model folder; a missing required file is named with its path. */
export async function readModelFolder(dir: string, options: { weights?: boolean } = {}): Promise<ModelFolderParts> {
  const files: string[] = [];
  const read = async (name: string, required: boolean): Promise<string | undefined> => {
    const text = await readText(dir, name, required);
    if (text !== undefined) files.push(name);
    return text;
  };
  const modulesText = await read('modules.json', false);
  const modules = modulesText === undefined ? undefined : parseJsonFile(dir, 'modules.json', modulesText);
  const layout = readModuleLayout(modules);
  const t = (name: string): string => inModule(layout.transformerPath, name);
  // The 91 MB of weights are read while the small files are (their errors wait for their turn).
  const weightsRead = (options.weights ?? true) ? readWeights(dir, t('model.safetensors'), t('pytorch_model.bin')) : null;
  weightsRead?.catch(() => {});

  const configText = (await read(t('config.json'), true))!;
  const vocab = (await read(t('vocab.txt'), true))!;
  const parts: ModelFolderParts = { dir, config: parseJsonFile(dir, t('config.json'), configText), vocab, files, weightsFile: t('model.safetensors') };
  if (modules !== undefined) parts.modules = modules;
  const optionalJson = async (name: string, required: boolean): Promise<unknown> => {
    const text = await read(name, required);
    return text === undefined ? undefined : parseJsonFile(dir, name, text);
  };
  const poolingConfig = layout.fromModulesJson ? await optionalJson(inModule(layout.poolingPath, 'config.json'), true) : undefined;
  if (poolingConfig !== undefined) parts.poolingConfig = poolingConfig;
  const sentenceBertConfig = await optionalJson(t('sentence_bert_config.json'), false);
  if (sentenceBertConfig !== undefined) parts.sentenceBertConfig = sentenceBertConfig;
  const tokenizerConfig = await optionalJson(t('tokenizer_config.json'), false);
  if (tokenizerConfig !== undefined) parts.tokenizerConfig = tokenizerConfig;
  const sentenceTransformersConfig = await optionalJson('config_sentence_transformers.json', false);
  if (sentenceTransformersConfig !== undefined) parts.sentenceTransformersConfig = sentenceTransformersConfig;

  if (weightsRead !== null) {
    parts.weights = await weightsRead;
    files.push(t('model.safetensors'));
  }
  return parts;
}

/** The checkpoint's bytes; a missing file is named, with a hint when only a PyTorch .bin exists. */
async function readWeights(dir: string, name: string, pytorchName: string): Promise<Uint8Array> {
  const path = join(dir, name);
  try {
    return await readLargeFile(path); // held once: the model's tensors are views of it
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ModelFolderError(`cannot read ${path}: ${(error as Error).message}`);
    const hasBin = (await fileSize(join(dir, pytorchName))) !== null;
    throw new ModelFolderError(
      `model folder "${dir}" has no ${name}` +
        (hasBin ? ' (only pytorch_model.bin, which this engine does not read: convert it to safetensors)' : ''),
    );
  }
}

const HUB_OPTION_KEYS: readonly (keyof HubOptions)[] = [
  'revision', 'cacheDir', 'huggingFaceCacheDir', 'endpoint', 'offline', 'manifest', 'env', 'progress', 'fetch', 'retries',
  'retryDelayMs', 'idleTimeoutMs',
];

/**
 * The fromParts options among LoadOptions (the Hub options dropped), with Node's defaults for
 * threads: every available core, workers started with worker_threads.
 */
function encoderOptions(options: LoadOptions): Partial<SentenceEncoderParts> {
  const rest: Record<string, unknown> = { ...options };
  for (const key of HUB_OPTION_KEYS) delete rest[key];
  return { threads: availableParallelism(), spawnWorker: spawnNodeLinearWorker, ...rest } as Partial<SentenceEncoderParts>;
}

async function readText(dir: string, name: string, required: boolean): Promise<string | undefined> {
  const path = join(dir, name);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (!required) return undefined;
      throw new ModelFolderError(`model folder "${dir}" has no ${name}`);
    }
    throw new ModelFolderError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function parseJsonFile(dir: string, name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelFolderError(`${join(dir, name)} is not valid JSON: ${(error as Error).message}`);
  }
}
