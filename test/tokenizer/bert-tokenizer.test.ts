/**
 * The public BertTokenizer API on the real all-MiniLM-L6-v2 vocabulary: a table of hard strings
 * with expected tokens (taken from the reference fixtures or from the vocabulary, never from our
 * own output), the template and truncation, batches, decode, and bad input.
 */
import { describe, expect, it } from 'vitest';
import { BertTokenizer } from '../../src/tokenizer/index.ts';
import { miniLm, readFixtureCases, tokenizerJsonText } from './helpers.ts';

describe('encode: hard strings', () => {
  // Expected ids are the reference's (test/fixtures/tokenizer/cases.jsonl); the table shows them
  // as tokens to be readable.
  const byText = new Map(readFixtureCases().map((c) => [c.text, c.ids]));
  it.each([
    'Hello world!',
    "I can't believe it's already Friday afternoon.",
    'The recipe calls for 2 cups of flour, 1/2 teaspoon of salt, and 3 eggs.',
    '',
  ])('%j', (text) => {
    const expected = byText.get(text);
    expect(expected, 'the fixture file should hold this text').toBeDefined();
    expect(miniLm.encode(text).ids).toEqual(expected);
  });

  it.each([
    ['greeting', 'Hello world!', ['[CLS]', 'hello', 'world', '!', '[SEP]']],
    ['accents stripped', 'Café naïve Façade RÉSUMÉ', ['[CLS]', 'cafe', 'naive', 'facade', 'resume', '[SEP]']],
    ['CJK, one token per ideograph', '中文', ['[CLS]', '中', '文', '[SEP]']],
    ['special token in the text', 'a [MASK] b', ['[CLS]', 'a', '[MASK]', 'b', '[SEP]']],
    ['special tokens are case-sensitive', '[mask]', ['[CLS]', '[', 'mask', ']', '[SEP]']],
    ['a control character inside a word is deleted', 'wo\u000Crld', ['[CLS]', 'world', '[SEP]']],
    ['a lone surrogate is deleted', 'wor\uD800ld', ['[CLS]', 'world', '[SEP]']],
    ['an astral CJK ideograph outside the vocabulary', '\u{20000}', ['[CLS]', '[UNK]', '[SEP]']],
    ['a word of 101 letters', 'a'.repeat(101), ['[CLS]', '[UNK]', '[SEP]']],
    ['only whitespace and controls', ' \t\u0000\u200B\n', ['[CLS]', '[SEP]']],
  ])('%s', (_name, text, tokens) => {
    const encoding = miniLm.encode(text);
    expect(encoding.tokens).toEqual(tokens);
    expect(encoding.ids).toEqual(tokens.map((t) => miniLm.tokenToId(t)));
  });

  it('returns every field with matching lengths', () => {
    const encoding = miniLm.encode('Hello world!');
    expect(encoding).toEqual({
      ids: [101, 7592, 2088, 999, 102],
      tokens: ['[CLS]', 'hello', 'world', '!', '[SEP]'],
      offsets: [[0, 0], [0, 5], [6, 11], [11, 12], [0, 0]],
      attentionMask: [1, 1, 1, 1, 1],
      tokenTypeIds: [0, 0, 0, 0, 0],
      untruncatedLength: 5,
    });
  });
});

describe('template and truncation', () => {
  const hello = miniLm.tokenToId('hello')!;
  const text = 'hello '.repeat(300);

  it('keeps [CLS], the first maxLength - 2 tokens, then [SEP]', () => {
    const encoding = miniLm.encode(text);
    expect(encoding.ids).toHaveLength(256);
    expect(encoding.ids[0]).toBe(101);
    expect(encoding.ids.slice(1, 255).every((id) => id === hello)).toBe(true);
    expect(encoding.ids[255]).toBe(102);
    expect(encoding.untruncatedLength).toBe(302);
    expect(encoding.tokens).toHaveLength(256);
    expect(encoding.offsets).toHaveLength(256);
    expect(encoding.offsets[254]).toEqual([253 * 6, 253 * 6 + 5]);
  });

  it('cuts in the middle of a word when the limit falls there', () => {
    // 'tokenization' is two pieces; a limit of 3 content tokens keeps only the first of the second word.
    const pieces = miniLm.encode('tokenization', { addSpecialTokens: false }).tokens;
    expect(pieces).toEqual(['token', '##ization']);
    expect(miniLm.encode('a tokenization', { maxLength: 4 }).tokens).toEqual(['[CLS]', 'a', 'token', '[SEP]']);
  });

  it('maxLength per call, and maxLength 2 leaves only the specials', () => {
    expect(miniLm.tokenize(text, { maxLength: 5 })).toEqual([101, hello, hello, hello, 102]);
    expect(miniLm.tokenize(text, { maxLength: 2 })).toEqual([101, 102]);
    expect(miniLm.tokenize('hello')).toEqual([101, hello, 102]);
  });

  it('without special tokens, maxLength counts content tokens only', () => {
    const encoding = miniLm.encode(text, { addSpecialTokens: false, maxLength: 4 });
    expect(encoding.ids).toEqual([hello, hello, hello, hello]);
    expect(encoding.untruncatedLength).toBe(300);
  });

  it('rejects a bad maxLength', () => {
    for (const maxLength of [1, 0, -3, 2.5, Number.NaN, Infinity, '8']) {
      expect(() => miniLm.tokenize('x', { maxLength: maxLength as number })).toThrow(RangeError);
    }
  });
});

describe('encodeBatch', () => {
  it('right-pads with [PAD] = 0 and masks the padding', () => {
    const batch = miniLm.encodeBatch(['hello', 'hello world!', '']);
    expect(batch).toEqual({
      inputIds: [
        [101, 7592, 102, 0, 0],
        [101, 7592, 2088, 999, 102],
        [101, 102, 0, 0, 0],
      ],
      attentionMask: [
        [1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1],
        [1, 1, 0, 0, 0],
      ],
      tokenTypeIds: [
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
      ],
    });
  });

  it('truncates each row, and an empty batch is empty', () => {
    expect(miniLm.encodeBatch(['hello '.repeat(10), 'hello'], { maxLength: 4 }).inputIds).toEqual([
      [101, 7592, 7592, 102],
      [101, 7592, 102, 0],
    ]);
    expect(miniLm.encodeBatch([])).toEqual({ inputIds: [], attentionMask: [], tokenTypeIds: [] });
  });
});

describe('vocabulary lookups and decode', () => {
  it('tokenToId and idToToken', () => {
    expect(miniLm.tokenToId('hello')).toBe(7592);
    expect(miniLm.tokenToId('no such token')).toBeUndefined();
    expect(miniLm.idToToken(7592)).toBe('hello');
    for (const id of [-1, 30522, 1.5, Number.NaN]) expect(miniLm.idToToken(id)).toBeUndefined();
  });

  it('decode joins pieces, glues "##" continuations, and can skip specials', () => {
    const ids = miniLm.tokenize('Tokenization is fun!');
    expect(miniLm.decode(ids)).toBe('[CLS] tokenization is fun ! [SEP]');
    expect(miniLm.decode(ids, { skipSpecialTokens: true })).toBe('tokenization is fun !');
    expect(miniLm.decode([])).toBe('');
  });

  it('decode gives back the normalised words of ASCII sentences', () => {
    const sentences = readFixtureCases().filter((c) => c.category === 'sts' && /^[ -~]*$/.test(c.text));
    expect(sentences.length).toBeGreaterThan(100);
    for (const c of sentences.slice(0, 300)) {
      if (c.ids.includes(100)) continue; // [UNK] hides the original word
      const words = c.text.toLowerCase().match(/[a-z0-9]+|[^ a-z0-9]/g) ?? [];
      expect(miniLm.decode(c.ids, { skipSpecialTokens: true })).toBe(words.join(' '));
    }
  });

  it('decode rejects ids outside the vocabulary', () => {
    expect(() => miniLm.decode([101, 99999])).toThrow(/ids\[1\] = number 99999 is not an id/);
    expect(() => miniLm.decode('101' as unknown as number[])).toThrow(TypeError);
  });
});

describe('bad input', () => {
  it.each([
    ['encode', () => miniLm.encode(42 as unknown as string), /encode: expected the text as a string, got number 42/],
    ['tokenize', () => miniLm.tokenize(null as unknown as string), /tokenize: expected the text as a string, got null/],
    ['encodeBatch with a string', () => miniLm.encodeBatch('hello' as unknown as string[]), /encodeBatch: expected an array of strings/],
    ['encodeBatch with a number inside', () => miniLm.encodeBatch(['a', 1 as unknown as string]), /texts\[1\] must be a string, got number 1/],
    ['encode with options that are not an object', () => miniLm.encode('a', 5 as unknown as object), /options must be an object/],
  ])('%s is a TypeError saying what was expected', (_name, call, message) => {
    expect(call).toThrow(TypeError);
    expect(call).toThrow(message);
  });

  it('a tokenizer from vocab.txt and one from tokenizer.json give the same encodings', () => {
    const other = BertTokenizer.fromTokenizerJson(tokenizerJsonText, { maxLength: 256 });
    expect(other.encode('Héllo, 世界 [SEP] 😀')).toEqual(miniLm.encode('Héllo, 世界 [SEP] 😀'));
  });
});
