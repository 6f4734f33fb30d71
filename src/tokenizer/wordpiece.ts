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
 * The reference tries every end position from the end of the word backwards. We start at most
 * `longest piece in the vocabulary` code units ahead instead: nothing longer can match, so the
 * result is the same, and a piece costs O(longest piece) lookups rather than O(word length).
 * Lookups are plain Map gets on the piece string; continuation pieces live in a second Map
 * keyed without their "##", so no string is concatenated per lookup.
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

export class WordPiece {
  readonly unkId: number;
  readonly maxInputCharsPerWord: number;
  /** Every token → id: the lookup for a word's first piece. */
  private readonly firstPieces: Map<string, number>;
  /** 'able' → id of '##able': the lookup for the pieces after the first. */
  private readonly continuationPieces = new Map<string, number>();
  /** Longest key of each map, in UTF-16 code units. */
  private readonly maxFirstLength: number;
  private readonly maxContinuationLength: number;
  /** (id, start, end) of each piece found so far in the current word, reused across words. */
  private readonly pieces: number[] = [];

  constructor(vocab: Vocabulary, options: WordPieceOptions) {
    this.unkId = options.unkId;
    this.maxInputCharsPerWord = options.maxInputCharsPerWord;
    this.firstPieces = vocab.tokenToId;
    const prefix = options.continuingSubwordPrefix;
    let maxFirst = 0;
    let maxContinuation = 0;
    for (const [token, id] of vocab.tokenToId) {
      maxFirst = Math.max(maxFirst, token.length);
      if (prefix.length > 0 && token.startsWith(prefix)) {
        const rest = token.slice(prefix.length);
        this.continuationPieces.set(rest, id);
        maxContinuation = Math.max(maxContinuation, rest.length);
      }
    }
    // With an empty prefix, continuation pieces are ordinary tokens.
    if (prefix.length === 0) {
      this.continuationPieces = vocab.tokenToId;
      maxContinuation = maxFirst;
    }
    this.maxFirstLength = maxFirst;
    this.maxContinuationLength = maxContinuation;
  }

  /**
   * Splits the word text[start, end) and calls `onPiece` for each piece, in order; ranges are
   * indices into `text`. An [UNK] word gives one call covering the whole word.
   */
  tokenizeWord(text: string, start: number, end: number, onPiece: PieceCallback): void {
    if (countCodePoints(text, start, end, this.maxInputCharsPerWord) > this.maxInputCharsPerWord) {
      onPiece(this.unkId, start, end);
      return;
    }
    // First find every piece; only if all of them match are they reported.
    const pieces = this.pieces;
    pieces.length = 0;
    for (let pieceStart = start; pieceStart < end; ) {
      const isFirst = pieceStart === start;
      const lookup = isFirst ? this.firstPieces : this.continuationPieces;
      const maxLength = isFirst ? this.maxFirstLength : this.maxContinuationLength;
      let pieceEnd = Math.min(end, pieceStart + maxLength);
      let id: number | undefined;
      while (pieceEnd > pieceStart) {
        // Never end a piece between the two halves of a surrogate pair.
        if (pieceEnd < end && isLowSurrogate(text.charCodeAt(pieceEnd)) && isHighSurrogate(text.charCodeAt(pieceEnd - 1))) {
          pieceEnd--;
          continue;
        }
        id = lookup.get(text.slice(pieceStart, pieceEnd));
        if (id !== undefined) break;
        pieceEnd--;
      }
      if (id === undefined) {
        onPiece(this.unkId, start, end);
        return;
      }
      pieces.push(id, pieceStart, pieceEnd);
      pieceStart = pieceEnd;
    }
    for (let k = 0; k < pieces.length; k += 3) onPiece(pieces[k]!, pieces[k + 1]!, pieces[k + 2]!);
  }
}
