/**
 * Property tests of the tokenizer on any string (the whole code point range, lone surrogates,
 * special tokens written in the text, very long words): it never throws; ids are integers of the
 * vocabulary; [CLS] (101) first and [SEP] (102) last; at most maxLength ids; `encode` agrees with
 * `tokenize`, with offsets inside the text; truncating is taking a prefix; and the tokenizer built
 * from tokenizer.json gives the same ids as the one built from vocab.txt.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BertTokenizer } from '../../src/tokenizer/index.ts';
import { SPECIAL_TOKENS, textArb } from './text-arbitraries.ts';

const modelDir = new URL('../../weights/all-MiniLM-L6-v2/', import.meta.url);
const vocabText = readFileSync(new URL('vocab.txt', modelDir), 'utf8');
const fromVocab = BertTokenizer.fromVocab(vocabText, { maxLength: 256 });
const fromJson = BertTokenizer.fromTokenizerJson(readFileSync(new URL('tokenizer.json', modelDir), 'utf8'), { maxLength: 256 });
const VOCAB_SIZE = vocabText.split('\n').filter((line, i, all) => line.length > 0 || i < all.length - 1).length;
const CLS = 101;
const SEP = 102;
const RUNS = 1500;

function checkIds(ids: number[], maxLength: number): void {
  expect(ids.length).toBeGreaterThanOrEqual(2);
  expect(ids.length).toBeLessThanOrEqual(maxLength);
  expect(ids[0]).toBe(CLS);
  expect(ids[ids.length - 1]).toBe(SEP);
  for (const id of ids) {
    expect(Number.isInteger(id)).toBe(true);
    expect(id).toBeGreaterThanOrEqual(0);
    expect(id).toBeLessThan(VOCAB_SIZE);
    expect(fromVocab.idToToken(id)).toBeDefined();
  }
}

describe('tokenizer on any string', () => {
  it('the vocabulary is the real one (30522 tokens, [CLS] = 101, [SEP] = 102)', () => {
    expect(VOCAB_SIZE).toBe(30522);
    expect(fromVocab.vocabSize).toBe(VOCAB_SIZE);
    expect(fromVocab.tokenToId('[CLS]')).toBe(CLS);
    expect(fromVocab.tokenToId('[SEP]')).toBe(SEP);
  });

  it('never throws; ids in the vocabulary, [CLS] first, [SEP] last, at most maxLength', () => {
    fc.assert(
      fc.property(textArb(), fc.integer({ min: 2, max: 300 }), (text, maxLength) => {
        checkIds(fromVocab.tokenize(text), 256);
        checkIds(fromVocab.tokenize(text, { maxLength }), maxLength);
      }),
      { numRuns: RUNS },
    );
  });

  it('encode agrees with tokenize; offsets lie inside the text; untruncatedLength counts every token', () => {
    fc.assert(
      fc.property(textArb(), (text) => {
        const encoding = fromVocab.encode(text);
        expect(encoding.ids).toEqual(fromVocab.tokenize(text));
        expect(encoding.tokens).toEqual(encoding.ids.map((id) => fromVocab.idToToken(id)));
        expect(encoding.offsets).toHaveLength(encoding.ids.length);
        for (const [start, end] of encoding.offsets) {
          expect(0 <= start && start <= end && end <= text.length).toBe(true);
        }
        expect(encoding.attentionMask.every((m) => m === 1)).toBe(true);
        expect(encoding.untruncatedLength).toBeGreaterThanOrEqual(encoding.ids.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('truncation keeps a prefix: tokenize(text, m) = first m − 1 ids of the untruncated encoding + [SEP]', () => {
    fc.assert(
      fc.property(textArb(), fc.integer({ min: 2, max: 40 }), (text, maxLength) => {
        const full = fromVocab.tokenize(text, { maxLength: 100_000 });
        const cut = fromVocab.tokenize(text, { maxLength });
        const kept = Math.min(maxLength, full.length) - 1;
        expect(cut).toEqual([...full.slice(0, kept), SEP]);
      }),
      { numRuns: RUNS },
    );
  });

  it('special tokens written in the text become their ids, each on its own', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...SPECIAL_TOKENS), fc.stringMatching(/^[a-z ]{0,6}$/)), { maxLength: 12 }), (parts) => {
        const ids = fromVocab.tokenize(parts.join(''), { maxLength: 10_000 });
        const specials = parts.filter((p) => SPECIAL_TOKENS.includes(p)).map((p) => fromVocab.tokenToId(p));
        const specialIds = new Set(specials);
        for (const token of SPECIAL_TOKENS) specialIds.add(fromVocab.tokenToId(token));
        expect(ids.slice(1, -1).filter((id) => specialIds.has(id))).toEqual(specials);
      }),
      { numRuns: RUNS },
    );
  });

  it('tokenizer.json and vocab.txt give the same tokenizer', () => {
    fc.assert(
      fc.property(textArb(), (text) => {
        expect(fromJson.tokenize(text)).toEqual(fromVocab.tokenize(text));
      }),
      { numRuns: RUNS },
    );
  });

  it('the same text always gives the same ids (no state carried between calls)', () => {
    fc.assert(
      fc.property(textArb(), textArb(), (a, b) => {
        const first = fromVocab.tokenize(a);
        fromVocab.tokenize(b);
        expect(fromVocab.tokenize(a)).toEqual(first);
      }),
      { numRuns: 500 },
    );
  });

  it('every single code point, lone surrogates included, tokenizes without throwing', () => {
    const ids = new Set<number>();
    for (let point = 0; point <= 0x10ffff; point++) {
      const text = point >= 0xd800 && point <= 0xdfff ? String.fromCharCode(point) : String.fromCodePoint(point);
      const tokens = fromVocab.tokenize(text);
      if (tokens[0] !== CLS || tokens[tokens.length - 1] !== SEP || tokens.length > 8) {
        throw new Error(`U+${point.toString(16)}: ${JSON.stringify(tokens)}`);
      }
      for (let t = 1; t < tokens.length - 1; t++) ids.add(tokens[t]!);
    }
    for (const id of ids) expect(id >= 0 && id < VOCAB_SIZE).toBe(true);
  });
});
