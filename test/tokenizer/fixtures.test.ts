/**
 * Every reference case: test/fixtures/tokenizer/cases.jsonl holds 5,436 strings with the ids the
 * Rust `tokenizers` library gives for all-MiniLM-L6-v2 (max_seq_length 256). The bar is 100%
 * identical ids and untruncated lengths, for the tokenizer loaded from vocab.txt and from
 * tokenizer.json alike. On a mismatch, the first few are reported with their category.
 */
import { describe, expect, it } from 'vitest';
import { BertTokenizer } from '../../src/tokenizer/index.ts';
import { miniLm, readFixtureCases, tokenizerJsonText, tokensOf, type FixtureCase } from './helpers.ts';

const cases = readFixtureCases();

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** A readable account of one mismatch: where the ids first differ, as tokens. */
function describeMismatch(c: FixtureCase, ids: number[], untruncated: number): string {
  let at = 0;
  while (at < Math.min(ids.length, c.ids.length) && ids[at] === c.ids[at]) at++;
  const window = (list: number[]) => JSON.stringify(tokensOf(list.slice(Math.max(0, at - 2), at + 4)));
  return (
    `[${c.category}] ${JSON.stringify(c.text).slice(0, 120)}\n` +
    `    first difference at token ${at}: expected ${window(c.ids)}, got ${window(ids)}; ` +
    `untruncated length expected ${c.ids_untruncated_len}, got ${untruncated}`
  );
}

function checkAll(tokenizer: BertTokenizer, label: string): void {
  const mismatches: string[] = [];
  const byCategory = new Map<string, number>();
  for (const c of cases) {
    const encoding = tokenizer.encode(c.text);
    if (sameIds(encoding.ids, c.ids) && encoding.untruncatedLength === c.ids_untruncated_len) continue;
    byCategory.set(c.category, (byCategory.get(c.category) ?? 0) + 1);
    if (mismatches.length < 10) mismatches.push(describeMismatch(c, encoding.ids, encoding.untruncatedLength));
  }
  const identical = cases.length - [...byCategory.values()].reduce((a, b) => a + b, 0);
  console.log(`tokenizer fixtures (${label}): ${identical}/${cases.length} identical`);
  if (byCategory.size > 0) {
    const counts = [...byCategory].map(([category, n]) => `${category}: ${n}`).join(', ');
    expect.fail(`${cases.length - identical} mismatches (${counts}); first ones:\n${mismatches.join('\n')}`);
  }
}

describe('reference fixtures (Rust tokenizers, all-MiniLM-L6-v2)', () => {
  it('the fixture file has every case and every category the README lists', () => {
    expect(cases.length).toBe(5436);
    const categories = new Set(cases.map((c) => c.category));
    for (const category of ['sts', 'accented', 'control', 'unicode_punct', 'special_tokens', 'truncation_boundary', 'lone_surrogates', 'fuzz_surrogates', 'unicode_sweep_embedded']) {
      expect(categories).toContain(category);
    }
  });

  it('vocab.txt: every case gives identical ids and untruncated length', () => {
    checkAll(miniLm, 'vocab.txt');
  });

  it('tokenizer.json: every case gives identical ids and untruncated length', () => {
    checkAll(BertTokenizer.fromTokenizerJson(tokenizerJsonText, { maxLength: 256 }), 'tokenizer.json');
  });

  it('tokenize() gives the same ids as encode()', () => {
    for (const c of cases) {
      if (!sameIds(miniLm.tokenize(c.text), c.ids)) expect.fail(describeMismatch(c, miniLm.tokenize(c.text), -1));
    }
  });
});
