/**
 * EmbeddingMatrix: many vectors of one width in one flat typed array, row-major.
 *
 *   data: [rows, cols]      row(i) = data[i·cols .. (i+1)·cols), a view (no copy)
 *
 * A corpus of a million sentences is one Float32Array of 384 M numbers (1.5 GB) instead of a
 * million small arrays (each its own object, header and GC work), and can be written to disk or
 * sent to a worker in one piece. Quantized embeddings use the same shape with Int8Array or
 * Uint8Array data.
 *
 * `toMatrix` accepts what users hold (an EmbeddingMatrix, Float32Array[], number[][], or a single
 * vector) and copies only when the rows are not already one flat array.
 */

export type EmbeddingData = Float32Array | Int8Array | Uint8Array;

export class EmbeddingMatrix<T extends EmbeddingData = Float32Array> {
  /** [rows, cols], row-major. */
  readonly data: T;
  readonly rows: number;
  readonly cols: number;

  constructor(data: T, rows: number, cols: number) {
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
      throw new RangeError(`EmbeddingMatrix: rows and cols must be non-negative integers, got ${rows} × ${cols}`);
    }
    if (data.length !== rows * cols) {
      throw new RangeError(`EmbeddingMatrix: data has ${data.length} values, expected rows × cols = ${rows} × ${cols}`);
    }
    this.data = data;
    this.rows = rows;
    this.cols = cols;
  }

  /** [rows, cols], as numpy's `shape`. */
  get dims(): [number, number] {
    return [this.rows, this.cols];
  }

  /** Row i as a view into `data` (writing to it writes to the matrix). */
  row(i: number): T {
    if (!Number.isInteger(i) || i < 0 || i >= this.rows) throw new RangeError(`row ${i} is out of range [0, ${this.rows})`);
    return this.data.subarray(i * this.cols, (i + 1) * this.cols) as T;
  }

  /** Every row as a view. */
  rowViews(): T[] {
    return Array.from({ length: this.rows }, (_, i) => this.row(i));
  }

  /** Plain nested arrays (for JSON). */
  toArray(): number[][] {
    return Array.from({ length: this.rows }, (_, i) => Array.from(this.row(i)));
  }

  /** Rows start .. end−1 as a matrix (a view, clamped to the rows that exist). */
  slice(start: number, end: number): EmbeddingMatrix<T> {
    const from = Math.max(0, Math.min(this.rows, start));
    const to = Math.max(from, Math.min(this.rows, end));
    return new EmbeddingMatrix(this.data.subarray(from * this.cols, to * this.cols) as T, to - from, this.cols);
  }
}

/** Anything that holds rows of numbers of one width. A single vector counts as one row. */
export type MatrixInput =
  | EmbeddingMatrix<EmbeddingData>
  | { data: ArrayLike<number>; rows: number; cols: number }
  | readonly ArrayLike<number>[]
  | ArrayLike<number>;

/**
 * Any MatrixInput as an EmbeddingMatrix. Flat inputs are used as they are (no copy); arrays of
 * rows are copied into one Float32Array. Every row must have the same width.
 */
export function toMatrix(input: MatrixInput, what = 'embeddings'): EmbeddingMatrix<EmbeddingData> {
  if (input instanceof EmbeddingMatrix) return input;
  if (isFlatMatrix(input)) {
    const data = ArrayBuffer.isView(input.data) ? (input.data as EmbeddingData) : Float32Array.from(input.data);
    return new EmbeddingMatrix(data, input.rows, input.cols);
  }
  if (isNumberRow(input)) {
    const row = ArrayBuffer.isView(input) ? (input as EmbeddingData) : Float32Array.from(input);
    if (row.length === 0) throw new RangeError(`${what}: the vector is empty`);
    return new EmbeddingMatrix(row, 1, row.length);
  }
  if (!Array.isArray(input)) throw new TypeError(`${what}: expected an EmbeddingMatrix, an array of vectors or one vector`);
  const rows = input as readonly ArrayLike<number>[];
  if (rows.length === 0) throw new RangeError(`${what}: there are no vectors`);
  const cols = rows[0]!.length;
  const data = new Float32Array(rows.length * cols); // [rows, cols]
  rows.forEach((row, i) => {
    if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
      throw new TypeError(`${what}[${i}] is not a vector`);
    }
    if (row.length !== cols) throw new RangeError(`${what}[${i}] has ${row.length} values, but ${what}[0] has ${cols}`);
    for (let j = 0; j < cols; j++) data[i * cols + j] = row[j]!;
  });
  return new EmbeddingMatrix(data, rows.length, cols);
}

function isFlatMatrix(input: unknown): input is { data: ArrayLike<number>; rows: number; cols: number } {
  return typeof input === 'object' && input !== null && 'data' in input && 'rows' in input && 'cols' in input;
}

function isNumberRow(input: unknown): input is ArrayLike<number> {
  if (ArrayBuffer.isView(input)) return true;
  return Array.isArray(input) && input.length > 0 && typeof input[0] === 'number';
}
