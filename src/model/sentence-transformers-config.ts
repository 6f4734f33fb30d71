/**
 * The sentence-transformers files of a model folder → one validated description of what the
 * encoder does after the BERT forward pass (a "pipeline"), so that any BERT-architecture
 * sentence-transformers checkpoint runs as sentence-transformers runs it.
 *
 *   modules.json                        the module list: Transformer → Pooling → (Normalize)
 *   sentence_bert_config.json           max_seq_length; do_lower_case (lowercase the text first)
 *   <pooling path>/config.json          pooling_mode_cls_token / _max_tokens / _mean_tokens /
 *                                       _mean_sqrt_len_tokens, include_prompt
 *   config_sentence_transformers.json   prompts, default_prompt_name, similarity_fn_name
 *   tokenizer_config.json               do_lower_case, strip_accents, tokenize_chinese_chars,
 *                                       model_max_length
 *
 * Two lowercasings, often confused: `tokenizer_config.json`'s `do_lower_case` is the WordPiece
 * tokenizer's own normaliser (true for uncased models such as all-MiniLM-L6-v2), while
 * `sentence_bert_config.json`'s `do_lower_case` asks sentence-transformers' Transformer module to
 * lowercase the text *before* the tokenizer (false for all-MiniLM-L6-v2, which does not need it).
 * The first reaches BertTokenizer's `lowercase` option; the second is `lowercaseInput`.
 *
 * Without modules.json the pipeline of all-MiniLM-L6-v2 is assumed (mean pooling, Normalize).
 *
 * Left out, with an error naming the module or key: modules other than Transformer, Pooling and
 * Normalize (Dense projections, word-embedding models, routers), and the pooling modes of
 * decoder models (`weightedmean`, `lasttoken`).
 * Hugging Face: sentence_transformers/SentenceTransformer.py (`_load_sbert_model`),
 * sentence_transformers/models/Pooling.py, sentence_transformers/models/Transformer.py.
 */

import { ConfigError } from './errors.ts';

/** The pooling modes sentence-transformers offers for encoder models, in its concatenation order. */
export type SentencePoolingMode = 'cls' | 'max' | 'mean' | 'mean_sqrt_len_tokens';

/** Pooling modes in the order sentence-transformers concatenates them (Pooling.forward). */
export const POOLING_MODE_ORDER: readonly SentencePoolingMode[] = ['cls', 'max', 'mean', 'mean_sqrt_len_tokens'];

/** pooling config key → mode; the last two are decoder-model modes we do not run. */
const POOLING_KEYS: Readonly<Record<string, SentencePoolingMode | 'unsupported'>> = {
  pooling_mode_cls_token: 'cls',
  pooling_mode_max_tokens: 'max',
  pooling_mode_mean_tokens: 'mean',
  pooling_mode_mean_sqrt_len_tokens: 'mean_sqrt_len_tokens',
  pooling_mode_weightedmean_tokens: 'unsupported',
  pooling_mode_lasttoken: 'unsupported',
};

/** Where the modules of a sentence-transformers folder live (paths relative to the folder, '' = root). */
export interface ModuleLayout {
  /** Folder of config.json, model.safetensors, vocab.txt, sentence_bert_config.json, tokenizer_config.json. */
  transformerPath: string;
  /** Folder of the Pooling module's config.json; null when modules.json was not given. */
  poolingPath: string | null;
  /** modules.json lists a Normalize module. */
  normalize: boolean;
  /** modules.json was given (false: the all-MiniLM-L6-v2 pipeline is assumed). */
  fromModulesJson: boolean;
}

/** Everything after the forward pass, and the text preparation before it. */
export interface SentencePipeline {
  layout: ModuleLayout;
  /** Non-empty, in concatenation order; the sentence embedding is H × modes.length wide. */
  poolingModes: SentencePoolingMode[];
  /** false: prompt tokens (and [CLS]) are left out of mean/max pooling (Pooling's include_prompt). */
  includePrompt: boolean;
  /** L2-normalise the sentence embeddings (the Normalize module). */
  normalize: boolean;
  /** From sentence_bert_config.json, else tokenizer_config.json's model_max_length; undefined if neither. */
  maxSeqLength: number | undefined;
  /** Lowercase the text before the tokenizer (sentence_bert_config.json's do_lower_case). */
  lowercaseInput: boolean;
  /** BertTokenizer.fromVocab options from tokenizer_config.json. */
  tokenizer: { lowercase: boolean; stripAccents?: boolean; handleChineseChars: boolean };
  /** Named prompts (e.g. { query: 'query: ' }). */
  prompts: Readonly<Record<string, string>>;
  /** The prompt used when a call names none; null for none. */
  defaultPromptName: string | null;
  /** similarity_fn_name from config_sentence_transformers.json ('cosine' when absent). */
  similarityFunction: string;
}

/** The JSON files (parsed objects or their text), all optional; the override options. */
export interface SentencePipelineInputs {
  modules?: unknown;
  poolingConfig?: unknown;
  sentenceBertConfig?: unknown;
  sentenceTransformersConfig?: unknown;
  tokenizerConfig?: unknown;
  /** Overrides the pooling config: one mode or several (concatenated in sentence-transformers' order). */
  pooling?: SentencePoolingMode | readonly SentencePoolingMode[];
  /** Overrides the Normalize module. */
  normalize?: boolean;
  /** Extra or replacing named prompts. */
  prompts?: Record<string, string>;
  /** Overrides default_prompt_name (null: no default prompt). */
  defaultPromptName?: string | null;
}

// ---------------------------------------------------------------------------------------------
// modules.json
// ---------------------------------------------------------------------------------------------

/** The layout of the default pipeline (all-MiniLM-L6-v2): everything at the root, 1_Pooling, Normalize. */
const DEFAULT_LAYOUT: ModuleLayout = { transformerPath: '', poolingPath: '1_Pooling', normalize: true, fromModulesJson: false };

/**
 * Reads modules.json. Accepted: a Transformer first, then a Pooling, then optionally a Normalize.
 * Module types are matched by their last dotted name (`sentence_transformers.models.Pooling` →
 * `Pooling`), so renamed packages still load.
 */
export function readModuleLayout(modulesJson: unknown): ModuleLayout {
  if (modulesJson === undefined || modulesJson === null) return { ...DEFAULT_LAYOUT };
  const modules = parseJson(modulesJson, 'modules.json');
  if (!Array.isArray(modules) || modules.length === 0) {
    throw new ConfigError('modules.json must be a non-empty JSON array of modules');
  }
  const entries = modules.map((module, i) => {
    if (typeof module !== 'object' || module === null || typeof (module as { type?: unknown }).type !== 'string') {
      throw new ConfigError(`modules.json: entry ${i} has no "type" string`);
    }
    const { type, path } = module as { type: string; path?: unknown };
    if (path !== undefined && typeof path !== 'string') throw new ConfigError(`modules.json: entry ${i} ("${type}") has a non-string "path"`);
    return { type, kind: type.split('.').pop()!, path: cleanModulePath(path ?? '', i) };
  });

  const [first, second, ...rest] = entries;
  if (first!.kind !== 'Transformer') {
    throw new ConfigError(
      `modules.json: the first module is "${first!.type}"; this engine runs models whose first module is a sentence_transformers.models.Transformer (a BERT encoder)`,
    );
  }
  if (second === undefined || second.kind !== 'Pooling') {
    throw new ConfigError(
      `modules.json: the module after the Transformer must be a Pooling module${second === undefined ? ', and there is none' : `, got "${second.type}"`}`,
    );
  }
  let normalize = false;
  for (const module of rest) {
    if (module.kind === 'Normalize' && !normalize) {
      normalize = true;
      continue;
    }
    throw new ConfigError(
      `modules.json: module "${module.type}"${module.path ? ` (${module.path})` : ''} is not supported; ` +
        'this engine runs Transformer → Pooling → optional Normalize (no Dense or other layers)',
    );
  }
  return { transformerPath: first!.path, poolingPath: second.path, normalize, fromModulesJson: true };
}

/** A module path must stay inside the model folder: relative, no '..', forward slashes. */
function cleanModulePath(path: string, index: number): string {
  const cleaned = path.replace(/\\/g, '/').replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (cleaned.startsWith('/') || cleaned.split('/').includes('..') || /^[A-Za-z]:/.test(cleaned)) {
    throw new ConfigError(`modules.json: entry ${index} has path "${path}", which leaves the model folder`);
  }
  return cleaned;
}

// ---------------------------------------------------------------------------------------------
// The whole pipeline
// ---------------------------------------------------------------------------------------------

/** Validates and combines the files. */
export function resolveSentencePipeline(inputs: SentencePipelineInputs): SentencePipeline {
  const layout = readModuleLayout(inputs.modules);

  // Pooling: the override, else the pooling config, else mean (the default pipeline).
  let poolingModes: SentencePoolingMode[];
  let includePrompt = true;
  const poolingConfig = inputs.poolingConfig === undefined ? undefined : objectOf(inputs.poolingConfig, poolingFileName(layout));
  if (poolingConfig !== undefined) {
    const parsed = readPoolingConfig(poolingConfig, poolingFileName(layout));
    poolingModes = parsed.modes;
    includePrompt = parsed.includePrompt;
  } else if (layout.fromModulesJson && inputs.pooling === undefined) {
    throw new ConfigError(`modules.json lists a Pooling module, but its ${poolingFileName(layout)} was not given`);
  } else {
    poolingModes = ['mean'];
  }
  if (inputs.pooling !== undefined) poolingModes = readPoolingOverride(inputs.pooling);

  const normalize = inputs.normalize ?? layout.normalize;
  if (typeof normalize !== 'boolean') throw new ConfigError(`normalize must be true or false, got ${String(inputs.normalize)}`);

  const sbert = inputs.sentenceBertConfig === undefined ? {} : objectOf(inputs.sentenceBertConfig, 'sentence_bert_config.json');
  const tokenizerConfig = inputs.tokenizerConfig === undefined ? {} : objectOf(inputs.tokenizerConfig, 'tokenizer_config.json');
  const stConfig =
    inputs.sentenceTransformersConfig === undefined ? {} : objectOf(inputs.sentenceTransformersConfig, 'config_sentence_transformers.json');

  const maxSeqLength =
    optionalPositiveInteger(sbert['max_seq_length'], 'sentence_bert_config.json: max_seq_length') ??
    modelMaxLength(tokenizerConfig['model_max_length']);
  const lowercaseInput = optionalBoolean(sbert['do_lower_case'], 'sentence_bert_config.json: do_lower_case') ?? false;

  const lowercase = optionalBoolean(tokenizerConfig['do_lower_case'], 'tokenizer_config.json: do_lower_case') ?? true;
  const stripAccents = optionalBoolean(tokenizerConfig['strip_accents'], 'tokenizer_config.json: strip_accents');
  const handleChineseChars =
    optionalBoolean(tokenizerConfig['tokenize_chinese_chars'], 'tokenizer_config.json: tokenize_chinese_chars') ?? true;

  const prompts: Record<string, string> = { ...readPrompts(stConfig['prompts']) };
  if (inputs.prompts !== undefined) Object.assign(prompts, readPrompts(inputs.prompts, 'prompts option'));
  const configDefault = stConfig['default_prompt_name'];
  if (configDefault !== undefined && configDefault !== null && typeof configDefault !== 'string') {
    throw new ConfigError('config_sentence_transformers.json: default_prompt_name must be a string or null');
  }
  const defaultPromptName = inputs.defaultPromptName !== undefined ? inputs.defaultPromptName : (configDefault ?? null);
  if (defaultPromptName !== null && !Object.hasOwn(prompts, defaultPromptName)) {
    throw new ConfigError(`default prompt "${defaultPromptName}" is not one of the prompts (${describeNames(prompts)})`);
  }
  const similarity = stConfig['similarity_fn_name'];

  return {
    layout,
    poolingModes,
    includePrompt,
    normalize,
    maxSeqLength,
    lowercaseInput,
    tokenizer: { lowercase, ...(stripAccents === undefined ? {} : { stripAccents }), handleChineseChars },
    prompts,
    defaultPromptName,
    similarityFunction: typeof similarity === 'string' ? similarity : 'cosine',
  };
}

function poolingFileName(layout: ModuleLayout): string {
  return `${layout.poolingPath ? `${layout.poolingPath}/` : ''}config.json`;
}

/** A Pooling module's config.json: the boolean modes, or the `pooling_mode` string some exports write. */
function readPoolingConfig(
  config: Record<string, unknown>,
  file: string,
): { modes: SentencePoolingMode[]; includePrompt: boolean } {
  // word_embedding_dimension is not checked: upstream only reports it (pooling works on whatever
  // width the Transformer gives), and a copied pooling config may carry another model's width.
  const modes = new Set<SentencePoolingMode>();
  for (const [key, mode] of Object.entries(POOLING_KEYS)) {
    const value = config[key];
    if (value === undefined || value === false) continue;
    if (value !== true) throw new ConfigError(`${file}: ${key} must be true or false, got ${JSON.stringify(value)}`);
    if (mode === 'unsupported') {
      throw new ConfigError(`${file}: ${key} is not supported (a pooling mode for decoder models); supported: cls, max, mean, mean_sqrt_len_tokens`);
    }
    modes.add(mode);
  }
  const named = config['pooling_mode'];
  if (named !== undefined) {
    if (typeof named !== 'string') throw new ConfigError(`${file}: pooling_mode must be a string`);
    for (const mode of readPoolingOverride(named === 'mean_sqrt_len' ? 'mean_sqrt_len_tokens' : (named as SentencePoolingMode))) {
      modes.add(mode);
    }
  }
  if (modes.size === 0) throw new ConfigError(`${file}: no pooling mode is enabled (set one of ${Object.keys(POOLING_KEYS).slice(0, 4).join(', ')})`);
  const includePrompt = optionalBoolean(config['include_prompt'], `${file}: include_prompt`) ?? true;
  return { modes: POOLING_MODE_ORDER.filter((mode) => modes.has(mode)), includePrompt };
}

function readPoolingOverride(pooling: SentencePoolingMode | readonly SentencePoolingMode[]): SentencePoolingMode[] {
  const list = typeof pooling === 'string' ? [pooling] : pooling;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError('pooling must be a pooling mode or a non-empty array of them');
  for (const mode of list) {
    if (!POOLING_MODE_ORDER.includes(mode)) {
      throw new ConfigError(`pooling mode ${JSON.stringify(mode)} is not supported; expected one of ${POOLING_MODE_ORDER.join(', ')}`);
    }
  }
  return POOLING_MODE_ORDER.filter((mode) => list.includes(mode));
}

function readPrompts(value: unknown, where = 'config_sentence_transformers.json: prompts'): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${where} must be an object of name → prompt text`);
  const prompts: Record<string, string> = {};
  for (const [name, text] of Object.entries(value)) {
    if (typeof text !== 'string') throw new ConfigError(`${where}: prompt "${name}" must be a string`);
    prompts[name] = text;
  }
  return prompts;
}

export function describeNames(prompts: Readonly<Record<string, string>>): string {
  const names = Object.keys(prompts);
  return names.length === 0 ? 'this model defines none' : names.map((n) => JSON.stringify(n)).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Small readers
// ---------------------------------------------------------------------------------------------

/** tokenizer_config.json's model_max_length: huge sentinel values (1e30) mean "no limit". */
function modelMaxLength(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2 || value > 1_000_000) return undefined;
  return value;
}

function parseJson(value: unknown, file: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

function objectOf(value: unknown, file: string): Record<string, unknown> {
  const parsed = parseJson(value, file);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`${file} must be a JSON object`);
  return parsed as Record<string, unknown>;
}

function optionalBoolean(value: unknown, what: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ConfigError(`${what} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function optionalPositiveInteger(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2) {
    throw new ConfigError(`${what} must be an integer >= 2, got ${JSON.stringify(value)}`);
  }
  return value;
}
