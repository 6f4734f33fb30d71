/**
 * Semantic search: for each query, the top-k corpus rows by score, as sentence-transformers'
 * `util.semantic_search` (returns, per query, `{ corpusId, score }` best first).
 *
 *   Q: [q, d] queries    C: [c, d] corpus    scores are computed block by block:
 *   for each block of queryChunkSize queries × corpusChunkSize corpus rows:
 *       S = score(Q_block, C_block)          [≤ queryChunkSize, ≤ corpusChunkSize]
 *       each row of S feeds its query's TopK heap
 *
 * Memory is one block of scores plus k pairs per query, whatever the corpus size; a corpus can
 * also arrive in pieces (`SearchAccumulator.add`), e.g. while it is being embedded, so the whole
 * corpus never has to be held. Ties are broken by the lower corpus id.
 *
 * Differences from upstream: the default corpus block is 10 000 rows (upstream: 500 000, which
 * is a 200 MB score block in float32 for 100 queries), and `topK` larger than the corpus simply
 * returns the whole corpus, sorted.
 */

import { EmbeddingMatrix, toMatrix, type EmbeddingData, type MatrixInput } from './embedding-matrix.ts';
import { checkWidths, rowInverseNorms, scoreMatrix, type ScoreFunction } from './similarity.ts';
import { TopK } from './top-k.ts';

export interface SearchHit {
  corpusId: number;
  score: number;
}

export interface SemanticSearchOptions {
  /** Hits per query. Default 10. */
  topK?: number;
  /** 'cosine' (default), 'dot', or a function returning the [n, m] score matrix of two matrices. */
  scoreFunction?: 'cosine' | 'dot' | ScoreFunction;
  /** Queries scored at once. Default 100. */
  queryChunkSize?: number;
  /** Corpus rows scored at once. Default 10 000. */
  corpusChunkSize?: number;
}

/** The top-k corpus hits of every query, best first. */
export function semanticSearch(queries: MatrixInput, corpus: MatrixInput, options: SemanticSearchOptions = {}): SearchHit[][] {
  const search = new SearchAccumulator(queries, options);
  search.add(corpus);
  return search.results();
}

/** Top-k search over a corpus that arrives in pieces; `add` them in order, then read `results`. */
export class SearchAccumulator {
  private readonly queries: EmbeddingMatrix<EmbeddingData>;
  private readonly heaps: TopK[];
  private readonly scoreFunction: 'cosine' | 'dot' | ScoreFunction;
  private readonly queryInverseNorms: Float64Array | null;
  private readonly queryChunkSize: number;
  private readonly corpusChunkSize: number;
  /** Corpus rows added so far: the id of the next row. */
  private seen = 0;

  constructor(queries: MatrixInput, options: SemanticSearchOptions = {}) {
    this.queries = toMatrix(queries, 'queries');
    this.heaps = Array.from({ length: this.queries.rows }, () => new TopK(options.topK ?? 10));
    this.scoreFunction = options.scoreFunction ?? 'cosine';
    if (typeof this.scoreFunction !== 'function' && this.scoreFunction !== 'cosine' && this.scoreFunction !== 'dot') {
      throw new RangeError(`scoreFunction must be 'cosine', 'dot' or a function, got ${JSON.stringify(this.scoreFunction)}`);
    }
    this.queryInverseNorms = this.scoreFunction === 'cosine' ? rowInverseNorms(this.queries) : null;
    this.queryChunkSize = positiveInteger(options.queryChunkSize ?? 100, 'queryChunkSize');
    this.corpusChunkSize = positiveInteger(options.corpusChunkSize ?? 10_000, 'corpusChunkSize');
  }

  /** Corpus rows added so far. */
  get corpusSize(): number {
    return this.seen;
  }

  /** The next rows of the corpus (their ids continue from the previous piece). */
  add(corpusPiece: MatrixInput): void {
    const corpus = toMatrix(corpusPiece, 'corpus');
    checkWidths(this.queries, corpus);
    const Q = this.queries;
    for (let c0 = 0; c0 < corpus.rows; c0 += this.corpusChunkSize) {
      const block = corpus.slice(c0, c0 + this.corpusChunkSize);
      const blockInverseNorms = this.scoreFunction === 'cosine' ? rowInverseNorms(block) : null;
      for (let q0 = 0; q0 < Q.rows; q0 += this.queryChunkSize) {
        const queryBlock = Q.slice(q0, q0 + this.queryChunkSize);
        const scores = this.scoreBlock(queryBlock, q0, block, blockInverseNorms); // [queryBlock.rows, block.rows]
        for (let i = 0; i < queryBlock.rows; i++) {
          const heap = this.heaps[q0 + i]!;
          for (let j = 0; j < block.rows; j++) {
            const score = scores.data[i * block.rows + j]!;
            if (score >= heap.threshold) heap.push(score, this.seen + c0 + j);
          }
        }
      }
    }
    this.seen += corpus.rows;
  }

  /** Per query, its hits best first. */
  results(): SearchHit[][] {
    return this.heaps.map((heap) => heap.sorted().map(({ id, score }) => ({ corpusId: id, score })));
  }

  private scoreBlock(
    queryBlock: EmbeddingMatrix<EmbeddingData>,
    q0: number,
    block: EmbeddingMatrix<EmbeddingData>,
    blockInverseNorms: Float64Array | null,
  ): EmbeddingMatrix {
    if (typeof this.scoreFunction === 'function') {
      const scores = this.scoreFunction(queryBlock, block);
      if (!(scores && scores.rows === queryBlock.rows && scores.cols === block.rows)) {
        throw new RangeError(`scoreFunction must return a [${queryBlock.rows}, ${block.rows}] matrix`);
      }
      return scores;
    }
    const queryScale = this.queryInverseNorms?.subarray(q0, q0 + queryBlock.rows) ?? null;
    return scoreMatrix(queryBlock, block, queryScale, blockInverseNorms);
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}
