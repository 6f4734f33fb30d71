/**
 * UTF-16 helpers. JavaScript strings are sequences of 16-bit code units; a code point above
 * U+FFFF takes two (a high surrogate 0xD800–0xDBFF, then a low one 0xDC00–0xDFFF). A surrogate
 * without its partner is "lone": not a character at all.
 *
 * Every offset in this tokenizer is a UTF-16 index, like `String.prototype.slice`.
 */

export function isHighSurrogate(unit: number): boolean {
  return unit >= 0xD800 && unit <= 0xDBFF;
}

export function isLowSurrogate(unit: number): boolean {
  return unit >= 0xDC00 && unit <= 0xDFFF;
}

/**
 * The code point starting at index `i` of `text`, reading no further than `end`; a lone
 * surrogate is returned as itself (0xD800–0xDFFF). Its width in code units is
 * `codePointWidth(cp)`, which is 1 for a lone surrogate.
 */
export function codePointAt(text: string, i: number, end: number): number {
  const unit = text.charCodeAt(i);
  if (isHighSurrogate(unit) && i + 1 < end) {
    const next = text.charCodeAt(i + 1);
    if (isLowSurrogate(next)) return (unit - 0xD800) * 0x400 + (next - 0xDC00) + 0x10000;
  }
  return unit;
}

/** Number of UTF-16 code units the code point takes. */
export function codePointWidth(cp: number): number {
  return cp >= 0x10000 ? 2 : 1;
}

/**
 * Number of code points in text[start, end), counting a lone surrogate as one. Stops counting
 * once it passes `limit`, so asking "more than 100?" of a megabyte-long word costs 100 steps.
 */
export function countCodePoints(text: string, start: number, end: number, limit: number): number {
  let count = 0;
  for (let i = start; i < end && count <= limit; count++) {
    i += codePointWidth(codePointAt(text, i, end));
  }
  return count;
}
