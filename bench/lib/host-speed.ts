/**
 * How fast is the host right now? The CPU-load check (`cpu-load.ts`) sees the processes of this
 * machine only. On a virtual machine, work in another guest sharing the physical cores slows
 * every engine without appearing in /proc/stat (nor, always, as steal time). So before each
 * engine process the harness also times a fixed piece of work, the engine's own pure-JavaScript
 * matmul kernel (`linearTiled`) on a [64, 384] × [384, 384]ᵀ product, and records its rate in
 * GFLOPS: rounds of one run can then be compared, and a run on a slowed host shows it.
 *
 * By itself it flags, it does not fix: ratios between engines of one run stay meaningful when the
 * host is slow for all of them alike; the absolute numbers do not. `waitForFastHost` (the
 * harness's --min-host-speed) goes further and holds each process back until the host is fast.
 */

import { linearTiled, wrapLinearWeight } from '../../src/tensor/linear-packed.ts';
import { sampleUntil } from './sample-until.ts';
import { median } from './stats.ts';

const ROWS = 64;
const FEATURES = 384;
const WARMUP_MS = 300;
const SAMPLE_MS = 50;

/** Median GFLOPS of the kernel over samples of ~50 ms, for about `totalMs` after a warm-up. */
export function measureHostSpeed(totalMs = 700): number {
  // Fixed, deterministic inputs (any values do: the time does not depend on them).
  const x = new Float32Array(ROWS * FEATURES).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const weight = new Float32Array(FEATURES * FEATURES).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const bias = new Float32Array(FEATURES);
  const out = new Float32Array(ROWS * FEATURES);
  const view = wrapLinearWeight(weight, FEATURES, FEATURES);
  const flopsPerCall = 2 * ROWS * FEATURES * FEATURES;
  // Warm up: until V8 has compiled the kernel with its optimizing compiler, it runs several
  // times slower.
  const warmupEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmupEnd) linearTiled(out, x, view, bias, 0, ROWS);
  const rates: number[] = [];
  const end = performance.now() + totalMs;
  while (performance.now() < end || rates.length < 3) {
    const start = performance.now();
    let calls = 0;
    let elapsed = 0;
    do {
      linearTiled(out, x, view, bias, 0, ROWS);
      calls++;
      elapsed = performance.now() - start;
    } while (elapsed < SAMPLE_MS);
    rates.push((flopsPerCall * calls) / elapsed / 1e6);
  }
  return median(rates);
}

export interface HostSpeedCheck {
  /** GFLOPS of the last measurement: the one just before the engine process starts. */
  gflops: number;
  /** At or above the minimum asked for (always true without one). */
  fast: boolean;
  measurements: number;
}

/**
 * Measures the host's speed and, while it is below `minGflops`, waits `waitMs` and measures
 * again, up to `attempts` measurements in all: so that an engine process starts on a host
 * running at its usual speed rather than in one of its slowed periods. `minGflops: 0` measures
 * once.
 */
export async function waitForFastHost(options: {
  minGflops: number;
  attempts: number;
  waitMs: number;
  onSlow?: (gflops: number, attempt: number) => void;
}): Promise<HostSpeedCheck> {
  const result = await sampleUntil({
    sample: () => measureHostSpeed(),
    good: (gflops) => gflops >= options.minGflops,
    attempts: options.attempts,
    waitMs: options.waitMs,
    onBad: (gflops, attempt) => options.onSlow?.(gflops, attempt),
  });
  return { gflops: result.sample, fast: result.good, measurements: result.attempts };
}
