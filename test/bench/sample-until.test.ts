import { describe, expect, it } from 'vitest';
import { sampleUntil } from '../../bench/lib/sample-until.ts';

/** A sampler that returns the given values in turn, and the calls of `onBad` it saw. */
function scripted(values: number[]) {
  let next = 0;
  const bad: [number, number][] = [];
  return {
    sample: () => values[next++]!,
    onBad: (sample: number, attempt: number) => void bad.push([sample, attempt]),
    taken: () => next,
    bad,
  };
}

describe('sampleUntil (the bench harness waits for a quiet CPU and a fast host with it)', () => {
  it('stops at the first good sample, reporting each bad one before it', async () => {
    const s = scripted([1, 2, 5, 9]);
    const result = await sampleUntil({ sample: s.sample, good: (v) => v >= 5, attempts: 10, waitMs: 0, onBad: s.onBad });
    expect(result).toEqual({ sample: 5, good: true, attempts: 3 });
    expect(s.taken()).toBe(3);
    expect(s.bad).toEqual([[1, 1], [2, 2]]);
  });

  it('gives up after `attempts` bad samples and returns the last one', async () => {
    const s = scripted([1, 2, 3, 4, 5]);
    const result = await sampleUntil({ sample: s.sample, good: (v) => v >= 5, attempts: 3, waitMs: 0, onBad: s.onBad });
    expect(result).toEqual({ sample: 3, good: false, attempts: 3 });
    expect(s.taken()).toBe(3);
    expect(s.bad.map(([, attempt]) => attempt)).toEqual([1, 2, 3]);
  });

  it('samples once when attempts is 1 (or less), and awaits asynchronous samplers', async () => {
    for (const attempts of [1, 0]) {
      const s = scripted([1, 7]);
      const result = await sampleUntil({ sample: async () => s.sample(), good: (v) => v >= 5, attempts, waitMs: 0 });
      expect(result).toEqual({ sample: 1, good: false, attempts: 1 });
      expect(s.taken()).toBe(1);
    }
  });

  it('waits waitMs between samples, not after the last', async () => {
    const s = scripted([1, 2]);
    const start = performance.now();
    await sampleUntil({ sample: s.sample, good: () => false, attempts: 2, waitMs: 300 });
    const elapsed = performance.now() - start;
    // One wait of 300 ms; a wait after the last sample too would make it 600.
    expect(elapsed).toBeGreaterThanOrEqual(290); // timers may fire a little early
    expect(elapsed).toBeLessThan(590);
  });
});
