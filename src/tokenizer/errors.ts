/**
 * The tokenizer's error classes. Wrong argument types raise the built-in TypeError and
 * out-of-range options RangeError; these two name problems with the files a tokenizer is
 * loaded from.
 */

/** vocab.txt or a tokenizer.json vocabulary is unusable: empty, malformed, or missing a token. */
export class VocabError extends Error {
  override name = 'VocabError';
}

/** tokenizer.json is malformed or asks for something this tokenizer does not implement. */
export class TokenizerConfigError extends Error {
  override name = 'TokenizerConfigError';
}

/** A short description of a value for error messages: its type, and the value when short. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `a string of length ${value.length}` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
