/**
 * Comparing a trace with a reference dump, stage by stage, to find where two implementations
 * part ways: the tool a porter wants when their own numbers disagree with ours (or ours with
 * theirs).
 *
 * A reference dump is JSON in either of two layouts, which share their keys:
 *   - the reference fixtures (`test/fixtures/reference/<variant>/<case>.json`): `input_ids`,
 *     `attention_mask`, `token_type_ids` [B][L], `hidden_states` [N+1][B][L][H] (optional),
 *     `mean_pooled` [B][H] (optional), `sentence_embedding` [B][H];
 *   - what `minilm trace --json` writes (trace.ts): the same keys with B = 1, `pooled` instead of
 *     `mean_pooled` (and `model.pooling` saying which pooling made it).
 *
 * Stages compared, in forward order, each by max |ours − reference| over its values:
 *   tokens       the ids (and token types) must be identical
 *   embeddings   hidden_states[0]                                tolerance 1e-4
 *   layer i      hidden_states[i]                                tolerance 1e-4
 *   pooled       mean_pooled                                     tolerance 1e-4
 *   normalized   sentence_embedding                              tolerance 1e-5
 * (the tolerances the reference fixtures suggest for a float32 engine). Only the real tokens of
 * the chosen reference row are compared: positions whose attention mask is 0 are padding, and the
 * reference's values there are not normative. A stage the reference does not hold is "missing";
 * the stages after diverging tokens are "skipped" (their shapes need not even agree).
 *
 * Left out: comparing attention probabilities (reference dumps do not hold them).
 */

import type { SentenceTrace, StageSummary } from './trace.ts';

/** The reference file is malformed, or was made with another model than the one traced. */
export class TraceReferenceError extends Error {
  override readonly name = 'TraceReferenceError';
}

export interface ReferenceDump {
  input_ids: number[][]; // [B][L]
  attention_mask?: number[][]; // [B][L]
  token_type_ids?: number[][]; // [B][L]
  hidden_states?: number[][][][]; // [N+1][B][L][H]
  mean_pooled?: number[][]; // [B][H]
  sentence_embedding: number[][]; // [B][H]
}

export interface Tolerances {
  /** max abs diff allowed in the hidden states (embeddings and every layer) */
  hidden: number;
  /** ... in the pooled vector */
  pooled: number;
  /** ... in the final sentence embedding */
  embedding: number;
}

export const DEFAULT_TOLERANCES: Readonly<Tolerances> = Object.freeze({ hidden: 1e-4, pooled: 1e-4, embedding: 1e-5 });

export type StageStatus = 'ok' | 'diverges' | 'missing' | 'skipped';

export interface StageDifference {
  /** 'tokens', then the ids of the trace's stages ('embeddings', 'layer.1', …, 'pooled', 'normalized'). */
  id: string;
  label: string;
  status: StageStatus;
  /** max |ours − reference|; null for tokens and for stages not compared. */
  maxAbsDiff: number | null;
  tolerance: number | null;
  /** Where the largest difference is: token index (null for vectors) and index in the row. */
  worst: { token: number | null; index: number; ours: number; reference: number } | null;
  /** What went wrong, for tokens, missing and skipped stages. */
  note: string | null;
}

export interface ComparisonReport {
  /** The reference row compared (0 for single-sequence dumps). */
  row: number;
  tolerances: Tolerances;
  stages: StageDifference[];
  /** The first stage whose status is 'diverges', or null when every compared stage agrees. */
  firstDivergence: StageDifference | null;
}

/** Checks the layout of a parsed reference file (fixture or `trace --json`) and returns its arrays. */
export function parseReferenceDump(json: unknown): ReferenceDump {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TraceReferenceError('the reference must be a JSON object with input_ids and sentence_embedding');
  }
  const obj = json as Record<string, unknown>;
  const nested = (key: string, depth: number, required: boolean): unknown[] | undefined => {
    const value = obj[key];
    if (value === undefined && !required) return undefined;
    let level: unknown = value;
    for (let d = 0; d < depth; d++) {
      if (!Array.isArray(level) || level.length === 0) {
        throw new TraceReferenceError(`the reference's "${key}" must be a non-empty array nested ${depth} deep`);
      }
      level = level[0];
    }
    return value as unknown[];
  };
  const dump: ReferenceDump = {
    input_ids: nested('input_ids', 2, true) as number[][],
    sentence_embedding: nested('sentence_embedding', 2, true) as number[][],
  };
  const mask = nested('attention_mask', 2, false);
  if (mask !== undefined) dump.attention_mask = mask as number[][];
  const types = nested('token_type_ids', 2, false);
  if (types !== undefined) dump.token_type_ids = types as number[][];
  const hidden = nested('hidden_states', 4, false);
  if (hidden !== undefined) dump.hidden_states = hidden as number[][][][];
  // A trace's `pooled` is a mean-pooled vector only when its model pools by the mean.
  const pooling = (obj['model'] as { pooling?: unknown } | undefined)?.pooling;
  const pooled = nested('mean_pooled', 2, false) ?? (pooling === 'mean' ? nested('pooled', 2, false) : undefined);
  if (pooled !== undefined) dump.mean_pooled = pooled as number[][];

  const batch = dump.input_ids.length;
  if (dump.sentence_embedding.length !== batch) {
    throw new TraceReferenceError(
      `the reference has ${batch} rows of input_ids but ${dump.sentence_embedding.length} sentence embeddings`,
    );
  }
  return dump;
}

/** The reference row's ids, token types and positions, mask-0 positions left out. */
export function referenceSequence(
  reference: ReferenceDump,
  row = 0,
): { ids: number[]; tokenTypeIds: number[]; positions: number[] } {
  const batch = reference.input_ids.length;
  if (!Number.isInteger(row) || row < 0 || row >= batch) {
    throw new TraceReferenceError(`row ${String(row)} does not exist: the reference has ${batch} row(s) (0 to ${batch - 1})`);
  }
  const ids = reference.input_ids[row]!;
  const mask = reference.attention_mask?.[row];
  const types = reference.token_type_ids?.[row];
  const out = { ids: [] as number[], tokenTypeIds: [] as number[], positions: [] as number[] };
  for (let p = 0; p < ids.length; p++) {
    if (mask !== undefined && mask[p] === 0) continue;
    out.ids.push(ids[p]!);
    out.tokenTypeIds.push(types?.[p] ?? 0);
    out.positions.push(p);
  }
  return out;
}

/** Compares every stage of `trace` with row `row` of `reference`. */
export function compareTrace(
  trace: SentenceTrace,
  reference: ReferenceDump,
  options: { row?: number; tolerances?: Partial<Tolerances> } = {},
): ComparisonReport {
  const row = options.row ?? 0;
  const tolerances: Tolerances = { ...DEFAULT_TOLERANCES, ...options.tolerances };
  for (const [key, value] of Object.entries(tolerances)) {
    if (typeof value !== 'number' || !(value >= 0)) throw new RangeError(`tolerance ${key} must be a number >= 0, got ${String(value)}`);
  }
  const expected = referenceSequence(reference, row);
  const H = trace.model.hiddenSize;
  const N = trace.model.numLayers;
  if (reference.hidden_states !== undefined && reference.hidden_states.length !== N + 1) {
    throw new TraceReferenceError(
      `the reference has ${reference.hidden_states.length} hidden states (embeddings + ${reference.hidden_states.length - 1} layers) ` +
        `but the model has ${N} layers: was it made with the same checkpoint?`,
    );
  }
  const referenceWidth = reference.sentence_embedding[row]!.length;
  if (referenceWidth !== H) {
    throw new TraceReferenceError(
      `the reference's sentence embedding has ${referenceWidth} values but the model's hidden size is ${H}: was it made with the same checkpoint?`,
    );
  }

  const stages: StageDifference[] = [compareTokens(trace, expected)];
  const tokensAgree = stages[0]!.status === 'ok';

  for (const stage of trace.stages) {
    const base = { id: stage.id, label: stage.label };
    if (!tokensAgree) {
      stages.push({ ...base, ...notCompared('skipped', 'the tokens differ') });
      continue;
    }
    const target = referenceValuesFor(stage, trace, reference, row, expected.positions);
    if (typeof target === 'string') {
      stages.push({ ...base, ...notCompared('missing', target) });
      continue;
    }
    const tolerance = tolerances[target.kind];
    const worst = largestDifference(target.ours, target.reference, target.isTokens);
    const status: StageStatus = worst.maxAbsDiff <= tolerance ? 'ok' : 'diverges';
    stages.push({ ...base, status, maxAbsDiff: worst.maxAbsDiff, tolerance, worst: worst.where, note: null });
  }
  return { row, tolerances, stages, firstDivergence: stages.find((s) => s.status === 'diverges') ?? null };
}

function notCompared(status: 'missing' | 'skipped', note: string): Omit<StageDifference, 'id' | 'label'> {
  return { status, maxAbsDiff: null, tolerance: null, worst: null, note };
}

function compareTokens(
  trace: SentenceTrace,
  expected: { ids: number[]; tokenTypeIds: number[] },
): StageDifference {
  const base = { id: 'tokens', label: 'tokens', maxAbsDiff: null, tolerance: null, worst: null };
  const ours = trace.input_ids[0]!;
  const ourTypes = trace.token_type_ids[0]!;
  const describeToken = (k: number): string => `${ours[k]} (${trace.tokens[k]})`;
  for (let k = 0; k < Math.min(ours.length, expected.ids.length); k++) {
    if (ours[k] !== expected.ids[k]) {
      const note = `token ${k}: ours ${describeToken(k)}, reference ${expected.ids[k]}`;
      return { ...base, status: 'diverges', note };
    }
  }
  if (ours.length !== expected.ids.length) {
    const note = `ours has ${ours.length} tokens, the reference ${expected.ids.length} (the first ${Math.min(ours.length, expected.ids.length)} agree)`;
    return { ...base, status: 'diverges', note };
  }
  for (let k = 0; k < ours.length; k++) {
    if (ourTypes[k] !== expected.tokenTypeIds[k]) {
      const note = `token ${k}: token type ours ${ourTypes[k]}, reference ${expected.tokenTypeIds[k]}`;
      return { ...base, status: 'diverges', note };
    }
  }
  return { ...base, status: 'ok', note: null };
}

interface StageValues {
  kind: keyof Tolerances;
  ours: number[][]; // [L][H] for hidden states, [1][H] for vectors
  reference: unknown[]; // same layout, unchecked
  isTokens: boolean;
}

/** The reference values a stage is compared with, or why there are none. */
function referenceValuesFor(
  stage: StageSummary,
  trace: SentenceTrace,
  reference: ReferenceDump,
  row: number,
  positions: number[],
): StageValues | string {
  if (stage.id === 'embeddings' || stage.id.startsWith('layer.')) {
    const index = stage.id === 'embeddings' ? 0 : Number(stage.id.slice('layer.'.length));
    if (reference.hidden_states === undefined) return 'the reference has no hidden_states';
    const referenceRows = reference.hidden_states[index]![row];
    if (!Array.isArray(referenceRows)) throw new TraceReferenceError(`hidden_states[${index}] has no row ${row}`);
    return {
      kind: 'hidden',
      ours: trace.hidden_states[index]![0]!,
      reference: positions.map((p) => referenceRows[p]),
      isTokens: true,
    };
  }
  if (stage.id === 'pooled') {
    if (trace.model.pooling !== 'mean') return `the model pools by ${trace.model.pooling}, the reference holds mean pooling`;
    if (reference.mean_pooled === undefined) return 'the reference has no mean_pooled';
    return { kind: 'pooled', ours: trace.pooled, reference: [reference.mean_pooled[row]], isTokens: false };
  }
  if (stage.id === 'normalized') {
    return { kind: 'embedding', ours: trace.sentence_embedding, reference: [reference.sentence_embedding[row]], isTokens: false };
  }
  return `no reference value for stage ${stage.id}`;
}

/** max |a − b| over two [rows][width] layouts, and where it is; NaN or a missing value counts as infinitely far. */
function largestDifference(
  ours: number[][],
  reference: unknown[],
  isTokens: boolean,
): { maxAbsDiff: number; where: StageDifference['worst'] } {
  let maxAbsDiff = -1;
  let where: StageDifference['worst'] = null;
  for (let r = 0; r < ours.length; r++) {
    const ourRow = ours[r]!;
    const referenceRow = reference[r];
    if (!Array.isArray(referenceRow) || referenceRow.length !== ourRow.length) {
      const length = Array.isArray(referenceRow) ? `${referenceRow.length} values` : 'no values';
      throw new TraceReferenceError(
        `the reference ${isTokens ? `token ${r}` : 'vector'} has ${length}, expected ${ourRow.length}: was it made with the same checkpoint?`,
      );
    }
    for (let i = 0; i < ourRow.length; i++) {
      const value = referenceRow[i];
      const d = typeof value === 'number' ? Math.abs(ourRow[i]! - value) : NaN;
      const distance = Number.isNaN(d) ? Infinity : d;
      if (distance > maxAbsDiff) {
        maxAbsDiff = distance;
        where = { token: isTokens ? r : null, index: i, ours: ourRow[i]!, reference: typeof value === 'number' ? value : NaN };
      }
    }
  }
  return { maxAbsDiff: Math.max(maxAbsDiff, 0), where };
}
