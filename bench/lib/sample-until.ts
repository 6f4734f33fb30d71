/**
 * The harness's two waits, for a quiet CPU (`cpu-load.ts`) and for a fast host
 * (`host-speed.ts`), are one loop: take a sample; if it is good, stop; else wait and sample
 * again, up to a number of attempts. This is that loop.
 */

import { setTimeout as sleep } from 'node:timers/promises';

export interface SampledUntil<T> {
  /** The last sample taken: the good one, or the last bad one. */
  sample: T;
  good: boolean;
  /** Samples taken (1 … attempts). */
  attempts: number;
}

/**
 * Samples until `good(sample)` or until `attempts` samples were bad, waiting `waitMs` between
 * them. `attempts: 1` samples once without waiting (so does any smaller number).
 */
export async function sampleUntil<T>(options: {
  sample: () => T | Promise<T>;
  good: (sample: T) => boolean;
  attempts: number;
  waitMs: number;
  onBad?: (sample: T, attempt: number) => void;
}): Promise<SampledUntil<T>> {
  const attempts = Math.max(1, options.attempts);
  for (let attempt = 1; ; attempt++) {
    const sample = await options.sample();
    if (options.good(sample)) return { sample, good: true, attempts: attempt };
    options.onBad?.(sample, attempt);
    if (attempt >= attempts) return { sample, good: false, attempts: attempt };
    await sleep(options.waitMs);
  }
}
