/**
 * erf, erfc and GELU against an exact oracle: erf's Taylor series evaluated in 256-bit fixed
 * point with BigInt (π from Machin's formula), so the reference is correct far beyond float64.
 * The bar: within 2 ulp of the correctly rounded value everywhere we sample. Then the fast
 * element loop `geluInPlace` against the plain `gelu`, bit for bit, over a sweep of float32.
 */
import { describe, expect, it } from 'vitest';
import { erf, erfc, gelu, geluInPlace } from '../../src/tensor/gelu.ts';
import { mulberry32 } from '../../src/model/synthetic.ts';

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

/** erf(x) · 2^BITS from its Taylor series 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)), in fixed point. */
function erfFixed(x: number): bigint {
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
  return (sum * TWO_OVER_SQRT_PI) >> BITS;
}

/** Fixed point → float64: keep 64 significant bits, then one rounding by Number(). */
function fixedToNumber(value: bigint): number {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const shift = BigInt(Math.max(0, magnitude.toString(2).length - 64));
  const result = Number(magnitude >> shift) * 2 ** Number(shift - BITS);
  return negative ? -result : result;
}

const erfOracle = (x: number): number => fixedToNumber(erfFixed(x));
/**
 * erfc(x) = 1 − erf(x), subtracted in fixed point before rounding, so tiny values keep their
 * digits. The series cancels about 1.44·x² bits, so with 256 bits this is exact to float64 up
 * to x ≈ 10.
 */
const erfcOracle = (x: number): number => fixedToNumber(ONE - erfFixed(x));

/**
 * gelu(x) = 0.5·x·(1 + erf(t)) = 0.5·x·erfc(−t) in fixed point, rounded once. t = x·(1/√2) is
 * rounded to float64 as gelu rounds it: the oracle checks erf and erfc, not that multiply.
 */
function geluOracle(x: number): number {
  const t = x * Math.SQRT1_2;
  return fixedToNumber((toFixed(x) * (ONE - erfFixed(-t))) >> (BITS + 1n));
}

function ulpDistance(a: number, b: number): number {
  const ulp = Math.max(Number.EPSILON * Math.abs(b), Number.MIN_VALUE);
  return Math.abs(a - b) / ulp;
}

/** The range boundaries of erf/erfc and their float64 neighbours, in the argument of erf. */
const EDGES = [0.25, 0.84375, 1.25, 1 / 0.35, 6, 28];

describe('erf', () => {
  it('matches a 256-bit oracle to 2 ulp on [−6, 6], densest around the range boundaries', () => {
    const points: number[] = [];
    for (let i = -600; i <= 600; i++) points.push(i / 100);
    for (const edge of EDGES.slice(0, 5)) {
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

describe('erfc', () => {
  it('matches a 256-bit oracle to 2 ulp of its own (possibly tiny) value on [−6, 9.5]', () => {
    const points: number[] = [];
    for (let i = -600; i <= 950; i += 3) points.push(i / 100 + 0.0013);
    for (const edge of EDGES.slice(0, 5)) {
      for (const d of [-1e-9, -1e-12, 0, 1e-12, 1e-9]) points.push(edge + d, -(edge + d));
    }
    let worst = 0;
    for (const x of points) {
      const d = ulpDistance(erfc(x), erfcOracle(x));
      worst = Math.max(worst, d);
      expect(d, `erfc(${x})`).toBeLessThanOrEqual(2);
    }
    console.log(`erfc: max error ${worst.toFixed(2)} ulp over ${points.length} points`);
  });

  it('is 1 − erf(x) where that subtraction is harmless, and handles the special values', () => {
    for (let x = -3; x <= 0.5; x += 0.0625) expect(Math.abs(erfc(x) - (1 - erf(x)))).toBeLessThanOrEqual(2 * Number.EPSILON);
    expect(erfc(0)).toBe(1);
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erfc(30)).toBe(0);
    expect(erfc(-30)).toBe(2);
    expect(Number.isNaN(erfc(NaN))).toBe(true);
  });
});

describe('gelu', () => {
  it('is 0.5·x·(1 + erf(x/√2)) to 2 ulp of its value against the oracle, also where it is tiny (x < 0)', () => {
    let worst = 0;
    for (let i = -1300; i <= 900; i += 3) {
      const x = i / 100 + 0.0007;
      const d = ulpDistance(gelu(x), geluOracle(x));
      worst = Math.max(worst, d);
      expect(d, `gelu(${x})`).toBeLessThanOrEqual(2);
    }
    console.log(`gelu: max error ${worst.toFixed(2)} ulp of the result on [−13, 9]`);
  });

  it('is erf-based for x/√2 > −0.84375 and erfc-based below, bit for bit', () => {
    const next = mulberry32(11);
    const points = [0, -0, 1e-30, -1e-30];
    for (let i = 0; i < 4000; i++) points.push((next() / 4294967296 - 0.6) * 40);
    for (const edge of EDGES) for (const d of [-1e-12, 0, 1e-12]) points.push((edge + d) * Math.SQRT2, -(edge + d) * Math.SQRT2);
    for (const x of points) {
      const t = x * Math.SQRT1_2;
      const expected = t > -0.84375 ? 0.5 * x * (1 + erf(t)) : 0.5 * x * erfc(-t);
      expect(Object.is(gelu(x), expected), `gelu(${x})`).toBe(true);
    }
  });

  it('handles the special values', () => {
    expect(gelu(Infinity)).toBe(Infinity);
    expect(Object.is(gelu(-Infinity), -0)).toBe(true);
    expect(Object.is(gelu(-50), -0)).toBe(true);
    expect(gelu(10)).toBe(10);
    expect(Number.isNaN(gelu(NaN))).toBe(true);
  });

  it('is not the tanh approximation (they differ by ~1e-4 near x = ±2)', () => {
    const tanhGelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    expect(Math.abs(gelu(-2) - tanhGelu(-2))).toBeGreaterThan(1e-5);
  });
});

describe('geluInPlace', () => {
  it('is bit-identical to Math.fround(gelu(x)) over a sweep of every 499th float32 and the range edges', () => {
    const batch = new Float32Array(1 << 16);
    const bits = new Uint32Array(batch.buffer);
    const input = new Float32Array(batch.length);
    let checked = 0;
    const check = (count: number) => {
      input.set(batch.subarray(0, count));
      geluInPlace(batch, count);
      for (let k = 0; k < count; k++) {
        const expected = Math.fround(gelu(input[k]!));
        if (!Object.is(batch[k], expected)) expect(batch[k], `geluInPlace(${input[k]})`).toBe(expected);
      }
      checked += count;
    };
    // Every 499th bit pattern of the finite float32 values of each sign, batch by batch.
    for (const sign of [0, 0x80000000]) {
      let count = 0;
      for (let pattern = 0; pattern < 0x7f800000; pattern += 499) {
        bits[count++] = (pattern | sign) >>> 0;
        if (count === batch.length) check((count = 0, batch.length));
      }
      check(count);
    }
    // The float32 values next to each range boundary of erf(x/√2), and the special values.
    const edges: number[] = [0, -0, Infinity, -Infinity, NaN];
    for (const edge of EDGES) {
      const x = Math.fround(edge * Math.SQRT2);
      bits[0] = new Uint32Array(new Float32Array([x]).buffer)[0]!;
      const center = bits[0]!;
      for (let d = -3; d <= 3; d++) for (const sign of [0, 0x80000000]) { bits[0] = (center + d) | sign; edges.push(batch[0]!); }
    }
    batch.set(edges);
    check(edges.length);
    expect(checked).toBeGreaterThan(8_000_000);
  });

  it('applies gelu to the first `length` elements only, and refuses a length past the end', () => {
    const data = new Float32Array([-1, 0.5, 2, 3]);
    geluInPlace(data, 3);
    expect(Array.from(data)).toEqual([Math.fround(gelu(-1)), Math.fround(gelu(0.5)), Math.fround(gelu(2)), 3]);
    expect(() => geluInPlace(data, 5)).toThrow(RangeError);
    expect(() => geluInPlace(data, -1)).toThrow(/length -1/);
  });
});
