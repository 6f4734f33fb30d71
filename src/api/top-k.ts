/**
 * TopK: the k best (score, id) pairs of a stream, kept in a min-heap of size k.
 *
 * A full sort of n scores costs O(n log n) time and O(n) memory; the heap costs O(n log k) time
 * and O(k) memory, and most candidates are rejected by one comparison with the heap's root (the
 * worst kept score). For a corpus of a million rows and k = 10 that is the difference between
 * sorting a million numbers per query and comparing against one.
 *
 * Order: higher score first; equal scores by lower id first (deterministic, unlike torch.topk).
 */

export interface ScoredId {
  id: number;
  score: number;
}

export class TopK {
  readonly k: number;
  /** Heap arrays: [size]; the root (index 0) is the worst kept pair. */
  private readonly scores: Float64Array;
  private readonly ids: Int32Array;
  private size = 0;

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`topK must be a positive integer, got ${String(k)}`);
    this.k = k;
    this.scores = new Float64Array(k);
    this.ids = new Int32Array(k);
  }

  get length(): number {
    return this.size;
  }

  /** The worst kept score once k pairs are held (−Infinity before): anything not above it can be skipped. */
  get threshold(): number {
    return this.size < this.k ? -Infinity : this.scores[0]!;
  }

  push(score: number, id: number): void {
    if (Number.isNaN(score)) return;
    if (this.size < this.k) {
      let i = this.size++;
      // sift up
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(score, id, this.scores[parent]!, this.ids[parent]!)) break;
        this.scores[i] = this.scores[parent]!;
        this.ids[i] = this.ids[parent]!;
        i = parent;
      }
      this.scores[i] = score;
      this.ids[i] = id;
      return;
    }
    if (!this.worse(this.scores[0]!, this.ids[0]!, score, id)) return; // not better than the worst kept
    // replace the root, sift down
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) break;
      const right = left + 1;
      let child = left;
      if (right < this.size && this.worse(this.scores[right]!, this.ids[right]!, this.scores[left]!, this.ids[left]!)) child = right;
      if (!this.worse(this.scores[child]!, this.ids[child]!, score, id)) break;
      this.scores[i] = this.scores[child]!;
      this.ids[i] = this.ids[child]!;
      i = child;
    }
    this.scores[i] = score;
    this.ids[i] = id;
  }

  /** The kept pairs, best first. */
  sorted(): ScoredId[] {
    const out: ScoredId[] = [];
    for (let i = 0; i < this.size; i++) out.push({ id: this.ids[i]!, score: this.scores[i]! });
    return out.sort((a, b) => b.score - a.score || a.id - b.id);
  }

  /** (scoreA, idA) ranks below (scoreB, idB). */
  private worse(scoreA: number, idA: number, scoreB: number, idB: number): boolean {
    return scoreA < scoreB || (scoreA === scoreB && idA > idB);
  }
}
