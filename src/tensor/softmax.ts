/**
 * Softmax, numerically stable: softmax(s)_j = exp(s_j − max s) / Σ_k exp(s_k − max s).
 *
 * Subtracting the maximum changes nothing mathematically and keeps exp() from overflowing on
 * large scores. Entries equal to −Infinity (masked keys) get probability exactly 0.
 * Works in place on `length` entries of a row starting at `offset` (float64 rows for the JS
 * attention kernels; float32 rows work too: the sums stay float64 and each stored value is
 * rounded to float32). The SIMD backend has its own, in its kernel module (simd/softmax-kernel.ts).
 */
export function softmaxInPlace(row: Float64Array | Float32Array, offset: number, length: number): void {
  let max = -Infinity;
  for (let j = 0; j < length; j++) if (row[offset + j] > max) max = row[offset + j];
  if (max === -Infinity) throw new RangeError('softmax over a row with every entry masked');
  let sum = 0;
  for (let j = 0; j < length; j++) {
    const e = Math.exp(row[offset + j] - max);
    row[offset + j] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let j = 0; j < length; j++) row[offset + j] *= inv;
}
