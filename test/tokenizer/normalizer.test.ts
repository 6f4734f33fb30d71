/**
 * The BERT normaliser on its own: a table of hard strings with the text the reference's rules
 * give (reasoned from the rules in test/fixtures/tokenizer/README.md, not copied from our
 * output), the origins kept for offsets, and the fast single pass against the plain
 * definition (normalizeCodePoint applied to each code point) on random strings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BertNormalizer, normalizeCodePoint, type NormalizerOptions } from '../../src/tokenizer/normalizer.ts';
import { vocabText } from './helpers.ts';

const allOn: NormalizerOptions = { cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true };
const normalizer = new BertNormalizer(allOn);
const normalize = (text: string, options = allOn) => new BertNormalizer(options).normalize(text).text;

describe('BertNormalizer, all-MiniLM-L6-v2 settings (all four steps on)', () => {
  it.each([
    ['plain ASCII', 'Hello World', 'hello world'],
    ['precomposed accent', 'Héllo Wörld', 'hello world'],
    ['combining accent', 'e\u0301te\u0301', 'ete'],
    ['no final sigma: per code point', 'ΟΔΥΣΣΕΥΣ', 'οδυσσευσ'],
    ['Greek with tonos and breathing', 'Ὀδυσσεύς', 'οδυσσευς'],
    ['dotted capital I: stripped, then lowercased', 'İstanbul', 'istanbul'],
    ['titlecase digraph: no canonical decomposition, lowercased', 'ǅ', 'ǆ'],
    ['Angstrom sign decomposes to A + ring', '\u212B', 'a'],
    ['sharp s and capital sharp s', 'ßẞ', 'ßß'],
    ['NUL, U+FFFD deleted', 'a\u0000b\uFFFDc', 'abc'],
    ['VT, FF, NEL are control: deleted, not spaces', 'a\u000Bb\u000Cc\u0085d', 'abcd'],
    ['U+001C..U+001F deleted', 'a\u001Cb\u001Fc', 'abc'],
    ['tab, newline, CR become spaces', 'a\tb\nc\rd', 'a b c d'],
    ['Unicode spaces become spaces', 'a\u00A0b\u3000c\u2028d\u2003e', 'a b c d e'],
    ['format characters deleted', '\uFEFFa\u200Bb\u00ADc\u200Dd', 'abcd'],
    ['private use deleted', 'a\uE000b\u{F0000}c', 'abc'],
    ['unassigned (Cn) kept', 'ab\u0378cd', 'ab\u0378cd'],
    ['a mark added after 8.0 is kept', 'a\u1AC0', 'a\u1AC0'],
    ['CJK ideographs spaced', '中文', ' 中  文 '],
    ['CJK extension B spaced', 'x\u{20000}y', 'x \u{20000} y'],
    ['U+2B820 is outside the crate\'s ranges', 'x\u{2B820}y', 'x\u{2B820}y'],
    ['CJK compatibility ideograph: spaced, then NFD', '\uF900', ' \u8C48 '],
    ['Hiragana is not spaced; its voicing mark (U+3099, Mn) is stripped', 'ひらがな', 'ひらかな'],
    ['Katakana likewise', 'ガ', 'カ'],
    ['Hangul syllable decomposes into jamo', '한', '\u1112\u1161\u11AB'],
    ['compatibility forms are left alone (NFD, not NFKD)', 'ﬁ ｶ ①', 'ﬁ ｶ ①'],
    ['lone high surrogate deleted', 'a\uD800b', 'ab'],
    ['lone low surrogate deleted', '\uDC00a\uDBFF', 'a'],
    ['surrogate pair kept', 'a😀b', 'a😀b'],
    ['empty', '', ''],
  ])('%s', (_name, input, expected) => {
    expect(normalizer.normalize(input).text).toBe(expected);
  });
});

describe('BertNormalizer options', () => {
  it('lowercase without stripping accents keeps marks, and lowercases İ to i + U+0307', () => {
    const options = { ...allOn, stripAccents: false };
    expect(normalize('Héllo', options)).toBe('héllo');
    expect(normalize('İ', options)).toBe('i\u0307');
  });

  it('cased: no lowercase, no stripping', () => {
    expect(normalize('Héllo', { ...allOn, stripAccents: false, lowercase: false })).toBe('Héllo');
  });

  it('strip accents without lowercase', () => {
    expect(normalize('Héllo', { ...allOn, lowercase: false })).toBe('Hello');
  });

  it('without clean_text, controls stay and a lone surrogate becomes U+FFFD', () => {
    const options = { ...allOn, cleanText: false };
    expect(normalize('a\u0000b\tc', options)).toBe('a\u0000b\tc');
    expect(normalize('a\uD800b', options)).toBe('a\uFFFDb');
  });

  it('without CJK handling, ideographs are not spaced', () => {
    expect(normalize('中文', { ...allOn, handleChineseChars: false })).toBe('中文');
  });
});

describe('normalizeCodePoint', () => {
  it.each([
    [0x41, 'a'],
    [0x61, null],
    [0x20, null],
    [0x0A, ' '],
    [0x0C, ''],
    [0xE9, 'e'],
    [0x4E16, ' 世 '],
    [0xD800, ''],
  ])('U+%s', (cp, expected) => {
    expect(normalizeCodePoint(cp, allOn)).toBe(expected);
  });
});

describe('origins', () => {
  it('map every output code unit to the input character it came from', () => {
    const { text, origins } = normalizer.normalize('Héllo 世界');
    expect(text).toBe('hello  世  界 ');
    expect([...origins]).toEqual([0, 1, 2, 3, 4, 5, 6, 6, 6, 7, 7, 7]);
  });

  it('a surrogate pair gives both halves the same origin; deleted characters leave no trace', () => {
    const { text, origins } = normalizer.normalize('a😀\u200Bé\u0301x');
    expect(text).toBe('a😀ex');
    expect([...origins]).toEqual([0, 1, 1, 4, 6]);
  });

  it('are indices into the whole input when normalising a range of it', () => {
    const { text, origins } = normalizer.normalize('[CLS]Ab', 5, 7);
    expect(text).toBe('ab');
    expect([...origins]).toEqual([5, 6]);
  });
});

/** The plain definition: normalizeCodePoint on every code point, concatenated. */
function plainNormalize(input: string): { text: string; origins: number[] } {
  let text = '';
  const origins: number[] = [];
  for (let i = 0; i < input.length; ) {
    const cp = input.codePointAt(i)!; // a lone surrogate comes back as itself
    const char = String.fromCodePoint(cp);
    const out = normalizeCodePoint(cp, allOn) ?? char;
    text += out;
    for (let k = 0; k < out.length; k++) origins.push(i);
    i += cp > 0xFFFF ? 2 : 1;
  }
  return { text, origins };
}

/** Strings full of the characters the normaliser treats specially, lone surrogates included. */
const hardUnits = fc.oneof(
  fc.constantFrom(0x41, 0x61, 0x20, 0x09, 0x0B, 0x00, 0xE9, 0x301, 0x130, 0x3A3, 0x4E2D, 0xF900, 0xAC00, 0x200B, 0xFFFD, 0x378, 0xD800, 0xDC00, 0x3000),
  fc.integer({ min: 0, max: 0xFFFF }),
);
const hardString = fc.oneof(
  fc.array(hardUnits, { maxLength: 40 }).map((units) => String.fromCharCode(...units)),
  fc.array(fc.integer({ min: 0, max: 0x10FFFF }), { maxLength: 20 }).map((cps) => String.fromCodePoint(...cps)),
);

describe('single pass vs the plain definition', () => {
  it('gives the same text and origins on a long text (past the reused buffer)', () => {
    const input = 'Ab中é😀\u200B\uD800 '.repeat(12_000);
    const fast = normalizer.normalize(input);
    const plain = plainNormalize(input);
    expect(fast.text).toBe(plain.text);
    expect(Array.from(fast.origins)).toEqual(plain.origins);
  });

  it('results do not share buffers between calls', () => {
    const first = normalizer.normalize('Abc');
    normalizer.normalize('xyz!');
    expect([...first.origins]).toEqual([0, 1, 2]);
  });

  it('gives the same text and origins on random strings', () => {
    fc.assert(
      fc.property(hardString, (input) => {
        const fast = normalizer.normalize(input);
        const plain = plainNormalize(input);
        expect(fast.text).toBe(plain.text);
        expect([...fast.origins]).toEqual(plain.origins);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the assumption behind skipping NFD reordering', () => {
  it('no character of the vocabulary is a combining mark (non-zero combining class) that survives accent stripping', () => {
    // c has a non-zero combining class iff NFD moves it before U+0345 (class 240, the highest).
    const isNonStarter = (c: string) => c === '\u0345' || ('\u0345' + c).normalize('NFD').startsWith(c.normalize('NFD'));
    expect(['\u0301', '\u{1D165}', 'a', 'é'].map(isNonStarter)).toEqual([true, true, false, false]);
    const chars = new Set<string>();
    for (const token of vocabText.split('\n')) for (const c of token.replace(/^##/, '')) chars.add(c);
    const survivors = [...chars].filter((c) => isNonStarter(c) && normalizeCodePoint(c.codePointAt(0)!, allOn) !== '');
    expect(survivors).toEqual([]);
  });
});
