/**
 * Embedding writers for `minilm embed`, fed one chunk of rows at a time:
 *
 *   jsonl   {"index":0,"text":"…","embedding":[…]} per line (stdout or a file)
 *   npy     NumPy .npy v1.0: a header { descr, fortran_order, shape: (rows, cols) } padded to a
 *           multiple of 64 bytes, then the rows, little-endian. The row count is unknown while
 *           streaming, so the header is written with room for any count and rewritten at the end.
 *   f32     raw little-endian float32 rows, nothing else (rows × cols × 4 bytes)
 *
 * A file is written as FILE.part and renamed when complete, so an interrupted run never leaves a
 * file that looks finished. Float values in JSONL are printed with 9 significant digits, which
 * is enough to give back the exact float32.
 */

import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { EmbeddingData, EmbeddingMatrix } from '../api/embedding-matrix.ts';
import { UsageError, writeOut, type CliIO, type OutputStream } from './io.ts';

export type OutputFormat = 'jsonl' | 'npy' | 'f32';

export interface EmbeddingWriter {
  /** Rows of one chunk, with their texts and the index of the first row. */
  write(matrix: EmbeddingMatrix<EmbeddingData>, texts: readonly string[], firstIndex: number): Promise<void>;
  /** Finishes the file (header, rename); returns the rows written. */
  close(): Promise<number>;
  /** Removes a half-written file after an error. */
  abort(): Promise<void>;
}

/** The format from --format, else from the output file's extension, else jsonl. */
export function chooseFormat(format: string | undefined, output: string | undefined): OutputFormat {
  if (format !== undefined) {
    if (format !== 'jsonl' && format !== 'npy' && format !== 'f32') throw new UsageError(`--format must be jsonl, npy or f32, got ${JSON.stringify(format)}`);
    return format;
  }
  if (output !== undefined && /\.npy$/i.test(output)) return 'npy';
  if (output !== undefined && /\.(f32|bin)$/i.test(output)) return 'f32';
  return 'jsonl';
}

export async function createWriter(format: OutputFormat, output: string | undefined, io: CliIO): Promise<EmbeddingWriter> {
  if (output === undefined) {
    if (format === 'npy') throw new UsageError('--format npy needs --output FILE (its header is completed at the end)');
    if (format === 'f32' && io.stdout.isTTY) throw new UsageError('--format f32 writes binary data: use --output FILE or redirect stdout');
    return streamWriter(format, io.stdout);
  }
  const path = isAbsolute(output) ? output : resolve(io.cwd, output);
  const part = `${path}.part`;
  const file = await open(part, 'w');
  return fileWriter(format, file, part, path);
}

function streamWriter(format: 'jsonl' | 'f32', stream: OutputStream): EmbeddingWriter {
  let rows = 0;
  return {
    async write(matrix, texts, firstIndex) {
      await writeOut(stream, format === 'jsonl' ? jsonLines(matrix, texts, firstIndex) : bytesOf(matrix));
      rows += matrix.rows;
    },
    async close() {
      return rows;
    },
    async abort() {},
  };
}

function fileWriter(format: OutputFormat, file: FileHandle, part: string, path: string): EmbeddingWriter {
  let rows = 0;
  let cols = -1;
  let descr = '';
  let position = 0;
  const append = async (chunk: string | Uint8Array): Promise<void> => {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    await file.write(bytes, 0, bytes.length, position);
    position += bytes.length;
  };
  return {
    async write(matrix, texts, firstIndex) {
      if (format === 'npy' && cols === -1) {
        cols = matrix.cols;
        descr = npyDescr(matrix.data);
        await append(npyHeader(descr, null, cols)); // the row count is filled in by close()
      }
      if (format === 'f32' && !(matrix.data instanceof Float32Array)) {
        throw new UsageError('--format f32 holds float32 embeddings only; use npy or jsonl with --precision');
      }
      await append(format === 'jsonl' ? jsonLines(matrix, texts, firstIndex) : bytesOf(matrix));
      rows += matrix.rows;
    },
    async close() {
      if (format === 'npy') {
        if (cols === -1) throw new UsageError('no embeddings to write');
        await file.write(npyHeader(descr, rows, cols), 0, undefined, 0);
      }
      await file.close();
      await rename(part, path);
      return rows;
    },
    async abort() {
      await file.close().catch(() => {});
      await rm(part, { force: true });
    },
  };
}

function jsonLines(matrix: EmbeddingMatrix<EmbeddingData>, texts: readonly string[], firstIndex: number): string {
  const float = matrix.data instanceof Float32Array;
  let out = '';
  for (let r = 0; r < matrix.rows; r++) {
    const values = Array.from(matrix.row(r), (v) => (float ? Number(v.toPrecision(9)) : v));
    out += `${JSON.stringify({ index: firstIndex + r, text: texts[r], embedding: values })}\n`;
  }
  return out;
}

/** The matrix's bytes, little-endian (typed arrays use the platform's order, little-endian everywhere we run). */
function bytesOf(matrix: EmbeddingMatrix<EmbeddingData>): Uint8Array {
  const { data } = matrix;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function npyDescr(data: EmbeddingData): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Int8Array) return '|i1';
  return '|u1';
}

/** Longest row count the reserved header space holds (15 digits). */
const NPY_ROWS_WIDTH = 15;

/** The .npy v1.0 header: magic, version, header length (uint16 LE), dict padded with spaces, '\n'. */
export function npyHeader(descr: string, rows: number | null, cols: number): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows ?? 0}, ${cols}), }`;
  const reserved = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${'9'.repeat(NPY_ROWS_WIDTH)}, ${cols}), }`;
  const total = Math.ceil((10 + reserved.length + 1) / 64) * 64; // magic(6) + version(2) + length(2) + dict + '\n'
  const headerLength = total - 10;
  const text = dict.padEnd(headerLength - 1, ' ') + '\n';
  const out = new Uint8Array(total);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, headerLength & 0xff, headerLength >> 8]);
  out.set(new TextEncoder().encode(text), 10);
  return out;
}
