/**
 * The BERT pre-tokeniser (Hugging Face `tokenizers`, pre_tokenizers/bert.rs): cuts normalised
 * text into words. Whitespace separates words and is dropped; every punctuation character is a
 * word on its own.
 *
 *   'hello, world!' → 'hello' ',' 'world' '!'
 *   "don't"         → 'don' "'" 't'
 *   'a+b=c'         → 'a' '+' 'b' '=' 'c'    (ASCII symbols count as punctuation)
 *
 * "Whitespace" is the White_Space property, "punctuation" is BERT's definition: any ASCII
 * non-alphanumeric printable character, or a Unicode 8.0 P* character (see char-classes.ts).
 *
 * Words are reported as [start, end) ranges through a callback rather than returned as an
 * array: a megabyte of punctuation is a million words, and ranges cost no allocation.
 */
import { PUNCTUATION, WHITESPACE, charClass } from './char-classes.ts';
import { codePointAt, codePointWidth } from './utf16.ts';

/** Calls `onWord(start, end)` for each word of `text`, in order. */
export function forEachWord(text: string, onWord: (start: number, end: number) => void): void {
  const end = text.length;
  let wordStart = -1; // -1: not inside a word
  for (let i = 0; i < end; ) {
    const cp = codePointAt(text, i, end);
    const width = codePointWidth(cp);
    const cls = charClass(cp);
    if ((cls & (WHITESPACE | PUNCTUATION)) !== 0) {
      if (wordStart >= 0) onWord(wordStart, i);
      wordStart = -1;
      if ((cls & PUNCTUATION) !== 0) onWord(i, i + width);
    } else if (wordStart < 0) {
      wordStart = i;
    }
    i += width;
  }
  if (wordStart >= 0) onWord(wordStart, end);
}

/** The words of `text` as strings: the readable form of forEachWord, for tests and docs. */
export function preTokenize(text: string): string[] {
  const words: string[] = [];
  forEachWord(text, (start, end) => words.push(text.slice(start, end)));
  return words;
}
