/**
 * BertTokenizer: text → token ids for BERT models such as all-MiniLM-L6-v2, giving exactly the
 * ids of the Hugging Face fast tokenizer (the Rust `tokenizers` library) that
 * sentence-transformers uses. The pipeline, one module per stage:
 *
 *   raw text
 *     │ special-tokens.ts   cut out "[CLS]", "[SEP]", "[MASK]", ... written in the raw text
 *     │ normalizer.ts       clean, space CJK, strip accents, lowercase (keeps origins for offsets)
 *     │ pre-tokenizer.ts    split on whitespace and punctuation into words
 *     │ wordpiece.ts        greedy longest-match pieces, "##" continuation, [UNK]
 *     │ encoding.ts         [CLS] … [SEP], truncation to maxLength, batch padding
 *     ▼
 *   ids, tokens, offsets, attention mask
 *
 *   const tokenizer = BertTokenizer.fromVocab(vocabText, { maxLength: 256 });
 *   tokenizer.tokenize('Hello world!')  // [101, 7592, 2088, 999, 102]
 *
 * Time is linear in the input length: every stage makes one pass, and WordPiece looks at most
 * `longest vocabulary token` characters ahead. Memory is linear too: the normalised copy and its
 * origins (about 6 bytes per character of ordinary text, up to about 20 for CJK, which the
 * spacing triples), plus the kept tokens, at most maxLength of them: tokens past the limit are
 * counted, not stored.
 *
 * Left out: pairs of texts (token type 1), stride/overflowing windows, left truncation or
 * padding, and any tokenizer other than BERT's WordPiece.
 */
import { BertNormalizer, type NormalizerOptions } from './normalizer.ts';
import { forEachWord } from './pre-tokenizer.ts';
import { SpecialTokenSplitter, type SpecialToken } from './special-tokens.ts';
import { WordPiece } from './wordpiece.ts';
import { TokenCollector, padBatch, type BatchEncoding, type Encoding } from './encoding.ts';
import { Vocabulary, parseVocabTxt } from './vocab.ts';
import { readTokenizerJson } from './tokenizer-json.ts';
import { TokenizerConfigError, describe } from './errors.ts';
import { codePointAt, codePointWidth } from './utf16.ts';

export interface FromVocabOptions {
  /** Longest encoding, [CLS] and [SEP] included. Default 512 (BERT's position limit). */
  maxLength?: number;
  /** Default true (an uncased model). */
  lowercase?: boolean;
  /** Default: same as lowercase, as in the reference. */
  stripAccents?: boolean;
  /** Default true. */
  handleChineseChars?: boolean;
}

export interface FromTokenizerJsonOptions {
  /** Longest encoding, [CLS] and [SEP] included. Default 512. tokenizer.json's own truncation is ignored. */
  maxLength?: number;
}

export interface EncodeOptions {
  /** Overrides the tokenizer's maxLength for this call. */
  maxLength?: number;
  /** Add [CLS] and [SEP] (default true). Without them, maxLength counts content tokens only. */
  addSpecialTokens?: boolean;
}

const DEFAULT_MAX_LENGTH = 512;

/** The special tokens of a BERT vocab.txt, as the Hugging Face BERT tokenizers define them. */
const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Everything a tokenizer is made of, whichever file it came from. */
interface TokenizerParts {
  vocab: Vocabulary;
  normalizer: NormalizerOptions;
  unkId: number;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
  addedTokens: SpecialToken[];
  specialIds: Set<number>;
  clsId: number;
  sepId: number;
  padId: number;
  maxLength: number;
}

export class BertTokenizer {
  /** Number of ids: the highest id + 1. */
  readonly vocabSize: number;
  /** Default longest encoding, [CLS] and [SEP] included. */
  readonly maxLength: number;

  private readonly vocab: Vocabulary;
  private readonly normalizer: BertNormalizer;
  private readonly wordPiece: WordPiece;
  private readonly splitter: SpecialTokenSplitter;
  private readonly specialIds: Set<number>;
  private readonly continuingSubwordPrefix: string;
  private readonly clsId: number;
  private readonly sepId: number;
  private readonly padId: number;

  private constructor(parts: TokenizerParts) {
    this.vocab = parts.vocab;
    this.vocabSize = parts.vocab.size;
    this.maxLength = parts.maxLength;
    this.normalizer = new BertNormalizer(parts.normalizer);
    this.wordPiece = new WordPiece(parts.vocab, {
      unkId: parts.unkId,
      continuingSubwordPrefix: parts.continuingSubwordPrefix,
      maxInputCharsPerWord: parts.maxInputCharsPerWord,
    });
    this.splitter = new SpecialTokenSplitter(parts.addedTokens);
    this.specialIds = parts.specialIds;
    this.continuingSubwordPrefix = parts.continuingSubwordPrefix;
    this.clsId = parts.clsId;
    this.sepId = parts.sepId;
    this.padId = parts.padId;
  }

  /** From the text of a vocab.txt (one token per line, id = line index). */
  static fromVocab(vocabText: string, options: FromVocabOptions = {}): BertTokenizer {
    checkOptionsObject(options, 'fromVocab');
    const vocab = parseVocabTxt(vocabText);
    const lowercase = optionalBoolean(options.lowercase, 'lowercase', true);
    const normalizer: NormalizerOptions = {
      cleanText: true,
      handleChineseChars: optionalBoolean(options.handleChineseChars, 'handleChineseChars', true),
      stripAccents: optionalBoolean(options.stripAccents, 'stripAccents', lowercase),
      lowercase,
    };
    const addedTokens = BERT_SPECIAL_TOKENS.filter((t) => vocab.tokenToId.has(t)).map((content) => ({
      content,
      id: vocab.tokenToId.get(content)!,
    }));
    return new BertTokenizer({
      vocab,
      normalizer,
      unkId: vocab.requireId('[UNK]', 'unknown-word'),
      continuingSubwordPrefix: '##',
      maxInputCharsPerWord: 100,
      addedTokens,
      specialIds: new Set(addedTokens.map((t) => t.id)),
      clsId: vocab.requireId('[CLS]', 'start-of-text'),
      sepId: vocab.requireId('[SEP]', 'end-of-text'),
      padId: vocab.requireId('[PAD]', 'padding'),
      maxLength: checkMaxLength(options.maxLength ?? DEFAULT_MAX_LENGTH),
    });
  }

  /** From a Hugging Face tokenizer.json (its text, or the parsed object). */
  static fromTokenizerJson(json: string | object, options: FromTokenizerJsonOptions = {}): BertTokenizer {
    if (typeof json !== 'string' && (json === null || typeof json !== 'object')) {
      throw new TypeError(`fromTokenizerJson: expected tokenizer.json as a string or a parsed object, got ${describe(json)}`);
    }
    checkOptionsObject(options, 'fromTokenizerJson');
    const settings = readTokenizerJson(json);
    const { vocab } = settings;
    for (const special of [settings.clsToken, settings.sepToken]) {
      if (vocab.idToToken[special.id] !== special.content) {
        throw new TokenizerConfigError(`tokenizer.json: post_processor gives ${special.content} the id ${special.id}, but model.vocab does not`);
      }
    }
    return new BertTokenizer({
      vocab,
      normalizer: settings.normalizer,
      unkId: vocab.requireId(settings.unkToken, 'unknown-word'),
      continuingSubwordPrefix: settings.continuingSubwordPrefix,
      maxInputCharsPerWord: settings.maxInputCharsPerWord,
      addedTokens: settings.addedTokens,
      specialIds: new Set([...settings.specialIds, settings.clsToken.id, settings.sepToken.id]),
      clsId: settings.clsToken.id,
      sepId: settings.sepToken.id,
      padId: vocab.requireId('[PAD]', 'padding'),
      maxLength: checkMaxLength(options.maxLength ?? DEFAULT_MAX_LENGTH),
    });
  }

  /** Ids, token strings and offsets of one text. */
  encode(text: string, options: EncodeOptions = {}): Encoding {
    requireText(text, 'encode');
    checkOptionsObject(options, 'encode');
    const maxLength = options.maxLength === undefined ? this.maxLength : checkMaxLength(options.maxLength);
    const addSpecialTokens = optionalBoolean(options.addSpecialTokens, 'addSpecialTokens', true);
    const content = this.collect(text, addSpecialTokens ? maxLength - 2 : maxLength, true);

    const ids: number[] = [];
    const offsets: Array<[number, number]> = [];
    if (addSpecialTokens) {
      ids.push(this.clsId);
      offsets.push([0, 0]);
    }
    for (let t = 0; t < content.ids.length; t++) {
      ids.push(content.ids[t]!);
      offsets.push([content.starts[t]!, content.ends[t]!]);
    }
    if (addSpecialTokens) {
      ids.push(this.sepId);
      offsets.push([0, 0]);
    }
    return {
      ids,
      tokens: ids.map((id) => this.vocab.idToToken[id]!),
      offsets,
      attentionMask: new Array<number>(ids.length).fill(1),
      tokenTypeIds: new Array<number>(ids.length).fill(0),
      untruncatedLength: content.count + (addSpecialTokens ? 2 : 0),
    };
  }

  /** Just the ids of one text: [CLS] … [SEP], truncated to maxLength. */
  tokenize(text: string, options: { maxLength?: number } = {}): number[] {
    requireText(text, 'tokenize');
    checkOptionsObject(options, 'tokenize');
    const maxLength = options.maxLength === undefined ? this.maxLength : checkMaxLength(options.maxLength);
    const content = this.collect(text, maxLength - 2, false);
    const ids = [this.clsId];
    for (let t = 0; t < content.ids.length; t++) ids.push(content.ids[t]!);
    ids.push(this.sepId);
    return ids;
  }

  /** Several texts, right-padded with [PAD] to the longest, with attention masks. */
  encodeBatch(texts: string[], options: { maxLength?: number } = {}): BatchEncoding {
    if (!Array.isArray(texts)) throw new TypeError(`encodeBatch: expected an array of strings, got ${describe(texts)}`);
    texts.forEach((text, i) => {
      if (typeof text !== 'string') throw new TypeError(`encodeBatch: texts[${i}] must be a string, got ${describe(text)}`);
    });
    return padBatch(
      texts.map((text) => this.tokenize(text, options)),
      this.padId,
    );
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.tokenToId.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.vocab.idToToken[id] : undefined;
  }

  /**
   * Token strings joined for display: a space between tokens, and "##" pieces glued to the token
   * before them ('un', '##aff', '##able' → 'unaffable'). Lowercasing and stripped accents are not
   * undone, and no spacing around punctuation is tidied.
   */
  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (!Array.isArray(ids)) throw new TypeError(`decode: expected an array of token ids, got ${describe(ids)}`);
    checkOptionsObject(options, 'decode');
    const skipSpecialTokens = optionalBoolean(options.skipSpecialTokens, 'skipSpecialTokens', false);
    const prefix = this.continuingSubwordPrefix;
    let out = '';
    ids.forEach((id, i) => {
      const token = this.idToToken(id);
      if (token === undefined) throw new RangeError(`decode: ids[${i}] = ${describe(id)} is not an id of this vocabulary`);
      if (skipSpecialTokens && this.specialIds.has(id)) return;
      if (out.length > 0 && prefix.length > 0 && token.startsWith(prefix)) out += token.slice(prefix.length);
      else out += (out.length > 0 ? ' ' : '') + token;
    });
    return out;
  }

  /** Runs the pipeline on `text`, keeping the first `limit` content tokens and counting all. */
  private collect(text: string, limit: number, wantOffsets: boolean): TokenCollector {
    const collector = new TokenCollector(limit, wantOffsets);
    this.splitter.split(
      text,
      (start, end) => this.tokenizeStretch(text, start, end, collector),
      (id, start, end) => collector.add(id, start, end),
    );
    return collector;
  }

  /** Normalise, split into words, and WordPiece one stretch of text between special tokens. */
  private tokenizeStretch(input: string, start: number, end: number, collector: TokenCollector): void {
    const { text, origins } = this.normalizer.normalize(input, start, end);
    // Piece ranges index the normalised text; origins map them back to the input.
    const onPiece = (id: number, pieceStart: number, pieceEnd: number): void => {
      const last = origins[pieceEnd - 1]!;
      collector.add(id, origins[pieceStart]!, last + codePointWidth(codePointAt(input, last, end)));
    };
    forEachWord(text, (wordStart, wordEnd) => this.wordPiece.tokenizeWord(text, wordStart, wordEnd, onPiece));
  }
}

function requireText(text: unknown, method: string): asserts text is string {
  if (typeof text !== 'string') throw new TypeError(`${method}: expected the text as a string, got ${describe(text)}`);
}

function checkOptionsObject(options: unknown, method: string): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${method}: options must be an object, got ${describe(options)}`);
}

function optionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** maxLength must leave room for [CLS] and [SEP]. */
function checkMaxLength(maxLength: unknown): number {
  if (typeof maxLength !== 'number' || !Number.isInteger(maxLength) || maxLength < 2) {
    throw new RangeError(`maxLength must be an integer >= 2, got ${describe(maxLength)}`);
  }
  return maxLength;
}
