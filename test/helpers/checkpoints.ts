/**
 * Synthetic checkpoints for tests, generated in memory once per test process (never committed),
 * and the reference fixtures copied from the float64 ground truth.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateSyntheticCheckpoint, SYNTHETIC_FULL, SYNTHETIC_TINY, type SyntheticRecipe } from '../../src/model/synthetic.ts';

export type Variant = 'full' | 'tiny';
export const RECIPES: Record<Variant, SyntheticRecipe> = { full: SYNTHETIC_FULL, tiny: SYNTHETIC_TINY };

const generated = new Map<Variant, Uint8Array>();

/** The safetensors bytes of a synthetic checkpoint (generated on first use, then cached). */
export function syntheticWeights(variant: Variant): Uint8Array {
  let bytes = generated.get(variant);
  if (bytes === undefined) {
    bytes = generateSyntheticCheckpoint(RECIPES[variant]);
    generated.set(variant, bytes);
  }
  return bytes;
}

export function fixturePath(relative: string): string {
  return fileURLToPath(new URL(`../fixtures/${relative}`, import.meta.url));
}

export function readFixtureText(relative: string): string {
  return readFileSync(fixturePath(relative), 'utf8');
}

export function readFixtureJson<T = unknown>(relative: string): T {
  return JSON.parse(readFixtureText(relative)) as T;
}

/** The real vocabulary of all-MiniLM-L6-v2 (shipped in weights/). */
export function realVocab(): string {
  return readFileSync(fileURLToPath(new URL('../../weights/all-MiniLM-L6-v2/vocab.txt', import.meta.url)), 'utf8');
}

/** One case of test/fixtures/reference/<variant>/ (see its README). */
export interface ReferenceCase {
  case: string;
  shape: { batch: number; seq_len: number; hidden: number };
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  sentence_embedding: number[][];
  mean_pooled: number[][];
  hidden_states?: number[][][][]; // [N+1][B][L][H]
}

export interface ReferenceIndex {
  cases: { case: string; file: string; batch: number; seq_len: number; has_hidden_states: boolean }[];
}

export function referenceCases(variant: Variant): ReferenceCase[] {
  const index = readFixtureJson<ReferenceIndex>(`reference/${variant}/index.json`);
  return index.cases.map((c) => readFixtureJson<ReferenceCase>(`reference/${variant}/${c.file}`));
}

/** max |a_i − b_i| over two equally long sequences of numbers. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = d; // NaN propagates as a failure
  }
  return max;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}
