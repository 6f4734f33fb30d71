/**
 * Linear time and no stack overflow on enormous inputs. For each pathological pattern, a
 * 1,000,000-unit string must take less than 30 times as long as a 100,000-unit one (linear work
 * gives ~10x, a quadratic path 100x) and finish within a few seconds. The bounds are loose on
 * purpose, for a busy machine; they still catch quadratic behaviour.
 */
import { describe, expect, it } from 'vitest';
import { miniLm } from './helpers.ts';

function repeatTo(unit: string, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

function timeEncode(text: string): number {
  const start = performance.now();
  miniLm.encode(text);
  return performance.now() - start;
}

describe('performance on huge inputs', () => {
  it.each([
    ['one letter (a single 1M-character word)', 'a'],
    ['punctuation (a million one-character words)', '!'],
    ['CJK ideographs (each spaced into its own word)', '中'],
    ['emoji (astral code points)', '😀'],
    ['100-letter words split into many pieces', 'xz'.repeat(50) + ' '],
    ['unfinished special tokens', '[SE'],
    ['accented mixed text', 'Héllo, wörld! 世界 😀 '],
  ])('%s: linear in the length', (_name, unit) => {
    timeEncode(repeatTo(unit, 10_000)); // warm up the JIT and caches
    const small = timeEncode(repeatTo(unit, 100_000));
    const big = timeEncode(repeatTo(unit, 1_000_000));
    expect(big).toBeLessThan(15_000);
    expect(big).toBeLessThan(30 * Math.max(small, 20));
  });

  it('no stack overflow or blow-up: 3 million characters of words, of brackets and of lone surrogates', () => {
    for (const unit of ['ab ', '[', '\uD800']) {
      const encoding = miniLm.encode(repeatTo(unit, 3_000_000));
      expect(encoding.ids.length).toBeLessThanOrEqual(256);
    }
  });
});
