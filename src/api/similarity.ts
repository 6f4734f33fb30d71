/**
 * Score matrices between two sets of embeddings, as sentence-transformers' `util.cos_sim` and
 * `util.dot_score`:
 *
 *   A: [n, d]   B: [m, d]   →   scores: [n, m]
 *   dot_score(A, B)[i][j] = Σ_k A[i,k]·B[j,k]
 *   cos_sim(A, B)[i][j]   = dot(A_i, B_j) / (max(‖A_i‖, ε) · max(‖B_j‖, ε))     ε = 1e-12
 *                           (upstream normalises the rows with F.normalize, whose eps is 1e-12)
 *
 * Inputs may be EmbeddingMatrix, Float32Array[], number[][] or one vector (one row). Dot products
 * accumulate in float64; scores are stored as float32, like torch's float32 results.
 *
 * Left out: the other sentence-transformers scores (euclidean, manhattan) and pairwise variants.
 */

import { EmbeddingMatrix, toMatrix, type EmbeddingData, type MatrixInput } from './embedding-matrix.ts';

/** F.normalize's eps: a zero vector scores 0 against everything instead of NaN. */
const COSINE_EPS = 1e-12;

/** A function from two matrices to their [n, m] score matrix (cosSim, dotScore, or your own). */
export type ScoreFunction = (a: EmbeddingMatrix<EmbeddingData>, b: EmbeddingMatrix<EmbeddingData>) => EmbeddingMatrix;

/** Cosine similarity of every row of `a` with every row of `b`: [a.rows, b.rows]. */
export function cosSim(a: MatrixInput, b: MatrixInput): EmbeddingMatrix {
  const A = toMatrix(a, 'a');
  const B = toMatrix(b, 'b');
  checkWidths(A, B);
  return scoreMatrix(A, B, rowInverseNorms(A), rowInverseNorms(B));
}

/** Dot product of every row of `a` with every row of `b`: [a.rows, b.rows]. */
export function dotScore(a: MatrixInput, b: MatrixInput): EmbeddingMatrix {
  const A = toMatrix(a, 'a');
  const B = toMatrix(b, 'b');
  checkWidths(A, B);
  return scoreMatrix(A, B, null, null);
}

/** 1 / max(‖row‖, ε) per row. */
export function rowInverseNorms(m: EmbeddingMatrix<EmbeddingData>): Float64Array {
  const { data, rows, cols } = m;
  const out = new Float64Array(rows); // [rows]
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    for (let c = 0; c < cols; c++) squares += data[r * cols + c]! * data[r * cols + c]!;
    out[r] = 1 / Math.max(Math.sqrt(squares), COSINE_EPS);
  }
  return out;
}

/**
 * scores[i, j] = dot(A_i, B_j) · scaleA[i] · scaleB[j] (scales omitted when null).
 * The plain triple loop; the inner loop walks both rows contiguously.
 */
export function scoreMatrix(
  A: EmbeddingMatrix<EmbeddingData>,
  B: EmbeddingMatrix<EmbeddingData>,
  scaleA: Float64Array | null,
  scaleB: Float64Array | null,
): EmbeddingMatrix {
  const d = A.cols;
  const out = new Float32Array(A.rows * B.rows); // [n, m]
  const a = A.data;
  const b = B.data;
  for (let i = 0; i < A.rows; i++) {
    const rowA = i * d;
    for (let j = 0; j < B.rows; j++) {
      const rowB = j * d;
      let dot = 0;
      for (let k = 0; k < d; k++) dot += a[rowA + k]! * b[rowB + k]!;
      out[i * B.rows + j] = dot * (scaleA === null ? 1 : scaleA[i]!) * (scaleB === null ? 1 : scaleB[j]!);
    }
  }
  return new EmbeddingMatrix(out, A.rows, B.rows);
}

export function checkWidths(A: EmbeddingMatrix<EmbeddingData>, B: EmbeddingMatrix<EmbeddingData>): void {
  if (A.cols !== B.cols) throw new RangeError(`the embeddings have different widths: ${A.cols} and ${B.cols}`);
}
