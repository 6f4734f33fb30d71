/**
 * Text generators for the tokenizer and embedding property tests and the fuzz script: strings
 * over the whole code point range, lone surrogates (strings JavaScript allows but UTF-8 cannot
 * encode), the special tokens written in the text, and the characters that stress each stage of
 * the tokenizer (whitespace and controls, punctuation, CJK, combining marks, case mappings that
 * change length, and very long words).
 */
import fc from 'fast-check';

/** Written in raw text, the tokenizer must cut these out as special tokens (case-sensitive). */
export const SPECIAL_TOKENS = ['[CLS]', '[SEP]', '[PAD]', '[MASK]', '[UNK]'];

/** Characters each tokenizer stage treats specially. */
const STAGE_CHARACTERS = [
  ' ', '\t', '\n', '\r', '\u00a0', '\u3000', '\u200b', '\u2028', '\ufeff', '\u0000', '\u0001', '\u007f', '\ufffd',
  '!', '.', ',', '#', '##', '$', '[', ']', '`', '~', '\u00bf', '\u2014', '\u3002',
  '東', '京', '\u4e00', '\u{20000}', '\uac00', 'ア', '\u0301', '\u0308', '\u0345', '\u064b',
  'İ', 'ẞ', 'ß', 'ﬃ', 'ǅ', 'Σ', 'ΣΑΣ', 'Ⅻ', 'Å', 'Ω', 'K', '🙂', '👩‍👩‍👧', '🇫🇷', '\u{e0001}', '\u{10ffff}', '\uffff',
  '[cls]', '[CLS', 'CLS]', '[[SEP]]', '[SEP][SEP]',
];

/** One UTF-16 unit of any value, lone surrogates included. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
/** One code point of the whole range (U+0000 … U+10FFFF), surrogate code points included. */
const anyCodePoint = fc.integer({ min: 0, max: 0x10ffff }).map((point) => (point >= 0xd800 && point <= 0xdfff ? String.fromCharCode(point) : String.fromCodePoint(point)));
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));
const asciiWord = fc.stringMatching(/^[a-zA-Z]{1,12}$/);

/** A piece of text: mostly words and spaces, with every kind of trouble mixed in. */
const piece: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: asciiWord },
  { weight: 2, arbitrary: fc.constant(' ') },
  { weight: 2, arbitrary: fc.constantFrom(...STAGE_CHARACTERS) },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_TOKENS) },
  { weight: 2, arbitrary: anyCodePoint },
  { weight: 1, arbitrary: anyCodeUnit },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: fc.integer({ min: 90, max: 220 }).map((n) => 'x'.repeat(n)) }, // around the 100-character word limit
);

/** Arbitrary text for the tokenizer: up to `maxPieces` pieces. */
export function textArb(maxPieces = 40): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(piece, { maxLength: maxPieces }).map((pieces) => pieces.join('')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: maxPieces }) },
    { weight: 1, arbitrary: fc.string({ unit: anyCodeUnit, maxLength: maxPieces }) },
  );
}
