/**
 * The tokenizer's public surface. BertTokenizer is the entry point; the stages are exported for
 * readers and for tests that check one stage at a time.
 */
export { BertTokenizer } from './bert-tokenizer.ts';
export type { EncodeOptions, FromTokenizerJsonOptions, FromVocabOptions } from './bert-tokenizer.ts';
export type { BatchEncoding, Encoding } from './encoding.ts';
export { VocabError, TokenizerConfigError } from './errors.ts';
export { BertNormalizer } from './normalizer.ts';
export type { NormalizedText, NormalizerOptions } from './normalizer.ts';
export { forEachWord, preTokenize } from './pre-tokenizer.ts';
export { WordPiece } from './wordpiece.ts';
export type { WordPieceOptions } from './wordpiece.ts';
export { Vocabulary, parseVocabTxt } from './vocab.ts';
