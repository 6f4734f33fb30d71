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
  /** token → id */
  readonly tokenToId: Map<string, number>;
  /** [size] id → token; a hole where no token has that id. */
  readonly idToToken: Array<string | undefined>;

  /** `idToToken`, when the caller has it already, must be the reverse of `tokenToId`. */
  constructor(tokenToId: Map<string, number>, idToToken?: Array<string | undefined>) {
    if (tokenToId.size === 0) throw new VocabError('the vocabulary is empty');
    this.tokenToId = tokenToId;
    if (idToToken !== undefined) {
      this.idToToken = idToToken;
      return;
    }
    let maxId = -1;
    for (const id of tokenToId.values()) maxId = Math.max(maxId, id);
    this.idToToken = new Array<string | undefined>(maxId + 1).fill(undefined);
    for (const [token, id] of tokenToId) this.idToToken[id] = token;
  }

  /** Number of ids, i.e. the highest id + 1: the row count the embedding matrix must have. */
  get size(): number {
    return this.idToToken.length;
  }

  /** The id of `token`, or a VocabError naming what is missing and why it is needed. */
  requireId(token: string, role: string): number {
    const id = this.tokenToId.get(token);
    if (id === undefined) throw new VocabError(`the vocabulary has no ${JSON.stringify(token)} token (needed as the ${role} token)`);
    return id;
  }
}

/** Parses the text of a vocab.txt file. */
export function parseVocabTxt(text: string): Vocabulary {
  if (typeof text !== 'string') throw new TypeError(`vocab.txt: expected the file's text as a string, got ${describe(text)}`);
  if (text.charCodeAt(0) === 0xFEFF) text = text.slice(1);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // the final newline
  if (lines.length === 0) throw new VocabError('vocab.txt is empty');
  // Load time matters here (30522 lines, before the first embedding), hence the two shortcuts:
  // a line ending in a printable ASCII character has nothing to trim, and the id → token array
  // is the list of lines itself, fixed up only when a token appears twice.
  const tokenToId = new Map<string, number>();
  const idToToken: Array<string | undefined> = new Array(lines.length);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const last = line.charCodeAt(line.length - 1);
    const token = last > 0x20 && last < 0x7f ? line : trimEnd(line);
    tokenToId.set(token, index);
    idToToken[index] = token;
  }
  if (tokenToId.size !== lines.length) {
    // A token on two lines: the later line won the map, so the earlier id has no token.
    for (let id = 0; id < idToToken.length; id++) if (tokenToId.get(idToToken[id]!) !== id) idToToken[id] = undefined;
  }
  return new Vocabulary(tokenToId, idToToken);
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
  return new Vocabulary(tokenToId);
}

/** Rust's `str::trim_end`: drops trailing White_Space characters. */
function trimEnd(line: string): string {
  let end = line.length;
  while (end > 0 && isWhitespace(line.charCodeAt(end - 1))) end--;
  return end === line.length ? line : line.slice(0, end);
}
