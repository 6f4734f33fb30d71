/**
 * Embedding quantization with the semantics of sentence-transformers' `quantize_embeddings`
 * (sentence_transformers/quantization.py):
 *
 *   float32   unchanged
 *   uint8     trunc((x − start) / step)             start, step per dimension:
 *   int8      trunc((x − start) / step − 128)        start = min, step = (max − min) / 255
 *   ubinary   numpy.packbits(x > 0)                  8 dimensions per byte, first one in the high bit
 *   binary    packbits(x > 0) − 128, as int8
 *
 * The per-dimension [min, max] ranges come from, in this order: `ranges` ([2, dim]: the min row,
 * then the max row), `calibrationEmbeddings` (their min and max), or the embeddings themselves.
 * Arithmetic is float32 like numpy's on float32 arrays (`Math.fround` after every step), and the
 * cast truncates toward zero like `astype`.
 *
 * Where upstream is undefined we choose, and say so:
 *   - values outside the calibration range are clamped to the integer range (numpy's cast of an
 *     out-of-range float is undefined behaviour; in practice it wraps around);
 *   - a dimension whose min equals its max (e.g. a single embedding quantized on its own ranges)
 *     has step 0, so upstream divides by zero; we map it to level 0 (uint8 0, int8 −128);
 *   - rows are packed one by one, each padded to whole bytes. Upstream packs the flattened
 *     matrix, which equals ours whenever the width is a multiple of 8 (384 is), and mixes rows
 *     together otherwise.
 */

import { EmbeddingMatrix, toMatrix, type MatrixInput } from './embedding-matrix.ts';

export type Precision = 'float32' | 'int8' | 'uint8' | 'binary' | 'ubinary';

export const PRECISIONS: readonly Precision[] = ['float32', 'int8', 'uint8', 'binary', 'ubinary'];

/** The typed array a precision produces. */
export type PrecisionData<P extends Precision> = P extends 'int8' | 'binary'
  ? Int8Array
  : P extends 'uint8' | 'ubinary'
    ? Uint8Array
    : Float32Array;

export interface QuantizeOptions {
  /** [2, dim]: per-dimension minimum (row 0) and maximum (row 1). */
  ranges?: MatrixInput;
  /** Embeddings whose per-dimension min/max give the ranges (used when `ranges` is absent). */
  calibrationEmbeddings?: MatrixInput;
}

/** Quantizes a float32 matrix. Returns a new matrix (float32: the same one). */
export function quantizeEmbeddings<P extends Precision>(
  embeddings: EmbeddingMatrix<Float32Array>,
  precision: P,
  options: QuantizeOptions = {},
): EmbeddingMatrix<PrecisionData<P>> {
  const { rows, cols } = embeddings;
  switch (precision) {
    case 'float32':
      return embeddings as EmbeddingMatrix<PrecisionData<P>>;
    case 'uint8':
    case 'int8': {
      const { starts, steps } = scalarRanges(embeddings, options);
      const signed = precision === 'int8';
      const out = signed ? new Int8Array(rows * cols) : new Uint8Array(rows * cols); // [rows, cols]
      const offset = signed ? 128 : 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const x = embeddings.data[r * cols + c]!;
          const step = steps[c]!;
          const level = step === 0 ? -offset : Math.fround(Math.fround(Math.fround(x - starts[c]!) / step) - offset);
          const truncated = Math.trunc(level);
          out[r * cols + c] = Math.min(255 - offset, Math.max(-offset, truncated));
        }
      }
      return new EmbeddingMatrix(out, rows, cols) as unknown as EmbeddingMatrix<PrecisionData<P>>;
    }
    case 'ubinary':
    case 'binary': {
      const bytesPerRow = Math.ceil(cols / 8);
      const packed = packBits(embeddings.data, rows, cols); // [rows, ceil(cols / 8)]
      if (precision === 'ubinary') return new EmbeddingMatrix(packed, rows, bytesPerRow) as unknown as EmbeddingMatrix<PrecisionData<P>>;
      const signed = new Int8Array(packed.length);
      for (let i = 0; i < packed.length; i++) signed[i] = packed[i]! - 128;
      return new EmbeddingMatrix(signed, rows, bytesPerRow) as unknown as EmbeddingMatrix<PrecisionData<P>>;
    }
    default:
      throw new RangeError(`precision ${JSON.stringify(precision)} is not supported; expected one of ${PRECISIONS.join(', ')}`);
  }
}

/** Per-dimension start (min) and step ((max − min) / 255), float32 like numpy. */
export function scalarRanges(
  embeddings: EmbeddingMatrix<Float32Array>,
  options: QuantizeOptions = {},
): { starts: Float32Array; steps: Float32Array } {
  const cols = embeddings.cols;
  let min: Float32Array;
  let max: Float32Array;
  if (options.ranges !== undefined) {
    const ranges = toMatrix(options.ranges, 'ranges');
    if (ranges.rows !== 2 || ranges.cols !== cols) {
      throw new RangeError(`ranges must be [2, ${cols}] (min row, max row), got [${ranges.rows}, ${ranges.cols}]`);
    }
    min = Float32Array.from(ranges.row(0));
    max = Float32Array.from(ranges.row(1));
  } else {
    const source = options.calibrationEmbeddings === undefined ? embeddings : toMatrix(options.calibrationEmbeddings, 'calibrationEmbeddings');
    if (source.cols !== cols) throw new RangeError(`calibrationEmbeddings have ${source.cols} dimensions, the embeddings ${cols}`);
    if (source.rows === 0) throw new RangeError('cannot compute quantization ranges from zero embeddings');
    min = new Float32Array(cols).fill(Infinity);
    max = new Float32Array(cols).fill(-Infinity);
    for (let r = 0; r < source.rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = source.data[r * cols + c]!;
        if (v < min[c]!) min[c] = v;
        if (v > max[c]!) max[c] = v;
      }
    }
  }
  const steps = new Float32Array(cols);
  for (let c = 0; c < cols; c++) steps[c] = Math.fround(Math.fround(max[c]! - min[c]!) / 255);
  return { starts: min, steps };
}

/** numpy.packbits(x > 0) per row: bit 7 of byte 0 is dimension 0; the last byte is zero-padded. */
export function packBits(data: ArrayLike<number>, rows: number, cols: number): Uint8Array {
  const bytesPerRow = Math.ceil(cols / 8);
  const out = new Uint8Array(rows * bytesPerRow); // [rows, ceil(cols / 8)]
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const at = r * bytesPerRow + (c >> 3);
      if (data[r * cols + c]! > 0) out[at] = out[at]! | (0x80 >> (c & 7));
    }
  }
  return out;
}
