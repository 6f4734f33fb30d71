/**
 * Score matrices, top-k, semantic search and paraphrase mining, each against a plain version
 * written here: nested loops over number[][], and a full sort instead of a heap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EmbeddingMatrix, toMatrix } from '../../src/api/embedding-matrix.ts';
import { paraphraseMining, paraphraseMiningEmbeddings } from '../../src/api/paraphrase-mining.ts';
import { SearchAccumulator, semanticSearch } from '../../src/api/semantic-search.ts';
import { cosSim, dotScore } from '../../src/api/similarity.ts';
import { TopK } from '../../src/api/top-k.ts';
import { randomArray } from '../helpers/random.ts';

function randomRows(rows: number, cols: number, seed: number): number[][] {
  const flat = randomArray(rows * cols, seed);
  return Array.from({ length: rows }, (_, r) => Array.from(flat.subarray(r * cols, (r + 1) * cols)));
}

const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i]!, 0);
const norm = (a: number[]): number => Math.sqrt(dot(a, a));
const plainCos = (a: number[], b: number[]): number => dot(a, b) / (Math.max(norm(a), 1e-12) * Math.max(norm(b), 1e-12));

/** Per query: every corpus row scored, fully sorted (score desc, id asc), first k. */
function plainSearch(queries: number[][], corpus: number[][], k: number, score = plainCos): { corpusId: number; score: number }[][] {
  return queries.map((q) =>
    corpus
      .map((c, corpusId) => ({ corpusId, score: Math.fround(score(q, c)) }))
      .sort((a, b) => b.score - a.score || a.corpusId - b.corpusId)
      .slice(0, k),
  );
}

describe('EmbeddingMatrix and toMatrix', () => {
  it('holds rows in one flat array; row() is a view; dims is [rows, cols]', () => {
    const m = new EmbeddingMatrix(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3);
    expect(m.dims).toEqual([2, 3]);
    const row = m.row(1);
    row[0] = 40;
    expect(m.data[3]).toBe(40);
    expect(m.toArray()).toEqual([[1, 2, 3], [40, 5, 6]]);
    expect(m.slice(1, 5).toArray()).toEqual([[40, 5, 6]]);
    expect(() => m.row(2)).toThrow(/out of range/);
    expect(() => new EmbeddingMatrix(new Float32Array(5), 2, 3)).toThrow(/expected rows × cols/);
  });

  it('accepts number[][], Float32Array[], one vector, or a flat { data, rows, cols }', () => {
    const rows = [[1, 2], [3, 4]];
    expect(toMatrix(rows).toArray()).toEqual(rows);
    expect(toMatrix(rows.map((r) => Float32Array.from(r))).toArray()).toEqual(rows);
    expect(toMatrix([1, 2]).dims).toEqual([1, 2]);
    expect(toMatrix(new Float32Array([1, 2, 3])).dims).toEqual([1, 3]);
    expect(toMatrix({ data: [1, 2, 3, 4], rows: 2, cols: 2 }).toArray()).toEqual(rows);
    expect(() => toMatrix([[1, 2], [3]])).toThrow(/embeddings\[1\] has 1 values, but embeddings\[0\] has 2/);
    expect(() => toMatrix([])).toThrow(/no vectors/);
  });
});

describe('cosSim and dotScore', () => {
  it('equal the plain nested loops on random matrices', () => {
    const a = randomRows(7, 19, 1);
    const b = randomRows(11, 19, 2);
    const cos = cosSim(a, b);
    const dots = dotScore(a, b);
    expect(cos.dims).toEqual([7, 11]);
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < 11; j++) {
        expect(cos.data[i * 11 + j]).toBeCloseTo(plainCos(a[i]!, b[j]!), 6);
        expect(dots.data[i * 11 + j]).toBeCloseTo(dot(a[i]!, b[j]!), 6);
      }
    }
  });

  it('gives 0 (not NaN) for a zero vector, and rejects different widths', () => {
    expect(Array.from(cosSim([0, 0, 0], [[1, 2, 3]]).data)).toEqual([0]);
    expect(() => cosSim([[1, 2]], [[1, 2, 3]])).toThrow(/different widths: 2 and 3/);
  });
});

describe('TopK', () => {
  it('keeps the k best of a stream, as a full sort does (property test)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -20, max: 20 }), { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), (scores, k) => {
        const heap = new TopK(k);
        scores.forEach((s, id) => heap.push(s / 4, id)); // many ties
        const expected = scores
          .map((s, id) => ({ id, score: s / 4 }))
          .sort((a, b) => b.score - a.score || a.id - b.id)
          .slice(0, k);
        expect(heap.sorted()).toEqual(expected);
      }),
    );
  });

  it('rejects k < 1', () => {
    expect(() => new TopK(0)).toThrow(/positive integer/);
  });
});

describe('semanticSearch', () => {
  const queries = randomRows(5, 16, 3);
  const corpus = randomRows(237, 16, 4);

  it('equals a full sort of every score, for several chunk sizes', () => {
    const expected = plainSearch(queries, corpus, 7);
    for (const [queryChunkSize, corpusChunkSize] of [[100, 10_000], [2, 13], [1, 1], [3, 236]]) {
      const hits = semanticSearch(queries, corpus, { topK: 7, queryChunkSize, corpusChunkSize });
      expect(hits.length).toBe(5);
      hits.forEach((row, q) => {
        expect(row.map((h) => h.corpusId)).toEqual(expected[q]!.map((h) => h.corpusId));
        row.forEach((h, i) => expect(h.score).toBeCloseTo(expected[q]![i]!.score, 6));
      });
    }
  });

  it('dot scores and a custom score function', () => {
    const expected = plainSearch(queries, corpus, 3, dot);
    expect(semanticSearch(queries, corpus, { topK: 3, scoreFunction: 'dot' }).map((r) => r.map((h) => h.corpusId))).toEqual(
      expected.map((r) => r.map((h) => h.corpusId)),
    );
    const custom = semanticSearch(queries, corpus, { topK: 3, scoreFunction: (a, b) => dotScore(a, b) });
    expect(custom.map((r) => r.map((h) => h.corpusId))).toEqual(expected.map((r) => r.map((h) => h.corpusId)));
  });

  it('gives the same hits when the corpus arrives in pieces; topK larger than the corpus returns it all', () => {
    const whole = semanticSearch(queries, corpus, { topK: 4 });
    const search = new SearchAccumulator(queries, { topK: 4 });
    for (let start = 0; start < corpus.length; start += 50) search.add(corpus.slice(start, start + 50));
    expect(search.corpusSize).toBe(237);
    expect(search.results()).toEqual(whole);
    expect(semanticSearch(queries[0]!, corpus.slice(0, 3), { topK: 10 })[0]!.length).toBe(3);
  });

  it('rejects bad options', () => {
    expect(() => semanticSearch(queries, corpus, { topK: 0 })).toThrow(/topK must be a positive integer/);
    expect(() => semanticSearch(queries, corpus, { scoreFunction: 'euclid' as never })).toThrow(/scoreFunction/);
    expect(() => semanticSearch(queries, corpus, { corpusChunkSize: -1 })).toThrow(/corpusChunkSize/);
  });
});

/** sentence-transformers' paraphrase_mining_embeddings, restated plainly (no heap, no max_pairs eviction). */
function plainParaphraseMining(rows: number[][], topK: number): [number, number, number][] {
  const pairs = new Map<string, [number, number, number]>();
  rows.forEach((a, i) => {
    const best = rows
      .map((b, j) => ({ j, s: Math.fround(plainCos(a, b)) }))
      .sort((x, y) => y.s - x.s || x.j - y.j)
      .slice(0, topK + 1);
    for (const { j, s } of best) {
      if (i === j) continue;
      const [lo, hi] = i < j ? [i, j] : [j, i];
      if (!pairs.has(`${lo},${hi}`)) pairs.set(`${lo},${hi}`, [s, lo, hi]);
    }
  });
  return [...pairs.values()].sort((x, y) => y[0] - x[0] || x[1] - y[1] || x[2] - y[2]);
}

describe('paraphraseMining', () => {
  const rows = randomRows(40, 12, 5);

  it('equals the plain algorithm; pairs are [score, i, j] with i < j, best first', () => {
    const mined = paraphraseMiningEmbeddings(rows, { topK: 3 });
    const expected = plainParaphraseMining(rows, 3);
    expect(mined.map(([, i, j]) => [i, j])).toEqual(expected.map(([, i, j]) => [i, j]));
    mined.forEach(([score, i, j], n) => {
      expect(i).toBeLessThan(j);
      expect(score).toBeCloseTo(expected[n]![0], 6);
    });
    expect(paraphraseMiningEmbeddings(rows, { topK: 3, maxPairs: 5 })).toEqual(mined.slice(0, 5));
  });

  it('takes an encoder and sentences too', async () => {
    const byText = new Map(rows.map((r, i) => [`s${i}`, r]));
    const fakeEncoder = {
      async embedMatrix(texts: readonly string[]) {
        return toMatrix(texts.map((t) => byText.get(t)!));
      },
    };
    const sentences = rows.map((_, i) => `s${i}`);
    expect(await paraphraseMining(fakeEncoder, sentences, { topK: 2 })).toEqual(paraphraseMiningEmbeddings(rows, { topK: 2 }));
    expect(await paraphraseMining(rows, { topK: 2 })).toEqual(paraphraseMiningEmbeddings(rows, { topK: 2 }));
  });
});
