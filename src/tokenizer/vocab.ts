/**
 * The vocabulary: token string ↔ id, loaded from `vocab.txt` or from the `model.vocab` object of
 * `tokenizer.json`, and checked at load.
 *
 * vocab.txt has one token per line; a token's id is its line index (0-based). This is how the
 * reference reads it (Rust `WordPiece::read_file`: `for (index, line) in lines().enumerate() {
 * vocab.insert(line.trim_end(), index) }`, and Python's `load_vocab` likewise), so:
 *   - a trailing "\r" (Windows line ends) and other trailing whitespace is not part of the token;
 *   - a final newline does not add an empty token;
 *   - if a token appears on two lines, the later line wins: the map insert overwrites, so the
 *     token encodes to the later index and the earlier index has no token (idToToken gives
 *     undefined, like the reference's reverse map);
 *   - one difference: a UTF-8 byte-order mark at the very start is dropped (the reference would
 *     keep it as part of the first token, which would make "[PAD]" disappear).
 */
import { VocabError, describe } from './errors.ts';
import { isWhitespace } from './char-classes.ts';

/** Largest id accepted: ids index an array (and an embedding matrix), so they must stay small. */
const MAX_ID = 0xFFFFFF;

export class Vocabulary {
  /** token → id, once built (see `tokenToId`). */
  private index: Map<string, number> | null;
  /** [size] id → token; a hole where no token has that id (once the index is built, see below). */
  private readonly tokens: Array<string | undefined>;

  /**
   * From a token → id map, or from the id → token list alone (`fromTokenList`): then the map is
   * built on first use. `tokens`, when given with the map, must be its reverse.
   */
  private constructor(tokenToId: Map<string, number> | null, tokens?: Array<string | undefined>) {
    this.index = tokenToId;
    if (tokens !== undefined) {
      this.tokens = tokens;
      return;
    }
    let maxId = -1;
    for (const id of tokenToId!.values()) maxId = Math.max(maxId, id);
    this.tokens = new Array<string | undefined>(maxId + 1).fill(undefined);
    for (const [token, id] of tokenToId!) this.tokens[id] = token;
  }

  static fromMap(tokenToId: Map<string, number>): Vocabulary {
    if (tokenToId.size === 0) throw new VocabError('the vocabulary is empty');
    return new Vocabulary(tokenToId);
  }

  /**
   * From the token of each id, in id order (the lines of vocab.txt); where a token appears twice,
   * the later id wins. The token → id map is not built here but on first use: 30522 map inserts
   * take 5-10 ms, which a model load would otherwise spend before the encoder is ready, though
   * only the tokenisation of a text needs them (a caller that embeds token ids never does).
   */
  static fromTokenList(tokens: string[]): Vocabulary {
    if (tokens.length === 0) throw new VocabError('the vocabulary is empty');
    return new Vocabulary(null, tokens);
  }

  /** token → id; built on first use when the vocabulary came from a token list. */
  get tokenToId(): Map<string, number> {
    return this.index ?? this.buildIndex();
  }

  /** [size] id → token; a hole where no token has that id (its token appears again later). */
  get idToToken(): ReadonlyArray<string | undefined> {
    if (this.index === null) this.buildIndex(); // finds the holes
    return this.tokens;
  }

  /** Number of ids, i.e. the highest id + 1: the row count the embedding matrix must have. */
  get size(): number {
    return this.tokens.length;
  }

  /**
   * The id of `token`, or undefined. Before the map is built (a few lookups while a tokenizer is
   * set up) a scan from the end, which gives the later of two equal lines as the map would.
   */
  idOf(token: string): number | undefined {
    if (this.index !== null) return this.index.get(token);
    const id = this.tokens.lastIndexOf(token);
    return id < 0 ? undefined : id;
  }

  /** The id of `token`, or a VocabError naming what is missing and why it is needed. */
  requireId(token: string, role: string): number {
    const id = this.idOf(token);
    if (id === undefined) throw new VocabError(`the vocabulary has no ${JSON.stringify(token)} token (needed as the ${role} token)`);
    return id;
  }

  private buildIndex(): Map<string, number> {
    const tokens = this.tokens;
    const index = new Map<string, number>();
    for (let id = 0; id < tokens.length; id++) index.set(tokens[id]!, id);
    if (index.size !== tokens.length) {
      // A token on two lines: the later line won the map, so the earlier id has no token.
      for (let id = 0; id < tokens.length; id++) if (index.get(tokens[id]!) !== id) tokens[id] = undefined;
    }
    this.index = index;
    return index;
  }
}

/** Parses the text of a vocab.txt file. */
export function parseVocabTxt(text: string): Vocabulary {
  if (typeof text !== 'string') throw new TypeError(`vocab.txt: expected the file's text as a string, got ${describe(text)}`);
  if (text.charCodeAt(0) === 0xFEFF) text = text.slice(1);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // the final newline
  if (lines.length === 0) throw new VocabError('vocab.txt is empty');
  // Load time matters here (30522 lines, before the first embedding): a line ending in a
  // printable ASCII character has nothing to trim, and the token → id map waits for its first use.
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const last = line.charCodeAt(line.length - 1);
    if (!(last > 0x20 && last < 0x7f)) lines[index] = trimEnd(line);
  }
  return Vocabulary.fromTokenList(lines);
}

/** Checks and converts the `model.vocab` object of tokenizer.json ({ token: id }). */
export function vocabularyFromObject(vocab: unknown): Vocabulary {
  if (vocab === null || typeof vocab !== 'object' || Array.isArray(vocab)) {
    throw new VocabError(`tokenizer.json: model.vocab must be an object of token → id, got ${describe(vocab)}`);
  }
  const tokenToId = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_ID) {
      throw new VocabError(`tokenizer.json: model.vocab[${JSON.stringify(token)}] must be an integer id from 0 to ${MAX_ID}, got ${describe(id)}`);
    }
    const other = seen.get(id);
    if (other !== undefined) {
      throw new VocabError(`tokenizer.json: tokens ${JSON.stringify(other)} and ${JSON.stringify(token)} share id ${id}`);
    }
    seen.set(id, token);
    tokenToId.set(token, id);
  }
  return Vocabulary.fromMap(tokenToId);
}

/** Rust's `str::trim_end`: drops trailing White_Space characters. */
function trimEnd(line: string): string {
  let end = line.length;
  while (end > 0 && isWhitespace(line.charCodeAt(end - 1))) end--;
  return end === line.length ? line : line.slice(0, end);
}
