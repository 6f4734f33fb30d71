/**
 * Summary statistics of a tensor, the numbers `minilm trace` prints for every stage.
 *
 *   mean = Σ x / n
 *   std  = √(Σ (x − mean)² / n)      population standard deviation (two passes, float64)
 *   min, max
 *   l2   = √(Σ x²)                   the L2 (Frobenius) norm of the whole tensor
 *
 * The tensor is read as a flat list of n numbers: its shape does not change these values.
 * Left out: per-row statistics (a token's own norm); callers slice rows first if they want them.
 */

export interface TensorStats {
  mean: number;
  std: number;
  min: number;
  max: number;
  l2: number;
}

/** The statistics of `values` (at least one number, all finite). */
export function tensorStats(values: ArrayLike<number>): TensorStats {
  const n = values.length;
  if (n === 0) throw new RangeError('tensorStats: the tensor is empty');
  let sum = 0;
  let squares = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`tensorStats: element ${i} is ${v}, not a finite number`);
    sum += v;
    squares += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  // Second pass for the variance: Σ(x − mean)² does not cancel the way Σx²/n − mean² does.
  let deviations = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    deviations += d * d;
  }
  return { mean, std: Math.sqrt(deviations / n), min, max, l2: Math.sqrt(squares) };
}
