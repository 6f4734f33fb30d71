/**
 * The character classes of the reference BERT tokenizer (Hugging Face `tokenizers`, Rust), as
 * bit flags per code point.
 *
 *   CONTROL          deleted by clean_text: Unicode 8.0 Cc, Cf or Co, except \t \n \r (those are
 *                    whitespace). Unassigned code points (Cn) are NOT control: they stay in the text.
 *   WHITESPACE       the White_Space property (Rust's char::is_whitespace): clean_text maps these to
 *                    ' ', the pre-tokeniser splits on them.
 *   PUNCTUATION      ASCII punctuation (every printable non-alphanumeric ASCII character, so also
 *                    $ + < = > ^ ` | ~) or Unicode 8.0 P*: the pre-tokeniser isolates these.
 *   NONSPACING_MARK  Unicode 8.0 Mn: dropped after NFD when accents are stripped.
 *   CJK_IDEOGRAPH    the crate's fixed CJK ranges: the normaliser puts spaces around these.
 *
 * Why not `\p{Cc}`, `\p{P}`, `\p{Mn}`: the reference's tables are from Unicode 8.0 (see the
 * generated file), the JavaScript engine's are newer, and a single differing class changes ids.
 * Whitespace and CJK are short fixed lists, written here by hand.
 *
 * Lookup: a 64 KiB table for the Basic Multilingual Plane, filled once at load, gives O(1) classes
 * for nearly all text; astral code points (emoji, rare ideographs) use binary search over the
 * ranges. The plain version of the same thing is `astralClass`, which works for any code point.
 */
import { CONTROL_RANGES, NONSPACING_MARK_RANGES, PUNCTUATION_RANGES } from './unicode-tables.generated.ts';

export const CONTROL = 1;
export const WHITESPACE = 2;
export const PUNCTUATION = 4;
export const NONSPACING_MARK = 8;
export const CJK_IDEOGRAPH = 16;

/**
 * White_Space (Unicode PropList). Stable since 6.3, when U+180E left it; Rust and every current
 * JavaScript engine agree on this list. Note that U+000B, U+000C and U+0085 are whitespace AND
 * control: clean_text deletes them before it would map them to a space.
 */
const WHITESPACE_RANGES: readonly number[] = [
  0x0009, 0x000D, 0x0020, 0x0020, 0x0085, 0x0085, 0x00A0, 0x00A0, 0x1680, 0x1680,
  0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000,
];

/**
 * `is_chinese_char` of the Rust crate (normalizers/bert.rs). Note the bound 0x2B920: BERT's
 * original Python code starts that range at 0x2B820, so U+2B820–2B91F are not isolated here.
 * Sorted by first code point.
 */
const CJK_RANGES: readonly number[] = [
  0x3400, 0x4DBF, 0x4E00, 0x9FFF, 0xF900, 0xFAFF,
  0x20000, 0x2A6DF, 0x2A700, 0x2B73F, 0x2B740, 0x2B81F, 0x2B920, 0x2CEAF, 0x2F800, 0x2FA1F,
];

/** ASCII punctuation as Rust's char::is_ascii_punctuation defines it. */
const ASCII_PUNCTUATION_RANGES: readonly number[] = [0x21, 0x2F, 0x3A, 0x40, 0x5B, 0x60, 0x7B, 0x7E];

/** Is `cp` inside one of the sorted inclusive [first, last] pairs? Binary search. */
export function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The class bits of any code point, by binary search. Used directly for astral code points. */
export function astralClass(cp: number): number {
  let bits = 0;
  // \t \n \r are Cc, but the reference treats them as whitespace, never as control.
  if (inRanges(CONTROL_RANGES, cp) && cp !== 0x09 && cp !== 0x0A && cp !== 0x0D) bits |= CONTROL;
  if (inRanges(WHITESPACE_RANGES, cp)) bits |= WHITESPACE;
  if (inRanges(PUNCTUATION_RANGES, cp) || inRanges(ASCII_PUNCTUATION_RANGES, cp)) bits |= PUNCTUATION;
  if (inRanges(NONSPACING_MARK_RANGES, cp)) bits |= NONSPACING_MARK;
  if (inRanges(CJK_RANGES, cp)) bits |= CJK_IDEOGRAPH;
  return bits;
}

/** [0x10000] class bits of every BMP code point. */
const BMP_CLASSES: Uint8Array = buildBmpTable();

function buildBmpTable(): Uint8Array {
  const table = new Uint8Array(0x10000);
  const tables: Array<[readonly number[], number]> = [
    [CONTROL_RANGES, CONTROL],
    [WHITESPACE_RANGES, WHITESPACE],
    [PUNCTUATION_RANGES, PUNCTUATION],
    [ASCII_PUNCTUATION_RANGES, PUNCTUATION],
    [NONSPACING_MARK_RANGES, NONSPACING_MARK],
    [CJK_RANGES, CJK_IDEOGRAPH],
  ];
  for (const [ranges, bit] of tables) {
    for (let i = 0; i < ranges.length; i += 2) {
      const last = Math.min(ranges[i + 1], 0xFFFF);
      for (let cp = ranges[i]; cp <= last; cp++) table[cp] |= bit;
    }
  }
  for (const cp of [0x09, 0x0A, 0x0D]) table[cp] &= ~CONTROL;
  return table;
}

/** The class bits of a code point (0 ≤ cp ≤ 0x10FFFF). */
export function charClass(cp: number): number {
  return cp < 0x10000 ? BMP_CLASSES[cp] : astralClass(cp);
}

export function isControl(cp: number): boolean {
  return (charClass(cp) & CONTROL) !== 0;
}

export function isWhitespace(cp: number): boolean {
  return (charClass(cp) & WHITESPACE) !== 0;
}

export function isPunctuation(cp: number): boolean {
  return (charClass(cp) & PUNCTUATION) !== 0;
}

export function isNonspacingMark(cp: number): boolean {
  return (charClass(cp) & NONSPACING_MARK) !== 0;
}

export function isCjkIdeograph(cp: number): boolean {
  return (charClass(cp) & CJK_IDEOGRAPH) !== 0;
}
