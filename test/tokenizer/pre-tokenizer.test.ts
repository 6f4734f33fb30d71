/**
 * The BERT pre-tokeniser on its own: whitespace separates words and is dropped, punctuation
 * (ASCII symbols included, Unicode P* as of 8.0) is a word of its own. Then the ranges given by
 * forEachWord against a plain regex-free split on random strings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forEachWord, preTokenize } from '../../src/tokenizer/pre-tokenizer.ts';
import { isPunctuation, isWhitespace } from '../../src/tokenizer/char-classes.ts';

describe('preTokenize', () => {
  it.each([
    ['sentence', 'hello, world!', ['hello', ',', 'world', '!']],
    ['apostrophe', "don't", ['don', "'", 't']],
    ['ASCII symbols are punctuation', 'a+b=c$d^e`f|g~h', ['a', '+', 'b', '=', 'c', '$', 'd', '^', 'e', '`', 'f', '|', 'g', '~', 'h']],
    ['runs of spaces', '  many   spaces  ', ['many', 'spaces']],
    ['empty', '', []],
    ['only spaces', ' \t\n ', []],
    ['each punctuation mark alone', '...', ['.', '.', '.']],
    ['Spanish marks', '¿qué?', ['¿', 'qué', '?']],
    ['guillemets', '«mot»', ['«', 'mot', '»']],
    ['numbers', '1,000.50', ['1', ',', '000', '.', '50']],
    ['currency and other symbols are not punctuation', '€100 ©2024', ['€100', '©2024']],
    ['emoji stay inside words', 'emoji😀word', ['emoji😀word']],
    ['U+2E43 became punctuation after Unicode 8.0: not split', 'a\u2E43b', ['a\u2E43b']],
    ['U+166D was punctuation in 8.0: split', 'a\u166Db', ['a', '\u166D', 'b']],
    ['astral punctuation (U+1039F)', 'a\u{1039F}b', ['a', '\u{1039F}', 'b']],
    ['Unicode whitespace splits', 'a\u3000b\u00A0c', ['a', 'b', 'c']],
    ['CJK after normalisation: already spaced', ' 中  文 ', ['中', '文']],
  ])('%s', (_name, text, expected) => {
    expect(preTokenize(text)).toEqual(expected);
  });

  it('reports ranges into the text', () => {
    const ranges: Array<[number, number]> = [];
    forEachWord('ab, c😀d', (start, end) => ranges.push([start, end]));
    expect(ranges).toEqual([[0, 2], [2, 3], [4, 8]]);
  });
});

/** Plain version: classify each code point, build words by appending. */
function plainPreTokenize(text: string): string[] {
  const words: string[] = [];
  let word = '';
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    if (isWhitespace(cp) || isPunctuation(cp)) {
      if (word !== '') words.push(word);
      word = '';
      if (isPunctuation(cp)) words.push(char);
    } else {
      word += char;
    }
  }
  if (word !== '') words.push(word);
  return words;
}

describe('forEachWord vs the plain split', () => {
  it('agrees on random strings', () => {
    const units = fc.oneof(fc.constantFrom(0x20, 0x2C, 0x61, 0x62, 0x3000, 0x2E43, 0x166D, 0xD83D, 0xDE00, 0xD800), fc.integer({ min: 0, max: 0xFFFF }));
    fc.assert(
      fc.property(fc.array(units, { maxLength: 40 }), (codes) => {
        const text = String.fromCharCode(...codes);
        expect(preTokenize(text)).toEqual(plainPreTokenize(text));
      }),
      { numRuns: 2000 },
    );
  });
});
