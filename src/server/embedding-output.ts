/**
 * What one embedding becomes in the response: shortened to `dimensions` when asked, and written
 * either as a JSON array of numbers or, for `encoding_format: "base64"`, as OpenAI does it: the
 * little-endian float32 bytes of the vector, base64-encoded (4 bytes per value, a third of the
 * size of the JSON text; the OpenAI SDKs ask for it by default and decode it themselves).
 *
 * A float32 value printed by JSON.stringify is parsed back to the same double, so both formats
 * carry exactly the same numbers.
 */

/**
 * The first `dimensions` values of `vector`, rescaled to length 1 when `normalize` (Matryoshka-style
 * shortening; the same as `embed(text, { truncateDim })` up to float32 rounding). Sum in float64.
 */
export function shortenEmbedding(vector: Float32Array, dimensions: number, normalize: boolean): Float32Array {
  const out = vector.slice(0, dimensions); // [dimensions], a copy: `vector` may be a view into a shared batch buffer
  if (!normalize) return out;
  let sumOfSquares = 0;
  for (let i = 0; i < dimensions; i++) sumOfSquares += out[i]! * out[i]!;
  const norm = Math.sqrt(sumOfSquares);
  // sentence-transformers' Normalize divides by max(norm, 1e-12): a zero vector stays zero.
  const scale = 1 / Math.max(norm, 1e-12);
  for (let i = 0; i < dimensions; i++) out[i] = out[i]! * scale;
  return out;
}

/** Base64 of the little-endian float32 bytes of `vector` (the byte order fixed, whatever the host's). */
export function float32ToBase64(vector: Float32Array): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString('base64');
}

/** The inverse of float32ToBase64 (for tests and clients written in TypeScript). */
export function base64ToFloat32(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) throw new RangeError(`base64 embedding decodes to ${bytes.length} bytes, not a multiple of 4`);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** A vector as a plain array of numbers for JSON. */
export function float32ToArray(vector: Float32Array): number[] {
  return Array.from(vector);
}
