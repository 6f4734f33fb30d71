/**
 * Polynomials and exp on f32x4 lanes, for the kernel functions that need them (gelu-kernel.ts,
 * softmax-kernel.ts). Code generators: they append instructions to a function being built.
 *
 * exp(a), for a ≤ 88: a is clamped to ≥ −87 (exp(−87) ≈ 1.6e-38, still a normal float32, and
 * so is 2ⁿ for every n reached), n = round(a/ln 2), r = a − n·ln 2 with ln 2 split in two parts
 * so that n·ln2High is exact (Cody and Waite's reduction), exp(r) by its Taylor series to r⁷
 * (|r| ≤ ln2/2: the first omitted term is below 6e-9), and 2ⁿ built from its bits: the float
 * n + (2²³ + 127) holds n + 127 in its low significand bits, and shifting the 32-bit lane 23
 * bits left moves them into the exponent field. Accurate to about 1 float32 ulp.
 */

import { type Bytes, type FunctionBuilder, type Local, f32x4, i32, i32x4, local } from './wasm-assembler.ts';

/** Horner's rule: c[0] + t·(c[1] + t·(… + t·c[last])), on f32x4 lanes. */
export function horner(t: Bytes, coefficients: readonly number[]): Bytes {
  let value = f32x4.const(coefficients[coefficients.length - 1]!);
  for (let i = coefficients.length - 2; i >= 0; i--) value = f32x4.add(f32x4.const(coefficients[i]!), f32x4.mul(t, value));
  return value;
}

/** Taylor coefficients of exp(r): 1/k!, k = 0…7. */
const expSeries = Array.from({ length: 8 }, (_, k) => {
  let factorial = 1;
  for (let j = 2; j <= k; j++) factorial *= j;
  return 1 / factorial;
});

const LN2_HIGH = 0.693359375; // ln 2 to 10 bits: n · LN2_HIGH is exact for |n| < 2¹⁴
const LN2_LOW = Math.log(2) - LN2_HIGH; // the rest, −2.1219444e-4
const EXP_MIN_ARGUMENT = -87;
const TWO_POW_23_PLUS_127 = 8388608 + 127;

/** The two v128 locals exp needs besides its target. */
export interface ExpRegisters {
  n: Local; // round(a / ln 2), as a float
  r: Local; // a − n·ln 2
}

/** Emits `target = exp(argument)` per lane (argument ≤ 88; see the file comment). */
export function emitExp(fn: FunctionBuilder, registers: ExpRegisters, target: Local, argument: Bytes): void {
  const { n, r } = registers;
  const get = local.get;
  fn.emit(local.set(target, f32x4.max(argument, f32x4.const(EXP_MIN_ARGUMENT)))); // a, for now
  fn.emit(local.set(n, f32x4.nearest(f32x4.mul(get(target), f32x4.const(Math.LOG2E)))));
  fn.emit(local.set(r, f32x4.sub(f32x4.sub(get(target), f32x4.mul(get(n), f32x4.const(LN2_HIGH))), f32x4.mul(get(n), f32x4.const(LN2_LOW)))));
  const twoPowN = i32x4.shl(f32x4.add(get(n), f32x4.const(TWO_POW_23_PLUS_127)), i32.const(23));
  fn.emit(local.set(target, f32x4.mul(horner(get(r), expSeries), twoPowN)));
}
