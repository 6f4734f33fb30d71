/**
 * The options every model-using command shares, and how they become an encoder:
 *
 *   --model M           a folder or a Hub id (default sentence-transformers/all-MiniLM-L6-v2)
 *   --synthetic         the synthetic checkpoint (written once to the cache; meaningless numbers)
 *   --revision R        Hub branch, tag or commit
 *   --threads N, --backend NAME, --max-seq-length N
 * and the embedding options (embed, similarity, search):
 *   --batch-size N, --no-normalize, --truncate-dim N, --prompt TEXT, --prompt-name NAME
 */

import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { SentenceEmbedOptions } from '../model/sentence-encoder.ts';
import { loadSentenceEncoder, loadSentenceTokenizer, type LoadOptions } from '../node.ts';
import { minilmCacheDir } from '../node/hub/cache-dirs.ts';
import { ChecksumError, HubError } from '../node/hub/errors.ts';
import { DEFAULT_MODEL_ID } from '../node/hub/model-id.ts';
import { writeSyntheticModelFolder, SYNTHETIC_RECIPES } from '../node/synthetic-folder.ts';
import { positiveIntegerOption, stringOption, UsageError, type CliIO, type OptionSpec } from './io.ts';

export const MODEL_OPTIONS = {
  model: { type: 'string', short: 'm' },
  synthetic: { type: 'boolean' },
  revision: { type: 'string' },
  threads: { type: 'string' },
  backend: { type: 'string' },
  'max-seq-length': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export const EMBEDDING_OPTIONS = {
  'batch-size': { type: 'string' },
  'no-normalize': { type: 'boolean' },
  'truncate-dim': { type: 'string' },
  prompt: { type: 'string' },
  'prompt-name': { type: 'string' },
} as const satisfies OptionSpec;

export const MODEL_OPTIONS_HELP = `Model options:
  -m, --model M            a model folder or a Hub id (default ${DEFAULT_MODEL_ID});
                           Hub models come from the cache, else are downloaded once
      --synthetic          use the synthetic checkpoint (same shapes, meaningless weights):
                           try every command offline
      --revision R         Hub branch, tag or commit (default: the pinned one, else main)
      --threads N          threads sharing the matmuls and attention (default: every core)
      --backend NAME       js (default), simd, auto or plain
      --max-seq-length N   truncate texts to N tokens ([CLS] and [SEP] included)`;

export const EMBEDDING_OPTIONS_HELP = `Embedding options:
      --batch-size N       texts per forward pass (default 32)
      --no-normalize       do not L2-normalise (default: as the model does)
      --truncate-dim N     keep the first N dimensions (Matryoshka models)
      --prompt TEXT        text put before every input (e.g. "query: " for e5 models)
      --prompt-name NAME   one of the model's named prompts`;

type Values = Record<string, string | boolean | undefined>;

/** Model folder or Hub id from --model / --synthetic; writes the synthetic folder when asked. */
export async function modelReference(values: Values, io: CliIO): Promise<string> {
  const model = stringOption(values, 'model');
  if (values['synthetic'] === true) {
    if (model !== undefined) throw new UsageError('--synthetic and --model cannot be used together');
    return syntheticModelFolder(io);
  }
  if (model === undefined) return DEFAULT_MODEL_ID;
  // A relative folder is relative to io.cwd; a Hub id stays as it is.
  const asPath = isAbsolute(model) ? model : resolve(io.cwd, model);
  return (await isDirectory(asPath)) ? asPath : model;
}

export function loadOptions(values: Values, io: CliIO): LoadOptions {
  const options: LoadOptions = { env: io.env, progress: io.stderr };
  const revision = stringOption(values, 'revision');
  if (revision !== undefined) options.revision = revision;
  const threads = positiveIntegerOption(values, 'threads');
  if (threads !== undefined) options.threads = threads;
  const backend = stringOption(values, 'backend');
  if (backend !== undefined) options.backend = backend as LoadOptions['backend'] & string;
  const maxSeqLength = positiveIntegerOption(values, 'max-seq-length');
  if (maxSeqLength !== undefined) options.maxSeqLength = maxSeqLength;
  return options;
}

/** Loads the encoder the options name (with the synthetic warning on stderr when it applies). */
export async function openEncoder(values: Values, io: CliIO): ReturnType<typeof loadSentenceEncoder> {
  const reference = await modelReference(values, io);
  await warnIfSynthetic(reference, io);
  return withOfflineHint(loadSentenceEncoder(reference, loadOptions(values, io)));
}

/** Loads only the tokenizer side (no weights). */
export async function openTokenizer(values: Values, io: CliIO): ReturnType<typeof loadSentenceTokenizer> {
  const reference = await modelReference(values, io);
  await warnIfSynthetic(reference, io);
  return withOfflineHint(loadSentenceTokenizer(reference, loadOptions(values, io)));
}

/** A model that cannot be fetched: say how to try the tool anyway. */
async function withOfflineHint<T>(loading: Promise<T>): Promise<T> {
  try {
    return await loading;
  } catch (error) {
    if (error instanceof HubError && !(error instanceof ChecksumError)) {
      error.message += '\nTo try minilm without the real weights, add --synthetic (meaningless numbers, no download).';
    }
    throw error;
  }
}

/** The per-call embedding options of the command line (precision is applied by `embed` itself). */
export type CliEmbeddingOptions = Omit<SentenceEmbedOptions, 'precision' | 'ranges' | 'calibrationEmbeddings'>;

export function embeddingOptions(values: Values): CliEmbeddingOptions {
  const options: CliEmbeddingOptions = {};
  const batchSize = positiveIntegerOption(values, 'batch-size');
  if (batchSize !== undefined) options.batchSize = batchSize;
  if (values['no-normalize'] === true) options.normalize = false;
  const truncateDim = positiveIntegerOption(values, 'truncate-dim');
  if (truncateDim !== undefined) options.truncateDim = truncateDim;
  const prompt = stringOption(values, 'prompt');
  const promptName = stringOption(values, 'prompt-name');
  if (prompt !== undefined && promptName !== undefined) throw new UsageError('--prompt and --prompt-name cannot be used together');
  if (prompt !== undefined) options.prompt = prompt;
  if (promptName !== undefined) options.promptName = promptName;
  return options;
}

/** The synthetic full-size model folder in the cache, written on first use. */
export async function syntheticModelFolder(io: CliIO): Promise<string> {
  const recipe = SYNTHETIC_RECIPES.full;
  const dir = join(minilmCacheDir(io.env), 'synthetic', recipe.name);
  const ready = (await isFile(join(dir, 'model.safetensors'))) && (await isFile(join(dir, 'SYNTHETIC.md'))) && (await isFile(join(dir, 'vocab.txt')));
  if (!ready) {
    if (io.stderr.isTTY) io.stderr.write(`writing the synthetic checkpoint to ${dir} (once)\n`);
    await writeSyntheticModelFolder('full', dir);
  }
  return dir;
}

/** Synthetic folders carry SYNTHETIC.md: say on stderr that their numbers mean nothing. */
async function warnIfSynthetic(reference: string, io: CliIO): Promise<void> {
  if (await isFile(join(reference, 'SYNTHETIC.md'))) {
    io.stderr.write('minilm: note: synthetic weights: the numbers below are meaningless (they only show the tool at work)\n');
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
