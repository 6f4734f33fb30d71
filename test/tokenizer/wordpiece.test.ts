/**
 * WordPiece on its own, with small hand-made vocabularies: greedy longest match, "##"
 * continuation, the two [UNK] rules, code-point boundaries. Then the fast version (lookahead
 * bounded by the longest token, a second Map for continuations) against a literal transcription
 * of the reference's loop on random words and vocabularies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Vocabulary } from '../../src/tokenizer/vocab.ts';
import { WordPiece } from '../../src/tokenizer/wordpiece.ts';

function vocabOf(tokens: string[]): Vocabulary {
  return new Vocabulary(new Map(tokens.map((token, id) => [token, id])));
}

/** Pieces of `word` as token strings, through WordPiece with the given vocabulary. */
function pieces(tokens: string[], word: string, maxInputCharsPerWord = 100): string[] {
  const vocab = vocabOf(tokens);
  const wordPiece = new WordPiece(vocab, { unkId: vocab.requireId('[UNK]', 'unknown'), continuingSubwordPrefix: '##', maxInputCharsPerWord });
  const out: string[] = [];
  wordPiece.tokenizeWord(word, 0, word.length, (id) => out.push(vocab.idToToken[id]!));
  return out;
}

const toy = ['[UNK]', 'un', '##aff', '##able', 'a', '##b', '##a', 'abc', '##c', 'x', '😀', '##😀', 'able', '##ff'];

describe('WordPiece', () => {
  it.each([
    ['the classic example', 'unaffable', ['un', '##aff', '##able']],
    ['a whole word in the vocabulary', 'able', ['able']],
    ['longest match first', 'abcb', ['abc', '##b']],
    ['one unmatched piece spoils the word', 'abcd', ['[UNK]']],
    ['no first piece', 'zz', ['[UNK]']],
    ['continuation pieces only after the first', 'aaa', ['a', '##a', '##a']],
    ['astral characters', '😀😀', ['😀', '##😀']],
    ['astral character with no piece', 'x😀😀z', ['[UNK]']],
  ])('%s: %s', (_name, word, expected) => {
    expect(pieces(toy, word)).toEqual(expected);
  });

  it('a word of exactly max_input_chars_per_word code points is split; one more is [UNK]', () => {
    expect(pieces(toy, 'a'.repeat(100))).toEqual(['a', ...new Array<string>(99).fill('##a')]);
    expect(pieces(toy, 'a'.repeat(101))).toEqual(['[UNK]']);
  });

  it('counts code points, not UTF-16 units: 100 emoji are 200 units but within the limit', () => {
    expect(pieces(toy, '😀'.repeat(100))).toHaveLength(100);
    expect(pieces(toy, '😀'.repeat(101))).toEqual(['[UNK]']);
  });

  it('never ends a piece between the halves of a surrogate pair', () => {
    // A token ending in a lone high surrogate must not match the first half of '😀'.
    const vocab = ['[UNK]', 'x\uD83D', 'x', '##😀'];
    expect(pieces(vocab, 'x😀')).toEqual(['x', '##😀']);
  });

  it('reports piece ranges inside the text it is given', () => {
    const vocab = vocabOf(toy);
    const wordPiece = new WordPiece(vocab, { unkId: 0, continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
    const ranges: number[][] = [];
    wordPiece.tokenizeWord('>>unaffable<<', 2, 11, (id, start, end) => ranges.push([id, start, end]));
    expect(ranges).toEqual([[1, 2, 4], [2, 4, 7], [3, 7, 11]]);
    ranges.length = 0;
    wordPiece.tokenizeWord('--zz--', 2, 4, (id, start, end) => ranges.push([id, start, end]));
    expect(ranges).toEqual([[0, 2, 4]]);
  });
});

/**
 * The reference loop, transcribed literally (models/wordpiece/mod.rs): for each start, try every
 * end from the end of the word backwards, one code point at a time, prefixing "##" after the
 * first piece.
 */
function plainWordPiece(vocab: Map<string, number>, word: string, unk: number, maxChars: number): number[] {
  const chars = [...word];
  if (chars.length > maxChars) return [unk];
  const out: number[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length;
    let found: number | undefined;
    while (start < end) {
      const piece = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
      found = vocab.get(piece);
      if (found !== undefined) break;
      end--;
    }
    if (found === undefined) return [unk];
    out.push(found);
    start = end;
  }
  return out;
}

describe('WordPiece vs the reference loop', () => {
  it('agrees on random words and vocabularies', () => {
    const alphabet = ['a', 'b', 'c', '😀'];
    const piece = fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 4 }).map((c) => c.join(''));
    const token = fc.tuple(fc.boolean(), piece).map(([continuation, text]) => (continuation ? '##' + text : text));
    fc.assert(
      fc.property(fc.uniqueArray(token, { maxLength: 25 }), fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 14 }), (tokens, chars) => {
        const vocabTokens = ['[UNK]', ...tokens];
        const vocab = vocabOf(vocabTokens);
        const word = chars.join('');
        const wordPiece = new WordPiece(vocab, { unkId: 0, continuingSubwordPrefix: '##', maxInputCharsPerWord: 10 });
        const ids: number[] = [];
        wordPiece.tokenizeWord(word, 0, word.length, (id) => ids.push(id));
        expect(ids).toEqual(plainWordPiece(vocab.tokenToId, word, 0, 10));
      }),
      { numRuns: 3000 },
    );
  });
});
