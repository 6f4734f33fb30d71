/**
 * Reads the settings a BERT tokenizer needs from a Hugging Face `tokenizer.json`, and refuses
 * what this tokenizer does not implement, naming the field.
 *
 * Read: model (WordPiece: vocab, unk_token, continuing_subword_prefix,
 * max_input_chars_per_word), normalizer (BertNormalizer flags), pre_tokenizer (must be
 * BertPreTokenizer), post_processor ([CLS] $A [SEP], as TemplateProcessing or BertProcessing),
 * added_tokens (matched in the raw text, see special-tokens.ts).
 *
 * Ignored on purpose: `truncation` and `padding`. They record how the file was saved, not how
 * the model is used: all-MiniLM-L6-v2's file says truncate at 128 and pad every input to 128,
 * but sentence-transformers overrides both, truncating at max_seq_length (256, from
 * sentence_bert_config.json) and padding each batch only to its longest input. The caller
 * chooses maxLength instead; padding is per batch (encodeBatch). Also ignored: `decoder`
 * (decode() is a plain WordPiece join).
 */
import type { NormalizerOptions } from './normalizer.ts';
import type { SpecialToken } from './special-tokens.ts';
import { TokenizerConfigError, describe } from './errors.ts';
import { type Vocabulary, vocabularyFromObject } from './vocab.ts';

export interface TokenizerJsonSettings {
  vocab: Vocabulary;
  unkToken: string;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
  normalizer: NormalizerOptions;
  /** Added tokens, matched in the raw text. */
  addedTokens: SpecialToken[];
  /** Ids of the added tokens marked special (skipped by decode({ skipSpecialTokens: true })). */
  specialIds: Set<number>;
  clsToken: SpecialToken;
  sepToken: SpecialToken;
}

type Json = Record<string, unknown>;

function fail(message: string): never {
  throw new TokenizerConfigError(`tokenizer.json: ${message}`);
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** field of obj as a given type, with a default when absent or null. */
function field<T>(obj: Json, path: string, key: string, type: 'string' | 'number' | 'boolean', fallback: T): T {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== type) fail(`${path}.${key} must be a ${type}, got ${describe(value)}`);
  return value as T;
}

export function readTokenizerJson(json: string | object): TokenizerJsonSettings {
  let root: unknown = json;
  if (typeof json === 'string') {
    try {
      root = JSON.parse(json);
    } catch (error) {
      fail(`not valid JSON (${(error as Error).message})`);
    }
  }
  if (!isObject(root)) fail(`expected a JSON object, got ${describe(root)}`);

  // model
  const model = root['model'];
  if (!isObject(model)) fail(`"model" must be an object, got ${describe(model)}`);
  if (model['type'] !== 'WordPiece') fail(`model.type is ${describe(model['type'])}; only "WordPiece" is supported`);
  const vocab = vocabularyFromObject(model['vocab']);
  const unkToken = field(model, 'model', 'unk_token', 'string', '[UNK]');
  const continuingSubwordPrefix = field(model, 'model', 'continuing_subword_prefix', 'string', '##');
  const maxInputCharsPerWord = field(model, 'model', 'max_input_chars_per_word', 'number', 100);
  if (!Number.isInteger(maxInputCharsPerWord) || maxInputCharsPerWord < 1) {
    fail(`model.max_input_chars_per_word must be a positive integer, got ${maxInputCharsPerWord}`);
  }

  const normalizer = readNormalizer(root['normalizer']);

  const preTokenizer = root['pre_tokenizer'];
  if (!isObject(preTokenizer) || preTokenizer['type'] !== 'BertPreTokenizer') {
    fail(`pre_tokenizer must be {"type": "BertPreTokenizer"}, got ${isObject(preTokenizer) ? describe(preTokenizer['type']) : describe(preTokenizer)}`);
  }

  const { addedTokens, specialIds } = readAddedTokens(root['added_tokens']);
  // BERT's added tokens are all in the vocabulary; tokens outside it would need ids of their own.
  addedTokens.forEach((token, i) => {
    const id = vocab.tokenToId.get(token.content);
    if (id !== token.id) {
      fail(`added_tokens[${i}] (${token.content}) has id ${token.id} but model.vocab ${id === undefined ? 'lacks it' : `gives ${id}`}; only added tokens that are in the vocabulary with the same id are supported`);
    }
  });

  const { clsToken, sepToken } = readPostProcessor(root['post_processor']);
  return { vocab, unkToken, continuingSubwordPrefix, maxInputCharsPerWord, normalizer, addedTokens, specialIds, clsToken, sepToken };
}

function readNormalizer(normalizer: unknown): NormalizerOptions {
  if (normalizer === null || normalizer === undefined) {
    return { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false };
  }
  if (!isObject(normalizer) || normalizer['type'] !== 'BertNormalizer') {
    fail(`normalizer.type is ${isObject(normalizer) ? describe(normalizer['type']) : describe(normalizer)}; only "BertNormalizer" (or none) is supported`);
  }
  const lowercase = field(normalizer, 'normalizer', 'lowercase', 'boolean', true);
  return {
    cleanText: field(normalizer, 'normalizer', 'clean_text', 'boolean', true),
    handleChineseChars: field(normalizer, 'normalizer', 'handle_chinese_chars', 'boolean', true),
    // null means "strip accents when lowercasing", as in the reference.
    stripAccents: field(normalizer, 'normalizer', 'strip_accents', 'boolean', lowercase),
    lowercase,
  };
}

function readAddedTokens(list: unknown): { addedTokens: SpecialToken[]; specialIds: Set<number> } {
  const addedTokens: SpecialToken[] = [];
  const specialIds = new Set<number>();
  if (list === undefined || list === null) return { addedTokens, specialIds };
  if (!Array.isArray(list)) fail(`added_tokens must be an array, got ${describe(list)}`);
  list.forEach((entry: unknown, i) => {
    const path = `added_tokens[${i}]`;
    if (!isObject(entry)) fail(`${path} must be an object, got ${describe(entry)}`);
    const content = entry['content'];
    const id = entry['id'];
    if (typeof content !== 'string' || content.length === 0) fail(`${path}.content must be a non-empty string, got ${describe(content)}`);
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) fail(`${path}.id must be a non-negative integer, got ${describe(id)}`);
    for (const option of ['lstrip', 'rstrip', 'single_word', 'normalized'] as const) {
      if (entry[option] === true) fail(`${path} (${content}) sets ${option}: true, which this tokenizer does not implement`);
    }
    addedTokens.push({ content, id });
    if (entry['special'] === true) specialIds.add(id);
  });
  return { addedTokens, specialIds };
}

/** The [CLS] and [SEP] of the template `[CLS] $A [SEP]`. */
function readPostProcessor(processor: unknown): { clsToken: SpecialToken; sepToken: SpecialToken } {
  if (!isObject(processor)) fail(`post_processor must be an object, got ${describe(processor)}`);
  if (processor['type'] === 'BertProcessing') {
    return { clsToken: pair(processor['cls'], 'post_processor.cls'), sepToken: pair(processor['sep'], 'post_processor.sep') };
  }
  if (processor['type'] !== 'TemplateProcessing') {
    fail(`post_processor.type is ${describe(processor['type'])}; only "TemplateProcessing" and "BertProcessing" are supported`);
  }
  const single = processor['single'];
  const shape = '[SpecialToken, Sequence A, SpecialToken]';
  if (!Array.isArray(single) || single.length !== 3) fail(`post_processor.single must be ${shape}`);
  const [first, sequence, last] = single as unknown[];
  if (!isObject(sequence) || !isObject(sequence['Sequence'])) fail(`post_processor.single must be ${shape}`);
  const specials = processor['special_tokens'];
  if (!isObject(specials)) fail('post_processor.special_tokens must be an object');
  const resolve = (item: unknown, where: string): SpecialToken => {
    const special = isObject(item) ? item['SpecialToken'] : undefined;
    if (!isObject(special) || typeof special['id'] !== 'string') fail(`post_processor.single must be ${shape}`);
    const name = special['id'];
    const entry = specials[name];
    const ids = isObject(entry) ? entry['ids'] : undefined;
    if (!Array.isArray(ids) || ids.length !== 1 || !Number.isInteger(ids[0]) || ids[0] < 0) {
      fail(`post_processor.special_tokens[${JSON.stringify(name)}].ids must hold exactly one id (the ${where} token)`);
    }
    return { content: name, id: ids[0] as number };
  };
  return { clsToken: resolve(first, 'first'), sepToken: resolve(last, 'last') };
}

/** BertProcessing's ["[CLS]", 101] pairs. */
function pair(value: unknown, path: string): SpecialToken {
  if (!Array.isArray(value) || typeof value[0] !== 'string' || !Number.isInteger(value[1]) || value[1] < 0) {
    fail(`${path} must be [token, id], got ${describe(value)}`);
  }
  return { content: value[0], id: value[1] as number };
}
