/**
 * GELU for the SIMD backend, written with the assembler in `wasm-assembler.ts`: four float32
 * lanes at a time, in place over the feed-forward layer's output.
 *
 * Why it exists: after the matmuls moved to SIMD, the exact float64 GELU of `gelu.ts`, run in
 * JavaScript over the [T, 1536] intermediate output, took 10-13% of a forward pass (profiled,
 * SIMD backend, short sentences and passages). This one runs several times faster. It is a
 * different evaluation of the same function, accurate to a few float32 units in the last place
 * (tested against `gelu.ts` over a sweep of inputs), not bit-identical to it; the plain version
 * stays the reference and the JavaScript backends' GELU.
 *
 * The math, per lane, with z = |x|/√2:
 *
 *   gelu(x) = x · Φ(x),   Φ(x) = ½·(1 + erf(x/√2)) = ½·erfc(−x/√2)
 *
 *   z < ½  :  gelu(x) = x·(½ + ½·erf(t)), t = x/√2
 *             erf(t) = (2/√π)·Σₙ (−1)ⁿ t²ⁿ⁺¹ / (n!·(2n+1)), n = 0…7: the Taylor series, whose
 *             first omitted term is below 1e-9 relative for |t| < ½.
 *   z ≥ ½  :  h = ½·erfc(z);  gelu(x) = x·(1 − h) for x > 0,  x·h for x < 0
 *             erfc(z) = s·exp(−z² + P(s)), s = 1/(1 + z/2), P the degree-9 Chebyshev fit of
 *             Numerical Recipes (`erfcc`, fractional error below 1.2e-7 for every z ≥ 0).
 *             z² would lose bits to rounding exactly where exp magnifies them (an error δ in the
 *             exponent is a relative error δ in erfc, and z² reaches 100), so z is split into
 *             zh (its top 12 significant bits) and zl = z − zh: zh² is exact in float32, and
 *             erfc(z) = s · exp(−zh²) · exp(P(s) − zl·(zh + z)), two exponentials of accurate
 *             arguments.
 *             z is capped at 10 on this path, and h is 0 beyond (erfc(10) ≈ 2e-45 is below
 *             float32's range): gelu(x) = −0 for x < −14.1. Just above the cap, where exp's
 *             argument is clamped at −87, the result stays a tiny number (|gelu| < 1e-37) rather
 *             than the exact underflowing one. For x < 0 the product x·h is formed with
 *             exp(−zh²) as the last factor, so that only the result, not an intermediate, can be
 *             subnormal.
 *
 *   exp: `emitExp` of vector-math.ts (about 1 ulp; its argument clamped at −87).
 *
 * Memory: gelu(address, count) rewrites `count` float32 values at `address` (4-byte aligned);
 * whole vectors of 4 first, then the last count mod 4 values one at a time (each splatted to a
 * vector and its lane 0 stored back).
 */

import {
  type Bytes,
  type Local,
  FunctionBuilder,
  bits128,
  f32,
  f32x4,
  i32,
  i32x4,
  local,
  v128,
  valueType,
  type FunctionDefinition,
} from './wasm-assembler.ts';
import { emitExp, horner } from './vector-math.ts';
import { geluExportName } from './kernel-interface.ts';

/** Taylor coefficients of erf(z)/z in powers of z²: (2/√π)·(−1)ⁿ/(n!·(2n+1)), n = 0…7. */
const erfSeries = Array.from({ length: 8 }, (_, n) => {
  let factorial = 1;
  for (let k = 2; k <= n; k++) factorial *= k;
  return ((2 / Math.sqrt(Math.PI)) * (n % 2 === 0 ? 1 : -1)) / (factorial * (2 * n + 1));
});

/** Numerical Recipes' erfcc: erfc(z) = s·exp(−z² + P(s)), s = 1/(1 + z/2); P's coefficients from s⁰ up. */
const erfcFit = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223,
  0.17087277,
];

const ERFC_MAX_Z = 10;
const SMALL_Z = 0.5;
const HIGH_12_BITS_MASK = 0xfffff000 | 0; // sign, exponent and the top 12 significand bits

/** The registers of one vector of 4 values on its way through gelu. */
interface GeluRegisters {
  x: Local; //         the inputs
  absX: Local; //      |x|
  geluSmall: Local; // the z < ½ formula
  xCapped: Local; //   min(|x|, 10·√2): the erfc path's |x|
  s: Local; //         1/(1 + z/2)
  xHigh: Local; //     xCapped with its low 12 significand bits cleared: xHigh² is exact
  xLow: Local; //      xCapped − xHigh
  expHigh: Local; //   exp(−xHigh²/2)
  expRest: Local; //   exp(P(s) − xLow·(xHigh + xCapped)/2)
  h: Local; //         ½·erfc(z) / exp(−xHigh²/2)
  result: Local;
  expN: Local; //      exp's n = round(a / ln 2), as a float
  expR: Local; //      exp's r = a − n·ln 2
}

/** The gelu(address, count) function. */
export function buildGelu(): FunctionDefinition {
  const { i32: I32, v128: V128 } = valueType;
  const fn = new FunctionBuilder([
    { name: 'address', type: I32 },
    { name: 'count', type: I32 },
  ]);
  const get = local.get;
  const address = fn.param('address');
  const count = fn.param('count');
  const pairsEnd = fn.local('pairsEnd', I32); // address after the last whole pair of vectors
  const valuesEnd = fn.local('valuesEnd', I32);
  const registers = (name: string): GeluRegisters => {
    const r = (field: string): Local => fn.local(`${name}.${field}`, V128);
    return {
      x: r('x'), absX: r('absX'), geluSmall: r('geluSmall'), xCapped: r('xCapped'), s: r('s'), xHigh: r('xHigh'),
      xLow: r('xLow'), expHigh: r('expHigh'), expRest: r('expRest'), h: r('h'), result: r('result'), expN: r('expN'),
      expR: r('expR'),
    };
  };

  const exp = (g: GeluRegisters, target: Local, argument: Bytes): void => emitExp(fn, { n: g.expN, r: g.expR }, target, argument);

  /**
   * gelu of g.x into g.result, as a list of steps: two vectors' steps are interleaved, so that
   * the processor overlaps their dependency chains (Horner's rule and exp are long chains of
   * dependent multiply-adds; one vector alone leaves most of the arithmetic units idle).
   */
  const geluSteps = (g: GeluRegisters): (() => void)[] => [
    () => fn.set(g.absX, f32x4.abs(get(g.x))),
    // z < ½: x·(½ + ½·erf(t)), erf(t) = t·E(t²), t = x/√2 (signed: gelu(−0) stays −0)
    () => {
      const t = f32x4.mul(get(g.x), f32x4.const(Math.SQRT1_2));
      const tSquared = f32x4.mul(f32x4.mul(get(g.x), get(g.x)), f32x4.const(0.5));
      const halfErf = f32x4.mul(f32x4.mul(t, f32x4.const(0.5)), horner(tSquared, erfSeries));
      fn.set(g.geluSmall, f32x4.mul(get(g.x), f32x4.add(f32x4.const(0.5), halfErf)));
    },
    // z ≥ ½: h = ½·s·exp(−xHigh²/2)·exp(P(s) − xLow·(xHigh + |x|)/2), since z² = x²/2
    () => fn.set(g.xCapped, f32x4.min(get(g.absX), f32x4.const(ERFC_MAX_Z * Math.SQRT2))),
    () => fn.set(g.s, f32x4.div(f32x4.const(1), f32x4.add(f32x4.const(1), f32x4.mul(f32x4.const(0.5 * Math.SQRT1_2), get(g.xCapped))))),
    () => fn.set(g.xHigh, bits128.and(get(g.xCapped), i32x4.const(HIGH_12_BITS_MASK))),
    () => fn.set(g.xLow, f32x4.sub(get(g.xCapped), get(g.xHigh))),
    () => exp(g, g.expHigh, f32x4.mul(f32x4.mul(get(g.xHigh), get(g.xHigh)), f32x4.const(-0.5))),
    () => {
      const cross = f32x4.mul(f32x4.mul(get(g.xLow), f32x4.add(get(g.xHigh), get(g.xCapped))), f32x4.const(0.5));
      exp(g, g.expRest, f32x4.sub(horner(get(g.s), erfcFit), cross));
    },
    // Beyond the cap ½·erfc(z) < 1e-45: exp(−xHigh²/2) is set to exactly 0, so x·h is −0 however large x is.
    () => fn.set(g.expHigh, bits128.select(get(g.expHigh), f32x4.const(0), f32x4.lt(get(g.absX), f32x4.const(ERFC_MAX_Z * Math.SQRT2)))),
    () => fn.set(g.h, f32x4.mul(f32x4.mul(f32x4.const(0.5), get(g.s)), get(g.expRest))), // h / exp(−xHigh²/2)
    () => {
      // x > 0: x·(1 − h); x < 0: x·h, multiplied by exp(−xHigh²/2) last, so that no intermediate
      // product falls into the subnormal range (and loses bits) before the result does.
      const positive = f32x4.mul(get(g.x), f32x4.sub(f32x4.const(1), f32x4.mul(get(g.h), get(g.expHigh))));
      const negative = f32x4.mul(f32x4.mul(get(g.x), get(g.h)), get(g.expHigh));
      const geluLarge = bits128.select(positive, negative, f32x4.gt(get(g.x), f32x4.const(0)));
      const isSmall = f32x4.lt(get(g.absX), f32x4.const(SMALL_Z * Math.SQRT2));
      fn.set(g.result, bits128.select(get(g.geluSmall), geluLarge, isSmall));
    },
  ];
  const emitGelu = (...vectors: GeluRegisters[]): void => {
    const steps = vectors.map(geluSteps);
    for (let i = 0; i < steps[0]!.length; i++) for (const vectorSteps of steps) vectorSteps[i]!();
  };

  const first = registers('first');
  const second = registers('second');
  fn.set(valuesEnd, i32.add(get(address), i32.mul(get(count), i32.const(4))));
  fn.set(pairsEnd, i32.add(get(address), i32.mul(i32.and(get(count), i32.const(-8)), i32.const(4))));
  // Whole pairs of vectors, 8 values (the address is only 4-byte aligned: alignment hint 2).
  fn.block('pairsDone', () => {
    fn.brIf('pairsDone', i32.eq(get(address), get(pairsEnd)));
    fn.loop('pairs', () => {
      fn.set(first.x, v128.load(get(address), 0, 2));
      fn.set(second.x, v128.load(get(address), 16, 2));
      emitGelu(first, second);
      fn.emit(v128.store(get(address), get(first.result), 0, 2));
      fn.emit(v128.store(get(address), get(second.result), 16, 2));
      fn.set(address, i32.add(get(address), i32.const(32)));
      fn.brIf('pairs', i32.ne(get(address), get(pairsEnd)));
    });
  });
  // The last count mod 8 values, one per vector.
  fn.block('valuesDone', () => {
    fn.brIf('valuesDone', i32.eq(get(address), get(valuesEnd)));
    fn.loop('values', () => {
      fn.set(first.x, v128.load32Splat(get(address)));
      emitGelu(first);
      fn.emit(f32.store(get(address), f32x4.extractLane(get(first.result), 0)));
      fn.set(address, i32.add(get(address), i32.const(4)));
      fn.brIf('values', i32.ne(get(address), get(valuesEnd)));
    });
  });
  return fn.finish(geluExportName);
}
