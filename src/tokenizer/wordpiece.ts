/**
 * WordPiece (Hugging Face `tokenizers`, models/wordpiece/mod.rs): splits one word into vocabulary
 * pieces by greedy longest match, left to right. Every piece after the first is looked up with
 * the continuation prefix "##".
 *
 *   'unaffable' → 'un' '##aff' '##able'
 *   'hello'     → 'hello'
 *
 * A word becomes the single token [UNK] when
 *   - it has more than `maxInputCharsPerWord` (100) code points, counted after normalisation, or
 *   - at some position no piece matches at all: one unknown character spoils the whole word.
 *
 * The reference tries every end position from the end of the word backwards, looking each
 * candidate up in a hash map. We walk a trie of the vocabulary forward from the piece's start
 * instead and remember the last token passed: the same longest match, found in at most
 * `longest token` steps and without building a string per candidate. Continuation pieces start
 * from the trie node of "##", since "##able" is stored as the characters '#', '#', 'a', ….
 * Before any of that, a word that is itself a token is found with one Map lookup.
 */
import type { Vocabulary } from './vocab.ts';
import { countCodePoints, isHighSurrogate, isLowSurrogate } from './utf16.ts';

export interface WordPieceOptions {
  /** Id of the [UNK] token. */
  unkId: number;
  /** Prefix of continuation pieces, "##" for BERT. */
  continuingSubwordPrefix: string;
  /** Longer words (in code points) become [UNK]; 100 for BERT. */
  maxInputCharsPerWord: number;
}

/** Receives one piece: its id and its [start, end) range in the text given to tokenizeWord. */
export type PieceCallback = (id: number, start: number, end: number) => void;

/**
 * The vocabulary as a trie over UTF-16 code units. Nodes are numbered from 0 (the root); all
 * edges live in one Map keyed by `node * 65536 + unit`, an exact integer, which is far smaller
 * than a Map per node.
 */
class TokenTrie {
  static readonly ROOT = 0;
  /** (node * 65536 + code unit) → child node */
  private readonly edges = new Map<number, number>();
  /** [nodes] id of the token ending at each node, or -1. */
  readonly tokenIds: number[] = [-1];

  insert(token: string, id: number): void {
    let node = TokenTrie.ROOT;
    for (let i = 0; i < token.length; i++) {
      const key = node * 0x10000 + token.charCodeAt(i);
      let child = this.edges.get(key);
      if (child === undefined) {
        child = this.tokenIds.length;
        this.tokenIds.push(-1);
        this.edges.set(key, child);
      }
      node = child;
    }
    this.tokenIds[node] = id;
  }

  /** The node reached from `node` by `unit`, or -1. */
  child(node: number, unit: number): number {
    return this.edges.get(node * 0x10000 + unit) ?? -1;
  }

  /** The node reached from the root by the whole of `text`, or -1. */
  walk(text: string): number {
    let node = TokenTrie.ROOT;
    for (let i = 0; i < text.length && node >= 0; i++) node = this.child(node, text.charCodeAt(i));
    return node;
  }
}

export class WordPiece {
  readonly unkId: number;
  readonly maxInputCharsPerWord: number;
  /** Every token → id, for the whole-word fast path. */
  private readonly wholeWords: Map<string, number>;
  private readonly continuingSubwordPrefix: string;
  /**
   * The trie of every token, and the node of "##" where continuation pieces start (-1 if no
   * token starts with it). Built on the first word that is not a token of its own: building it
   * is most of a tokenizer's construction time, and many short texts never need it.
   */
  private splitter: { trie: TokenTrie; continuationRoot: number } | null = null;
  /** (id, start, end) of each piece found so far in the current word; reused across words. */
  private readonly pieces: number[] = [];

  constructor(vocab: Vocabulary, options: WordPieceOptions) {
    this.unkId = options.unkId;
    this.maxInputCharsPerWord = options.maxInputCharsPerWord;
    this.wholeWords = vocab.tokenToId;
    this.continuingSubwordPrefix = options.continuingSubwordPrefix;
  }

  private get trieOfTokens(): { trie: TokenTrie; continuationRoot: number } {
    if (this.splitter === null) {
      const trie = new TokenTrie();
      for (const [token, id] of this.wholeWords) trie.insert(token, id);
      this.splitter = { trie, continuationRoot: trie.walk(this.continuingSubwordPrefix) };
    }
    return this.splitter;
  }

  /**
   * Splits the word text[start, end) and calls `onPiece` for each piece, in order; ranges are
   * indices into `text`. An [UNK] word gives one call covering the whole word.
   */
  tokenizeWord(text: string, start: number, end: number, onPiece: PieceCallback): void {
    // A word has at most as many code points as code units, so short words skip the count.
    const limit = this.maxInputCharsPerWord;
    if (end - start > limit && countCodePoints(text, start, end, limit) > limit) {
      onPiece(this.unkId, start, end);
      return;
    }
    // Fast path: most words of ordinary text are a token of their own, and then the longest
    // match is the whole word. One hash lookup instead of a walk; the result is the same.
    const whole = this.wholeWords.get(text.slice(start, end));
    if (whole !== undefined) {
      onPiece(whole, start, end);
      return;
    }
    // First find every piece; only if all of them match are they reported.
    const pieces = this.pieces;
    const { trie, continuationRoot } = this.trieOfTokens;
    let count = 0;
    for (let pieceStart = start; pieceStart < end; ) {
      const root = pieceStart === start ? TokenTrie.ROOT : continuationRoot;
      const [id, pieceEnd] = this.longestMatch(trie, text, pieceStart, end, root);
      if (id < 0) {
        onPiece(this.unkId, start, end);
        return;
      }
      pieces[3 * count] = id;
      pieces[3 * count + 1] = pieceStart;
      pieces[3 * count + 2] = pieceEnd;
      count++;
      pieceStart = pieceEnd;
    }
    for (let k = 0; k < count; k++) onPiece(pieces[3 * k]!, pieces[3 * k + 1]!, pieces[3 * k + 2]!);
  }

  /**
   * The longest token that text[from, …) starts with, walking the trie from `root`:
   * [id, end], or [-1, from] if none.
   */
  private longestMatch(trie: TokenTrie, text: string, from: number, end: number, root: number): [number, number] {
    let bestId = -1;
    let bestEnd = from;
    let node = root;
    for (let i = from; i < end && node >= 0; i++) {
      node = trie.child(node, text.charCodeAt(i));
      if (node < 0) break;
      const id = trie.tokenIds[node]!;
      // A piece may not end between the two halves of a surrogate pair.
      const midPair = i + 1 < end && isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1));
      if (id >= 0 && !midPair) {
        bestId = id;
        bestEnd = i + 1;
      }
    }
    return [bestId, bestEnd];
  }
}
