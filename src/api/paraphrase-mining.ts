/**
 * Paraphrase mining: the most similar pairs of sentences within one list, as
 * sentence-transformers' `util.paraphrase_mining` / `paraphrase_mining_embeddings`.
 *
 *   for each sentence i: its topK + 1 best-scoring sentences j (itself included, as upstream)
 *   keep the pairs with i ≠ j as [score, min(i, j), max(i, j)], each unordered pair once
 *   sort by score, best first; keep the best maxPairs
 *
 * Upstream bounds memory with a priority queue that evicts low pairs while it goes, so its list
 * is approximately the best maxPairs; ours keeps exactly the best maxPairs distinct pairs. Ties
 * are ordered by (i, j).
 */

import { toMatrix, type MatrixInput } from './embedding-matrix.ts';
import { SearchAccumulator, type SemanticSearchOptions } from './semantic-search.ts';

/** [score, i, j] with i < j. */
export type ParaphrasePair = [score: number, i: number, j: number];

export interface ParaphraseMiningOptions extends Omit<SemanticSearchOptions, 'topK'> {
  /** Best partners considered per sentence. Default 100. */
  topK?: number;
  /** Pairs returned at most. Default 500 000. */
  maxPairs?: number;
}

/** What `paraphraseMining` needs from an encoder. */
export interface EmbeddingSource {
  embedMatrix(texts: readonly string[], options?: { batchSize?: number }): Promise<MatrixInput>;
}

/** The most similar pairs among already computed embeddings. */
export function paraphraseMiningEmbeddings(embeddings: MatrixInput, options: ParaphraseMiningOptions = {}): ParaphrasePair[] {
  const matrix = toMatrix(embeddings);
  const topK = options.topK ?? 100;
  const maxPairs = options.maxPairs ?? 500_000;
  if (!Number.isInteger(maxPairs) || maxPairs < 1) throw new RangeError(`maxPairs must be a positive integer, got ${String(maxPairs)}`);
  if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`topK must be a positive integer, got ${String(topK)}`);

  const search = new SearchAccumulator(matrix, { ...options, topK: topK + 1 });
  search.add(matrix);
  const seen = new Set<number>();
  const pairs: ParaphrasePair[] = [];
  const n = matrix.rows;
  search.results().forEach((hits, i) => {
    for (const { corpusId: j, score } of hits) {
      if (i === j) continue;
      const [lo, hi] = i < j ? [i, j] : [j, i];
      const key = lo * n + hi;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push([score, lo, hi]);
    }
  });
  pairs.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
  return pairs.length > maxPairs ? pairs.slice(0, maxPairs) : pairs;
}

/**
 * The most similar pairs among `sentences`, embedded with `encoder` (resolves to [score, i, j][]),
 * or among `embeddings` when given a matrix instead of an encoder (then `sentences` is the options).
 */
export async function paraphraseMining(
  encoder: EmbeddingSource,
  sentences: readonly string[],
  options?: ParaphraseMiningOptions & { batchSize?: number },
): Promise<ParaphrasePair[]>;
export async function paraphraseMining(embeddings: MatrixInput, options?: ParaphraseMiningOptions): Promise<ParaphrasePair[]>;
export async function paraphraseMining(
  source: EmbeddingSource | MatrixInput,
  sentencesOrOptions?: readonly string[] | ParaphraseMiningOptions,
  maybeOptions: ParaphraseMiningOptions & { batchSize?: number } = {},
): Promise<ParaphrasePair[]> {
  if (isEmbeddingSource(source)) {
    if (!Array.isArray(sentencesOrOptions)) throw new TypeError('paraphraseMining(encoder, sentences, options): sentences must be an array of strings');
    const embeddings = await source.embedMatrix(sentencesOrOptions, maybeOptions.batchSize === undefined ? {} : { batchSize: maybeOptions.batchSize });
    return paraphraseMiningEmbeddings(embeddings, maybeOptions);
  }
  return paraphraseMiningEmbeddings(source, (sentencesOrOptions as ParaphraseMiningOptions | undefined) ?? {});
}

function isEmbeddingSource(value: unknown): value is EmbeddingSource {
  return typeof value === 'object' && value !== null && typeof (value as EmbeddingSource).embedMatrix === 'function';
}
