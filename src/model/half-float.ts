/**
 * Small floating-point formats -> float32.
 *
 * Checkpoints are often stored in 16-bit (F16, BF16) or 8-bit (F8) floats to halve or quarter
 * their size. The engine computes in float32, so a loader upcasts such tensors once, at load.
 * Every conversion here is exact: each of these formats is a subset of float32.
 *
 * Bit layouts (sign | exponent | mantissa, exponent bias in brackets):
 *
 *   F16      IEEE 754 binary16   1 | 5 | 10   [15]   max 65504, subnormals down to 2^-24
 *   BF16     bfloat16            1 | 8 |  7   [127]  the top 16 bits of a float32
 *   F8_E5M2  float8 e5m2         1 | 5 |  2   [15]   the top 8 bits of an F16
 *   F8_E4M3  float8 e4m3fn       1 | 4 |  3   [7]    no infinities; S.1111.111 is NaN, max 448
 *
 * Each format has a plain scalar decoder written as the textbook formula
 *   normal:    (-1)^s * (1 + m / 2^M) * 2^(e - bias)
 *   subnormal: (-1)^s * (m / 2^M) * 2^(1 - bias)           (e == 0; m == 0 gives a signed zero)
 *   special:   e all ones -> infinity (m == 0) or NaN (m != 0)
 * and a bulk decoder from little-endian bytes into a caller-owned Float32Array.
 *
 * Left out: float32 -> half (the engine never writes half-precision weights), and NaN payloads in
 * the scalar decoders (a JS number has one NaN; BF16's bulk decoder happens to keep them).
 */

// ---------------------------------------------------------------------------------------------
// Scalar decoders: one bit pattern (an unsigned integer) -> its exact value as a JS number.
// ---------------------------------------------------------------------------------------------

/** IEEE 754 binary16 bit pattern (0..0xFFFF) -> value. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // (m / 2^10) * 2^-14
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (0x400 + mantissa) * 2 ** (exponent - 25); // (1 + m / 2^10) * 2^(e - 15)
}

/** bfloat16 bit pattern (0..0xFFFF) -> value. */
export function bfloat16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 7) & 0xff;
  const mantissa = bits & 0x7f;
  if (exponent === 0) return sign * mantissa * 2 ** -133; // (m / 2^7) * 2^-126
  if (exponent === 0xff) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (0x80 + mantissa) * 2 ** (exponent - 134); // (1 + m / 2^7) * 2^(e - 127)
}

/** float8 e5m2 bit pattern (0..0xFF) -> value. Same layout as the top byte of an F16. */
export function float8E5M2ToNumber(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const exponent = (bits >>> 2) & 0x1f;
  const mantissa = bits & 0x3;
  if (exponent === 0) return sign * mantissa * 2 ** -16; // (m / 2^2) * 2^-14
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (0x4 + mantissa) * 2 ** (exponent - 17); // (1 + m / 2^2) * 2^(e - 15)
}

/**
 * float8 e4m3fn bit pattern (0..0xFF) -> value. The "fn" variant (finite, NaN-only) is what
 * PyTorch's float8_e4m3fn and the safetensors dtype F8_E4M3 mean: the all-ones exponent still
 * holds normal numbers (up to 448), only S.1111.111 is NaN, and there is no infinity.
 */
export function float8E4M3ToNumber(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const exponent = (bits >>> 3) & 0xf;
  const mantissa = bits & 0x7;
  if (exponent === 0xf && mantissa === 0x7) return NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -9; // (m / 2^3) * 2^-6
  return sign * (0x8 + mantissa) * 2 ** (exponent - 10); // (1 + m / 2^3) * 2^(e - 7)
}

// ---------------------------------------------------------------------------------------------
// Bulk decoders: little-endian bytes -> float32, into a Float32Array the caller owns.
// `bytes` may start at any offset (no alignment needed): elements are assembled byte by byte.
// ---------------------------------------------------------------------------------------------

function checkLengths(bytes: Uint8Array, out: Float32Array, bytesPerElement: number, what: string): void {
  if (bytes.length !== out.length * bytesPerElement) {
    throw new RangeError(
      `${what}: ${bytes.length} input bytes do not hold ${out.length} elements of ${bytesPerElement} byte(s)`,
    );
  }
}

/**
 * Every F16 value in a table indexed by its bit pattern, built on first use from the plain
 * decoder. Fast path: a table read per element instead of a power of two per element
 * (the plain version is `out[i] = float16ToNumber(bits)`). 65536 x 4 bytes = 256 KiB.
 */
let float16Table: Float32Array | undefined;

function getFloat16Table(): Float32Array {
  if (float16Table === undefined) {
    const table = new Float32Array(0x10000); // [65536] value of each bit pattern
    for (let bits = 0; bits < 0x10000; bits++) table[bits] = float16ToNumber(bits);
    float16Table = table;
  }
  return float16Table;
}

/** F16 little-endian bytes [2 * n] -> out [n]. */
export function decodeFloat16(bytes: Uint8Array, out: Float32Array): void {
  checkLengths(bytes, out, 2, 'decodeFloat16');
  const table = getFloat16Table();
  for (let i = 0; i < out.length; i++) {
    out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
  }
}

/**
 * BF16 little-endian bytes [2 * n] -> out [n].
 * A bfloat16 is a float32 with the low 16 mantissa bits dropped, so the float32 bit pattern is
 * simply `bits << 16`; we write it through an integer view of `out` (the plain version is
 * `out[i] = bfloat16ToNumber(bits)`, which gives the same values).
 */
export function decodeBFloat16(bytes: Uint8Array, out: Float32Array): void {
  checkLengths(bytes, out, 2, 'decodeBFloat16');
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length); // [n] aliases `out`
  for (let i = 0; i < out.length; i++) {
    outBits[i] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16) >>> 0;
  }
}

/** F8_E5M2 bytes [n] -> out [n]. */
export function decodeFloat8E5M2(bytes: Uint8Array, out: Float32Array): void {
  checkLengths(bytes, out, 1, 'decodeFloat8E5M2');
  for (let i = 0; i < out.length; i++) out[i] = float8E5M2ToNumber(bytes[i]);
}

/** F8_E4M3 (e4m3fn) bytes [n] -> out [n]. */
export function decodeFloat8E4M3(bytes: Uint8Array, out: Float32Array): void {
  checkLengths(bytes, out, 1, 'decodeFloat8E4M3');
  for (let i = 0; i < out.length; i++) out[i] = float8E4M3ToNumber(bytes[i]);
}
