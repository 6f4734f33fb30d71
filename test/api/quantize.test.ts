/**
 * quantizeEmbeddings against numpy: fixtures/quantize-numpy.json was computed with numpy by
 * sentence-transformers' quantize_embeddings arithmetic (fixtures/make-quantize-fixture.py), on
 * float32 embeddings that are stored exactly in the file.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EmbeddingMatrix } from '../../src/api/embedding-matrix.ts';
import { packBits, quantizeEmbeddings } from '../../src/api/quantize.ts';

interface Case {
  embeddings: number[][];
  calibration: number[][];
  results: Record<'uint8' | 'int8' | 'binary' | 'ubinary', number[][]>;
  calibrated: Record<'uint8' | 'int8', number[][]>;
}
const fixture = JSON.parse(readFileSync(new URL('fixtures/quantize-numpy.json', import.meta.url), 'utf8')) as { cases: Case[] };

function matrix(rows: number[][]): EmbeddingMatrix {
  return new EmbeddingMatrix(Float32Array.from(rows.flat()), rows.length, rows[0]!.length);
}

describe('quantizeEmbeddings matches numpy (sentence-transformers semantics)', () => {
  fixture.cases.forEach((c, i) => {
    const embeddings = matrix(c.embeddings);
    for (const precision of ['uint8', 'int8', 'binary', 'ubinary'] as const) {
      it(`case ${i} [${embeddings.rows}×${embeddings.cols}]: ${precision}, ranges from the embeddings`, () => {
        const q = quantizeEmbeddings(embeddings, precision);
        const expected = c.results[precision];
        expect(q.dims).toEqual([expected.length, expected[0]!.length]);
        expect(q.data).toBeInstanceOf(precision === 'int8' || precision === 'binary' ? Int8Array : Uint8Array);
        expect(q.toArray()).toEqual(expected);
      });
    }
    for (const precision of ['uint8', 'int8'] as const) {
      it(`case ${i}: ${precision} with calibration embeddings, and with the same ranges given directly`, () => {
        const calibrated = quantizeEmbeddings(embeddings, precision, { calibrationEmbeddings: c.calibration });
        expect(calibrated.toArray()).toEqual(c.calibrated[precision]);
        const cols = embeddings.cols;
        const min = Array.from({ length: cols }, (_, j) => Math.min(...c.calibration.map((r) => r[j]!)));
        const max = Array.from({ length: cols }, (_, j) => Math.max(...c.calibration.map((r) => r[j]!)));
        expect(quantizeEmbeddings(embeddings, precision, { ranges: [min, max] }).toArray()).toEqual(c.calibrated[precision]);
      });
    }
  });

  it('float32 returns the matrix unchanged', () => {
    const m = matrix([[0.5, -1]]);
    expect(quantizeEmbeddings(m, 'float32')).toBe(m);
  });

  it('packs bits like numpy.packbits: first dimension in the high bit, last byte zero-padded (per row)', () => {
    // 9 dimensions: 1 0 1 1 0 0 0 1 | 1 → 0b10110001 = 177, 0b10000000 = 128
    const row = [0.3, -0.1, 2, 1e-6, 0, -5, -0.2, 0.9, 0.5];
    expect(Array.from(packBits(row, 1, 9))).toEqual([177, 128]);
    const m = matrix([row, row.map((v) => -v)]);
    expect(quantizeEmbeddings(m, 'ubinary').toArray()).toEqual([[177, 128], [0b01000110, 0]]);
    expect(quantizeEmbeddings(m, 'binary').toArray()).toEqual([[177 - 128, 0], [0b01000110 - 128, -128]]);
  });

  it('clamps values outside the calibration range, and maps a constant dimension to the lowest level', () => {
    const m = matrix([[2, 1], [-2, 1]]);
    const q = quantizeEmbeddings(m, 'uint8', { ranges: [[-1, 1], [1, 1]] });
    expect(q.toArray()).toEqual([[255, 0], [0, 0]]);
    expect(quantizeEmbeddings(m, 'int8', { ranges: [[-1, 1], [1, 1]] }).toArray()).toEqual([[127, -128], [-128, -128]]);
  });

  it('rejects ranges of the wrong shape and unknown precisions', () => {
    const m = matrix([[1, 2]]);
    expect(() => quantizeEmbeddings(m, 'int8', { ranges: [[0, 0, 0], [1, 1, 1]] })).toThrow(/ranges must be \[2, 2\]/);
    expect(() => quantizeEmbeddings(m, 'int4' as never)).toThrow(/precision "int4" is not supported/);
  });
});
