/**
 * Special tokens in the raw text: matched before normalisation, case-sensitively, leftmost
 * then longest. Then the indexOf-jumping scan against a plain position-by-position scan.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpecialTokenSplitter, type SpecialToken } from '../../src/tokenizer/special-tokens.ts';

const bert: SpecialToken[] = [
  { content: '[PAD]', id: 0 },
  { content: '[UNK]', id: 100 },
  { content: '[CLS]', id: 101 },
  { content: '[SEP]', id: 102 },
  { content: '[MASK]', id: 103 },
];

/** The split as a list: strings for ordinary text, ids for specials. */
function split(tokens: SpecialToken[], text: string): Array<string | number> {
  const out: Array<string | number> = [];
  new SpecialTokenSplitter(tokens).split(
    text,
    (start, end) => out.push(text.slice(start, end)),
    (id) => out.push(id),
  );
  return out;
}

describe('SpecialTokenSplitter', () => {
  it.each([
    ['in the middle of a word', 'hello[MASK] world', ['hello', 103, ' world']],
    ['case matters', '[mask] [Mask]', ['[mask] [Mask]']],
    ['adjacent specials', '[CLS][SEP]', [101, 102]],
    ['a bracket before a special', '[[SEP]]', ['[', 102, ']']],
    ['an unfinished special', '[SEP', ['[SEP']],
    ['nothing special', 'plain text', ['plain text']],
    ['empty', '', []],
  ])('%s: %s', (_name, text, expected) => {
    expect(split(bert, text)).toEqual(expected);
  });

  it('leftmost match wins, then the longest', () => {
    const tokens = [
      { content: 'ab', id: 1 },
      { content: 'abc', id: 2 },
      { content: 'bcd', id: 3 },
    ];
    expect(split(tokens, 'xabcdx')).toEqual(['x', 2, 'dx']);
    expect(split(tokens, 'xbcdab')).toEqual(['x', 3, 1]);
  });
});

/** Plain scan: at each position, the longest token starting there. */
function plainSplit(tokens: SpecialToken[], text: string): Array<string | number> {
  const out: Array<string | number> = [];
  let plain = '';
  for (let i = 0; i < text.length; ) {
    let best: SpecialToken | undefined;
    for (const t of tokens) {
      if (text.startsWith(t.content, i) && (best === undefined || t.content.length > best.content.length)) best = t;
    }
    if (best === undefined) {
      plain += text[i];
      i++;
      continue;
    }
    if (plain !== '') out.push(plain);
    plain = '';
    out.push(best.id);
    i += best.content.length;
  }
  if (plain !== '') out.push(plain);
  return out;
}

describe('SpecialTokenSplitter vs a plain scan', () => {
  it('agrees on random strings', () => {
    const tokens = [...bert, { content: '<s>', id: 7 }, { content: '<s><s>', id: 8 }];
    const pieces = fc.constantFrom('[', ']', 'SEP', 'MASK', 'CLS', 'a', ' ', '<s>', '<', 's', '>', '[SEP]', '[MASK]');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 20 }), (parts) => {
        const text = parts.join('');
        expect(split(tokens, text)).toEqual(plainSplit(tokens, text));
      }),
      { numRuns: 3000 },
    );
  });
});
