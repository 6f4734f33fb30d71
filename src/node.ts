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

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { SentenceEncoder, type SentenceEncoderParts } from './model/sentence-encoder.ts';
import { resolveBackend } from './model/backend-choice.ts';
import { SentenceTokenizer } from './model/sentence-tokenizer.ts';
import { readCheckpoint } from './node/read-checkpoint.ts';
import { readLargeFile } from './node/read-large-file.ts';
import type { DeferredWeightBytes } from './model/deferred-weights.ts';
import { readModuleLayout } from './model/sentence-transformers-config.ts';
import type { BertConfig } from './model/config.ts';
import { fileSize, inModule } from './node/hub/model-files.ts';
import { resolveModel, type HubOptions, type ResolvedModel } from './node/hub/resolve-model.ts';
import { spawnNodeLinearWorker } from './node/worker-spawn.ts';
// simd-weights.ts imports the threaded and SIMD backends' modules statically, so they load with
// this adapter, not on demand as in the core (backend-choice.ts, whose dynamic imports then find
// them loaded). Loaded during a model load, they competed with the checkpoint's reads for libuv's
// thread pool and the CPU, and the tokenizer waited for them. Measured, alternating with the
// dynamic imports they replace (medians of 8): weights ready 71 → 61 ms (simd, 1 thread) and
// 70 → 64 ms (js, 2 threads); import + weights ready + first embedding 193 → 187 and 346 → 320 ms.
import { simdWeightMemory } from './node/simd-weights.ts';

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
  'config' | 'weights' | 'deferredWeights' | 'builtTokenizer' | 'vocab' | 'modules' | 'poolingConfig' | 'sentenceBertConfig' | 'sentenceTransformersConfig' | 'tokenizerConfig'
> &
  HubOptions;

/** The files of a model folder, read and parsed, ready for `SentenceEncoder.fromParts`. */
export interface ModelFolderParts {
  dir: string;
  config: unknown;
  /** Absent when read with `{ weights: false }`. */
  weights?: Uint8Array;
  /** With `{ deferWordEmbeddings: true }`: the table still being read into `weights` (model/deferred-weights.ts). */
  deferredWeights?: DeferredWeightBytes;
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
  // On the SIMD backend, the checkpoint is read straight into its WebAssembly memory, and the
  // backend starts as soon as that memory exists (node/simd-weights.ts).
  const simdWeights = simdWeightMemory(encoderParts);
  // Start the backend now (WebAssembly compilation; workers start later, on demand): it gets ready while the folder is read.
  const backend = simdWeights?.backend ?? resolveBackend(encoderParts);
  if (backend instanceof Promise) backend.catch(() => {}); // reported by the encoder, not as unhandled
  let parts: ModelFolderParts;
  let builtTokenizer: SentenceEncoderParts['builtTokenizer'];
  try {
    parts = await readModelFolder(resolved.dir, {
      // The word-embedding table (half the file) is read in the background: the encoder is ready
      // once the rest is in, and waits, per batch, only for rows not read yet.
      deferWordEmbeddings: true,
      // The threaded JS backend uses weights in shared memory in place (no second copy).
      sharedWeights: (encoderParts.backend ?? 'js') === 'js' && (encoderParts.threads ?? 1) > 1,
      ...(simdWeights === null ? {} : { allocateWeights: simdWeights.allocate }),
      // The tokenizer needs no weights: it is built while they are read.
      whileWeightsAreRead: (smallFiles) => {
        builtTokenizer = SentenceTokenizer.fromParts({ ...encoderParts, ...smallFiles });
      },
    });
  } catch (error) {
    void Promise.resolve(backend).then((started) => started.dispose(), () => {});
    throw error;
  }
  return SentenceEncoder.fromParts({ ...encoderParts, ...parts, weights: parts.weights!, backend, builtTokenizer });
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

export interface ReadModelFolderOptions {
  /** Read model.safetensors. Default true. */
  weights?: boolean;
  /**
   * Return as soon as every tensor but the word-embedding table is read, the table following in
   * the background (`deferredWeights`; for `SentenceEncoder.fromParts`, which waits for the rows
   * it uses). Default false: `weights` is the complete file when this resolves.
   */
  deferWordEmbeddings?: boolean;
  /** Read the checkpoint into a SharedArrayBuffer (worker threads can read it as it is). Default false. */
  sharedWeights?: boolean;
  /**
   * Where to read the checkpoint (see ReadBufferOptions.allocate), e.g. a region of the
   * SIMD backend's WebAssembly memory (node/simd-weights.ts). Default: a new buffer.
   */
  allocateWeights?: (size: number, alignedByte: number) => Uint8Array;
  /**
   * Called with every part but the weights as soon as those are read, before waiting for the
   * checkpoint: work that needs no weights overlaps its read. An error thrown here rejects.
   */
  whileWeightsAreRead?: (parts: Omit<ModelFolderParts, 'weights' | 'deferredWeights'>) => void;
}

/** Reads (and JSON-parses) the files of a model folder; a missing required file is named with its path. */
export async function readModelFolder(dir: string, options: ReadModelFolderOptions = {}): Promise<ModelFolderParts> {
  const modulesText = await readText(dir, 'modules.json', false);
  const modules = modulesText === undefined ? undefined : parseJsonFile(dir, 'modules.json', modulesText);
  const layout = readModuleLayout(modules);
  const t = (name: string): string => inModule(layout.transformerPath, name);

  // The small files (a few hundred KB) before the checkpoint; errors are reported in this order.
  const smallFiles: [name: string, required: boolean][] = [
    [t('config.json'), true],
    [t('vocab.txt'), true],
    ...(layout.fromModulesJson ? [[inModule(layout.poolingPath, 'config.json'), true] as [string, boolean]] : []),
    [t('sentence_bert_config.json'), false],
    [t('tokenizer_config.json'), false],
    ['config_sentence_transformers.json', false],
  ];
  const texts = new Map<string, string | undefined>();
  for (const [name, required] of smallFiles) texts.set(name, await readText(dir, name, required));
  const files = [...(modulesText === undefined ? [] : ['modules.json']), ...smallFiles.map(([name]) => name).filter((name) => texts.get(name) !== undefined)];
  const json = (name: string): unknown => {
    const text = texts.get(name);
    return text === undefined ? undefined : parseJsonFile(dir, name, text);
  };

  const weightsRead =
    (options.weights ?? true) ? readWeights(dir, t('model.safetensors'), t('pytorch_model.bin'), options) : null;
  weightsRead?.catch(() => {}); // awaited below, after the small files' own errors

  const parts: ModelFolderParts = { dir, config: json(t('config.json')), vocab: texts.get(t('vocab.txt'))!, files, weightsFile: t('model.safetensors') };
  if (modules !== undefined) parts.modules = modules;
  const poolingConfig = layout.fromModulesJson ? json(inModule(layout.poolingPath, 'config.json')) : undefined;
  if (poolingConfig !== undefined) parts.poolingConfig = poolingConfig;
  const sentenceBertConfig = json(t('sentence_bert_config.json'));
  if (sentenceBertConfig !== undefined) parts.sentenceBertConfig = sentenceBertConfig;
  const tokenizerConfig = json(t('tokenizer_config.json'));
  if (tokenizerConfig !== undefined) parts.tokenizerConfig = tokenizerConfig;
  const sentenceTransformersConfig = json('config_sentence_transformers.json');
  if (sentenceTransformersConfig !== undefined) parts.sentenceTransformersConfig = sentenceTransformersConfig;

  options.whileWeightsAreRead?.(parts);
  if (weightsRead !== null) {
    const { bytes, deferred } = await weightsRead;
    parts.weights = bytes;
    if (deferred !== undefined) parts.deferredWeights = deferred;
    files.push(t('model.safetensors'));
  }
  return parts;
}

/** The checkpoint's bytes; a missing file is named, with a hint when only a PyTorch .bin exists. */
async function readWeights(
  dir: string,
  name: string,
  pytorchName: string,
  options: ReadModelFolderOptions,
): Promise<{ bytes: Uint8Array; deferred?: DeferredWeightBytes }> {
  const path = join(dir, name);
  const memory = {
    shared: options.sharedWeights ?? false,
    ...(options.allocateWeights === undefined ? {} : { allocate: options.allocateWeights }),
  };
  try {
    // Held once: the model's tensors are views of these bytes.
    return options.deferWordEmbeddings ? await readCheckpoint(path, memory) : { bytes: await readLargeFile(path, memory) };
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
 * threads: every available core, workers started with worker_threads, and an encoder ready
 * before its workers are (started on demand, they join when ready: see LinearWorkerPool.start).
 */
function encoderOptions(options: LoadOptions): Partial<SentenceEncoderParts> {
  const rest: Record<string, unknown> = { ...options };
  for (const key of HUB_OPTION_KEYS) delete rest[key];
  return { threads: availableParallelism(), spawnWorker: spawnNodeLinearWorker, waitForWorkers: false, ...rest } as Partial<SentenceEncoderParts>;
}

/**
 * A small file's text (JSON configs, vocab.txt: at most a few hundred KB). Read synchronously on
 * purpose: that takes microseconds per file, where the promise API's round trips through the
 * thread pool took 15-30 ms for a model folder's seven files (and queue behind other reads).
 */
async function readText(dir: string, name: string, required: boolean): Promise<string | undefined> {
  const path = join(dir, name);
  try {
    return readFileSync(path, 'utf8');
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
