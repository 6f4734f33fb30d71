/**
 * Shared test helpers: the real all-MiniLM-L6-v2 tokenizer files and the reference fixtures.
 */
import { readFileSync } from 'node:fs';
import { BertTokenizer } from '../../src/tokenizer/index.ts';

const modelDir = new URL('../../weights/all-MiniLM-L6-v2/', import.meta.url);

export const vocabText = readFileSync(new URL('vocab.txt', modelDir), 'utf8');
export const tokenizerJsonText = readFileSync(new URL('tokenizer.json', modelDir), 'utf8');

/** all-MiniLM-L6-v2 as sentence-transformers runs it: max_seq_length 256. */
export const miniLm = BertTokenizer.fromVocab(vocabText, { maxLength: 256 });

/** One line of test/fixtures/tokenizer/cases.jsonl: ids from the Rust reference. */
export interface FixtureCase {
  text: string;
  ids: number[];
  ids_untruncated_len: number;
  category: string;
}

export function readFixtureCases(): FixtureCase[] {
  const text = readFileSync(new URL('../fixtures/tokenizer/cases.jsonl', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as FixtureCase);
}

/** Token strings of ids in the real vocabulary. */
export function tokensOf(ids: number[]): string[] {
  return ids.map((id) => miniLm.idToToken(id)!);
}
