/**
 * erf and GELU against an exact oracle: erf's Taylor series evaluated in 256-bit fixed point
 * with BigInt (π from Machin's formula), so the reference is correct far beyond float64.
 * The bar: within 2 ulp of the correctly rounded value everywhere we sample.
 */
import { describe, expect, it } from 'vitest';
import { erf, gelu, geluInPlace } from '../../src/tensor/gelu.ts';

const BITS = 256n;
const ONE = 1n << BITS;

/** π · 2^BITS, from Machin: π = 16·atan(1/5) − 4·atan(1/239). */
function piFixed(): bigint {
  const atanInverse = (n: bigint): bigint => {
    let term = ONE / n;
    let sum = term;
    const n2 = n * n;
    for (let k = 1n; term !== 0n; k++) {
      term /= n2;
      sum += (k % 2n === 1n ? -term : term) / (2n * k + 1n);
    }
    return sum;
  };
  return 16n * atanInverse(5n) - 4n * atanInverse(239n);
}

function sqrtFixed(value: bigint): bigint {
  // √(value / 2^BITS) · 2^BITS = √(value · 2^BITS), by Newton's method on integers.
  const target = value << BITS;
  let x = 1n << ((BigInt(target.toString(2).length) + 1n) / 2n);
  for (;;) {
    const next = (x + target / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

const TWO_OVER_SQRT_PI = (2n * ONE * ONE) / sqrtFixed(piFixed());

/** Exact float64 → fixed point: x = m·2^e with m a 53-bit integer (every float64 is one). */
function toFixed(x: number): bigint {
  if (x === 0) return 0n;
  const e = Math.floor(Math.log2(Math.abs(x))) - 52;
  const m = BigInt(x / 2 ** e); // exact: x / 2^e is an integer below 2^54
  const shift = BigInt(e) + BITS;
  return shift >= 0n ? m << shift : m >> -shift;
}

/** erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)), in fixed point, rounded to float64 at the end. */
function erfOracle(x: number): number {
  const fx = toFixed(x);
  const x2 = (fx * fx) >> BITS;
  let power = fx; // x^(2n+1) / n!
  let sum = 0n;
  for (let n = 0n; power !== 0n; n++) {
    const term = power / (2n * n + 1n);
    sum += n % 2n === 0n ? term : -term;
    power = (power * x2) >> BITS;
    power /= n + 1n;
  }
  const result = (sum * TWO_OVER_SQRT_PI) >> BITS;
  // Fixed point → float64: keep 64 significant bits, then one rounding by Number().
  const negative = result < 0n;
  const magnitude = negative ? -result : result;
  const shift = BigInt(Math.max(0, magnitude.toString(2).length - 64));
  const value = Number(magnitude >> shift) * 2 ** Number(shift - BITS);
  return negative ? -value : value;
}

function ulpDistance(a: number, b: number): number {
  const ulp = Math.max(Number.EPSILON * Math.abs(b), Number.MIN_VALUE);
  return Math.abs(a - b) / ulp;
}

describe('erf', () => {
  it('matches a 256-bit oracle to 2 ulp on [−6, 6], densest around the range boundaries', () => {
    const points: number[] = [];
    for (let i = -600; i <= 600; i++) points.push(i / 100);
    for (const edge of [0.84375, 1.25, 1 / 0.35, 6]) {
      for (const d of [-1e-9, -1e-12, 0, 1e-12, 1e-9]) points.push(edge + d, -(edge + d));
    }
    for (const tiny of [1e-20, 1e-8, 2.7e-5]) points.push(tiny, -tiny);
    let worst = 0;
    for (const x of points) {
      const d = ulpDistance(erf(x), erfOracle(x));
      worst = Math.max(worst, d);
      expect(d, `erf(${x})`).toBeLessThanOrEqual(2);
    }
    console.log(`erf: max error ${worst.toFixed(2)} ulp over ${points.length} points`);
  });

  it('handles the special values', () => {
    expect(erf(0)).toBe(0);
    expect(Object.is(erf(-0), -0)).toBe(true);
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(40)).toBe(1);
    expect(Number.isNaN(erf(NaN))).toBe(true);
  });
});

describe('gelu', () => {
  it('is 0.5·x·(1 + erf(x/√2)) against the oracle', () => {
    for (let i = -800; i <= 800; i += 7) {
      const x = i / 100;
      const expected = 0.5 * x * (1 + erfOracle(x * Math.SQRT1_2));
      expect(Math.abs(gelu(x) - expected)).toBeLessThanOrEqual(4 * Number.EPSILON * Math.max(1, Math.abs(x)));
    }
  });

  it('is not the tanh approximation (they differ by ~1e-4 near x = ±2)', () => {
    const tanhGelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    expect(Math.abs(gelu(-2) - tanhGelu(-2))).toBeGreaterThan(1e-5);
  });

  it('geluInPlace applies gelu to the first `length` elements only', () => {
    const data = new Float32Array([-1, 0.5, 2, 3]);
    geluInPlace(data, 3);
    expect(Array.from(data)).toEqual([Math.fround(gelu(-1)), Math.fround(gelu(0.5)), Math.fround(gelu(2)), 3]);
  });
});
