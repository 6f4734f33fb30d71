/** Deterministic random inputs for kernel tests (a seeded generator, so failures reproduce). */
import { mulberry32 } from '../../src/model/synthetic.ts';

/** A Float32Array of `length` values uniform in [−scale, scale), from `seed`. */
export function randomArray(length: number, seed: number, scale = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = ((next() / 4294967296) * 2 - 1) * scale;
  return out;
}

/** max |a − b| / max(1, |b|) over all elements. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (!(e <= max)) max = e;
  }
  return max;
}

/** Index of the first element that differs (by Object.is: −0 ≠ +0), or −1 if none. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
