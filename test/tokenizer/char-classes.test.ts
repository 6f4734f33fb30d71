/**
 * The character classes against their definitions, code point by code point: the Unicode 8.0
 * data of the `unicode-8.0.0` package (plain Set lookups, the slow obvious version), the
 * White_Space property, and the reference's CJK ranges. Then the cases where the reference and
 * today's Unicode (`\p{...}`) disagree, which are why the generated tables exist.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  CJK_IDEOGRAPH,
  CONTROL,
  NONSPACING_MARK,
  PUNCTUATION,
  WHITESPACE,
  astralClass,
  charClass,
  isControl,
  isNonspacingMark,
  isPunctuation,
} from '../../src/tokenizer/char-classes.ts';

const require = createRequire(import.meta.url);
const category = (name: string) => new Set(require(`unicode-8.0.0/General_Category/${name}/code-points.js`) as number[]);

/** The classes straight from their definitions. */
function plainClass(cp: number, sets: Record<string, Set<number>>): number {
  let bits = 0;
  const isTabOrNewline = cp === 0x09 || cp === 0x0A || cp === 0x0D;
  if ((sets.Cc!.has(cp) || sets.Cf!.has(cp) || sets.Co!.has(cp)) && !isTabOrNewline) bits |= CONTROL;
  if (/\p{White_Space}/u.test(String.fromCodePoint(cp))) bits |= WHITESPACE;
  const asciiPunctuation = cp < 0x80 && /[!-/:-@[-`{-~]/.test(String.fromCharCode(cp));
  if (sets.P!.has(cp) || asciiPunctuation) bits |= PUNCTUATION;
  if (sets.Mn!.has(cp)) bits |= NONSPACING_MARK;
  const cjk = [
    [0x4E00, 0x9FFF], [0x3400, 0x4DBF], [0x20000, 0x2A6DF], [0x2A700, 0x2B73F],
    [0x2B740, 0x2B81F], [0x2B920, 0x2CEAF], [0xF900, 0xFAFF], [0x2F800, 0x2FA1F],
  ];
  if (cjk.some(([first, last]) => cp >= first! && cp <= last!)) bits |= CJK_IDEOGRAPH;
  return bits;
}

describe('char-classes', () => {
  it('matches the Unicode 8.0 categories, White_Space and the CJK ranges on every code point', () => {
    const sets = { Cc: category('Control'), Cf: category('Format'), Co: category('Private_Use'), P: category('Punctuation'), Mn: category('Nonspacing_Mark') };
    const wrong: string[] = [];
    for (let cp = 0; cp <= 0x10FFFF; cp++) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue; // not characters; the normaliser handles them
      const expected = plainClass(cp, sets);
      if (charClass(cp) !== expected || astralClass(cp) !== expected) {
        if (wrong.length < 10) wrong.push(`U+${cp.toString(16)}: got ${charClass(cp)}/${astralClass(cp)}, expected ${expected}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  // Where the reference (Unicode 8.0) and the engine's Unicode disagree. Each line was observed
  // from the reference (test/fixtures/tokenizer/README.md).
  it.each([
    ['U+2E43 (Po since 9.0) is not punctuation', () => isPunctuation(0x2E43), false, /\p{P}/u, 0x2E43],
    ['U+166D (Po in 8.0, So now) is punctuation', () => isPunctuation(0x166D), true, /\p{P}/u, 0x166D],
    ['U+1AC0 (Mn since 14.0) is not a nonspacing mark', () => isNonspacingMark(0x1AC0), false, /\p{Mn}/u, 0x1AC0],
    ['U+0898 (Mn since 14.0) is not a nonspacing mark', () => isNonspacingMark(0x0898), false, /\p{Mn}/u, 0x0898],
    ['U+1734 (Mn in 8.0, Mc now) is a nonspacing mark', () => isNonspacingMark(0x1734), true, /\p{Mn}/u, 0x1734],
    ['U+08E2 (Cf since 9.0) is not deleted', () => isControl(0x08E2), false, /\p{Cf}/u, 0x08E2],
  ])('%s', (_name, ours, expected, modern, cp) => {
    expect(ours()).toBe(expected);
    // The engine's own class says the opposite: that is the point of the tables.
    expect(modern.test(String.fromCodePoint(cp))).toBe(!expected);
  });

  it.each([
    [0x09, WHITESPACE], [0x0A, WHITESPACE], [0x0D, WHITESPACE], // Cc, but whitespace only
    [0x0B, CONTROL | WHITESPACE], [0x0C, CONTROL | WHITESPACE], [0x85, CONTROL | WHITESPACE], // deleted first
    [0x1C, CONTROL], [0x00, CONTROL], [0xAD, CONTROL], [0x200B, CONTROL], [0xFEFF, CONTROL], [0xE000, CONTROL],
    [0x0378, 0], // unassigned (Cn): not control, stays in the word
    [0xA8FC, PUNCTUATION], // added in 8.0: the newest punctuation the reference knows
    [0x3000, WHITESPACE], [0x00A0, WHITESPACE], [0x180E, CONTROL], // U+180E: Cf in 8.0, no longer White_Space
    [0x24, PUNCTUATION], [0x5E, PUNCTUATION], [0x60, PUNCTUATION], [0x7E, PUNCTUATION], // ASCII symbols
    [0xA7, PUNCTUATION], [0xA9, 0], [0x20AC, 0], // § is Po; © and € are symbols, not punctuation
    [0x2B81F, CJK_IDEOGRAPH], [0x2B820, 0], [0x2B91F, 0], [0x2B920, CJK_IDEOGRAPH], // the crate's bound
    [0x2CEB0, 0], [0x30000, 0], // Extensions F and G are not isolated
    [0x3042, 0], [0xAC00, 0], // Hiragana and Hangul are not "Chinese characters"
  ].map(([cp, bits]) => [cp!.toString(16).toUpperCase().padStart(4, '0'), cp!, bits!] as const))('U+%s has class bits %i', (_hex, cp, bits) => {
    expect(charClass(cp)).toBe(bits);
  });
});
