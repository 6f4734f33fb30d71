/**
 * The committed src/tokenizer/unicode-tables.generated.ts is exactly what the generator writes
 * today (npx tsx scripts/gen-unicode-tables.ts), and the range encoding is sound.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OUTPUT_URL, generateUnicodeTables, toRanges } from '../../scripts/gen-unicode-tables.ts';
import { CONTROL_RANGES, NONSPACING_MARK_RANGES, PUNCTUATION_RANGES } from '../../src/tokenizer/unicode-tables.generated.ts';

describe('generated Unicode tables', () => {
  it('regenerating gives the committed file', () => {
    expect(readFileSync(OUTPUT_URL, 'utf8')).toBe(generateUnicodeTables());
  });

  it('toRanges merges consecutive code points into inclusive pairs', () => {
    expect(toRanges([5, 1, 2, 3, 9, 10, 2])).toEqual([1, 3, 5, 5, 9, 10]);
    expect(toRanges([])).toEqual([]);
  });

  it.each([
    ['CONTROL_RANGES', CONTROL_RANGES],
    ['PUNCTUATION_RANGES', PUNCTUATION_RANGES],
    ['NONSPACING_MARK_RANGES', NONSPACING_MARK_RANGES],
  ])('%s is sorted, disjoint and non-adjacent', (_name, ranges) => {
    expect(ranges.length % 2).toBe(0);
    for (let i = 0; i < ranges.length; i += 2) {
      expect(ranges[i]!).toBeLessThanOrEqual(ranges[i + 1]!);
      if (i > 0) expect(ranges[i]!).toBeGreaterThan(ranges[i - 1]! + 1);
    }
  });
});
