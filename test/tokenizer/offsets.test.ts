/**
 * Token offsets: each token's [start, end) is the span of the input (UTF-16 indices) it came
 * from. Checked on hand-picked strings (words, accents, CJK, emoji, specials), then on every
 * reference case: spans are in order, inside the input, never split a surrogate pair, and the
 * normalised span holds the token's text.
 */
import { describe, expect, it } from 'vitest';
import { BertNormalizer } from '../../src/tokenizer/index.ts';
import { miniLm, readFixtureCases } from './helpers.ts';

/** Each token with the input text its offsets point at. */
function spans(text: string): Array<[string, string]> {
  const encoding = miniLm.encode(text);
  return encoding.tokens.map((token, t) => [token, text.slice(...encoding.offsets[t]!)]);
}

describe('offsets on hand-picked strings', () => {
  it.each([
    ['words and punctuation', 'Hello, World!', [['hello', 'Hello'], [',', ','], ['world', 'World'], ['!', '!']]],
    ['pieces of one word', 'Tokenization', [['token', 'Token'], ['##ization', 'ization']]],
    ['precomposed accents', 'Café naïve', [['cafe', 'Café'], ['naive', 'naïve']]],
    ['a combining accent is deleted, so it is outside the span', 'cafe\u0301 x', [['cafe', 'cafe'], ['x', 'x']]],
    ['CJK ideographs', '我中文人', [['我', '我'], ['中', '中'], ['文', '文'], ['人', '人']]],
    ['an emoji word is [UNK] over the whole word', 'hi 😀😀 there', [['hi', 'hi'], ['[UNK]', '😀😀'], ['there', 'there']]],
    ['special tokens written in the text', 'a[SEP]b [MASK]', [['a', 'a'], ['[SEP]', '[SEP]'], ['b', 'b'], ['[MASK]', '[MASK]']]],
    ['deleted characters inside a word', 'wo\u200Brld', [['world', 'wo\u200Brld']]],
    ['lone surrogates', '\uD800ab\uDC00', [['ab', 'ab']]],
    ['a word spanning an astral letter', 'x𝔘y', [['[UNK]', 'x𝔘y']]],
  ])('%s', (_name, text, expected) => {
    const all = spans(text);
    expect(all[0]).toEqual(['[CLS]', '']);
    expect(all[all.length - 1]).toEqual(['[SEP]', '']);
    expect(all.slice(1, -1)).toEqual(expected);
  });

  it('template tokens get [0, 0]', () => {
    const { offsets } = miniLm.encode('abc');
    expect(offsets[0]).toEqual([0, 0]);
    expect(offsets[offsets.length - 1]).toEqual([0, 0]);
  });
});

describe('offsets on every reference case', () => {
  const normalizer = new BertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true });
  const specials = new Set(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);

  it('are ordered, inside the input, whole code points, and cover the token text', () => {
    const problems: string[] = [];
    for (const c of readFixtureCases()) {
      const { tokens, offsets } = miniLm.encode(c.text);
      let previous: [number, number] = [0, 0];
      for (let t = 1; t < tokens.length - 1; t++) {
        const [start, end] = offsets[t]!;
        const token = tokens[t]!;
        const splitsPair = (i: number) => i > 0 && i < c.text.length && /[\uD800-\uDBFF]/.test(c.text[i - 1]!) && /[\uDC00-\uDFFF]/.test(c.text[i]!);
        // Pieces of one character (a Hangul syllable's jamo) share its span: equal is in order.
        const ordered = start >= previous[0] && end >= previous[1];
        if (!(start < end && end <= c.text.length && ordered && !splitsPair(start) && !splitsPair(end))) {
          problems.push(`[${c.category}] ${JSON.stringify(c.text).slice(0, 60)}: ${token} at [${start}, ${end})`);
        } else if (!specials.has(token)) {
          const normalised = normalizer.normalize(c.text.slice(start, end)).text;
          const piece = token.startsWith('##') ? token.slice(2) : token;
          if (!normalised.includes(piece)) problems.push(`[${c.category}] ${token} at [${start}, ${end}) covers ${JSON.stringify(normalised)}`);
        }
        previous = [start, end];
      }
      if (problems.length >= 10) break;
    }
    expect(problems).toEqual([]);
  });
});
