/**
 * Half-precision and float8 decoders against naive references built a different way: the
 * production scalar decoders use arithmetic (mantissa x power of two), the references here build
 * the float32 bit pattern field by field and reinterpret it. Every bit pattern is checked.
 */
import { describe, expect, it } from 'vitest';
import {
  bfloat16ToNumber,
  decodeBFloat16,
  decodeFloat16,
  decodeFloat8E4M3,
  decodeFloat8E5M2,
  float16ToNumber,
  float8E4M3ToNumber,
  float8E5M2ToNumber,
} from '../../src/model/half-float.ts';

const scratch = new DataView(new ArrayBuffer(4));

function float32FromBits(bits: number): number {
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}

/**
 * Naive bit-level widening of a small float to float32: re-bias the exponent, shift the mantissa
 * left, normalise subnormals by shifting until the implicit bit appears, map the all-ones exponent
 * to float32's (infinity / NaN) unless the format has no infinities.
 */
function naiveWiden(
  bits: number,
  exponentBits: number,
  mantissaBits: number,
  options: { finiteOnly?: boolean } = {},
): number {
  const sign = (bits >>> (exponentBits + mantissaBits)) & 1;
  const exponentMask = (1 << exponentBits) - 1;
  let exponent = (bits >>> mantissaBits) & exponentMask;
  let mantissa = bits & ((1 << mantissaBits) - 1);
  const bias = (1 << (exponentBits - 1)) - 1;
  const signBit = sign << 31;
  if (exponent === exponentMask) {
    if (!options.finiteOnly) return float32FromBits(signBit | (0xff << 23) | (mantissa << (23 - mantissaBits)));
    if (mantissa === (1 << mantissaBits) - 1) return NaN; // e4m3fn: only S.1111.111 is NaN
  }
  if (exponent === 0) {
    if (mantissa === 0) return float32FromBits(signBit); // signed zero
    if (exponentBits === 8) {
      // Same exponent range as float32 (bfloat16): a subnormal stays a float32 subnormal.
      return float32FromBits(signBit | (mantissa << (23 - mantissaBits)));
    }
    exponent = 1; // subnormal: shift left until the implicit leading 1 appears
    while ((mantissa & (1 << mantissaBits)) === 0) {
      mantissa <<= 1;
      exponent--;
    }
    mantissa &= (1 << mantissaBits) - 1;
  }
  return float32FromBits(signBit | ((exponent - bias + 127) << 23) | (mantissa << (23 - mantissaBits)));
}

function leBytes16(count: number, bitsOf: (i: number) => number, offset = 0): Uint8Array {
  const bytes = new Uint8Array(offset + 2 * count).subarray(offset); // offset 1 makes it unaligned
  for (let i = 0; i < count; i++) {
    const bits = bitsOf(i);
    bytes[2 * i] = bits & 0xff;
    bytes[2 * i + 1] = bits >>> 8;
  }
  return bytes;
}

describe('float16', () => {
  it('matches the naive bit-level widening on all 65536 bit patterns', () => {
    let mismatches = 0;
    for (let bits = 0; bits < 0x10000; bits++) {
      if (!Object.is(float16ToNumber(bits), naiveWiden(bits, 5, 10))) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('bulk decoder (table) equals the scalar decoder, from an unaligned byte offset', () => {
    const bytes = leBytes16(0x10000, (i) => i, 1);
    const out = new Float32Array(0x10000);
    decodeFloat16(bytes, out);
    let mismatches = 0;
    for (let bits = 0; bits < 0x10000; bits++) {
      if (!Object.is(out[bits], Math.fround(float16ToNumber(bits)))) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('decodes the IEEE 754 landmarks', () => {
    expect(float16ToNumber(0x0000)).toBe(0);
    expect(Object.is(float16ToNumber(0x8000), -0)).toBe(true);
    expect(float16ToNumber(0x3c00)).toBe(1);
    expect(float16ToNumber(0xc000)).toBe(-2);
    expect(float16ToNumber(0x7bff)).toBe(65504); // largest finite
    expect(float16ToNumber(0x0400)).toBe(2 ** -14); // smallest normal
    expect(float16ToNumber(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(float16ToNumber(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(float16ToNumber(0x3555)).toBeCloseTo(1 / 3, 3);
    expect(float16ToNumber(0x7c00)).toBe(Infinity);
    expect(float16ToNumber(0xfc00)).toBe(-Infinity);
    expect(float16ToNumber(0x7e00)).toBeNaN();
    expect(float16ToNumber(0x7c01)).toBeNaN();
  });

  it('rejects a length mismatch', () => {
    expect(() => decodeFloat16(new Uint8Array(5), new Float32Array(2))).toThrow(RangeError);
  });
});

describe('bfloat16', () => {
  it('scalar decoder matches the naive bit-level widening on all 65536 bit patterns', () => {
    let mismatches = 0;
    for (let bits = 0; bits < 0x10000; bits++) {
      if (!Object.is(bfloat16ToNumber(bits), naiveWiden(bits, 8, 7))) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('bulk decoder equals the scalar decoder on all bit patterns, from an unaligned byte offset', () => {
    const bytes = leBytes16(0x10000, (i) => i, 1);
    const out = new Float32Array(0x10000);
    decodeBFloat16(bytes, out);
    let mismatches = 0;
    for (let bits = 0; bits < 0x10000; bits++) {
      if (!Object.is(out[bits], bfloat16ToNumber(bits))) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('decodes landmarks (a bfloat16 is the top half of a float32)', () => {
    expect(bfloat16ToNumber(0x3f80)).toBe(1);
    expect(bfloat16ToNumber(0xc040)).toBe(-3);
    expect(bfloat16ToNumber(0x7f7f)).toBe(Math.fround(3.3895313892515355e38)); // largest finite
    expect(bfloat16ToNumber(0x0001)).toBe(2 ** -133); // smallest subnormal
    expect(Object.is(bfloat16ToNumber(0x8000), -0)).toBe(true);
    expect(bfloat16ToNumber(0x7f80)).toBe(Infinity);
    expect(bfloat16ToNumber(0xff80)).toBe(-Infinity);
    expect(bfloat16ToNumber(0x7fc0)).toBeNaN();
  });
});

describe('float8', () => {
  it('e5m2 matches the naive widening and equals the F16 with the same top byte', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const out = new Float32Array(256);
    decodeFloat8E5M2(bytes, out);
    for (let bits = 0; bits < 256; bits++) {
      expect(Object.is(float8E5M2ToNumber(bits), naiveWiden(bits, 5, 2))).toBe(true);
      expect(Object.is(float8E5M2ToNumber(bits), float16ToNumber(bits << 8))).toBe(true);
      expect(Object.is(out[bits], float8E5M2ToNumber(bits))).toBe(true);
    }
  });

  it('e4m3fn matches the naive widening: no infinities, NaN only at S.1111.111, max 448', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const out = new Float32Array(256);
    decodeFloat8E4M3(bytes, out);
    for (let bits = 0; bits < 256; bits++) {
      expect(Object.is(float8E4M3ToNumber(bits), naiveWiden(bits, 4, 3, { finiteOnly: true }))).toBe(true);
      expect(Object.is(out[bits], float8E4M3ToNumber(bits))).toBe(true);
    }
    expect(float8E4M3ToNumber(0x38)).toBe(1);
    expect(float8E4M3ToNumber(0x7e)).toBe(448);
    expect(float8E4M3ToNumber(0x78)).toBe(256); // all-ones exponent is still a normal number
    expect(float8E4M3ToNumber(0x01)).toBe(2 ** -9);
    expect(float8E4M3ToNumber(0x7f)).toBeNaN();
    expect(float8E4M3ToNumber(0xff)).toBeNaN();
  });
});
