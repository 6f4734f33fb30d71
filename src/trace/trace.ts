/**
 * Tracing one sentence through the model: what `minilm trace` shows, as plain data.
 *
 *   text ─ tokenizer ─► ids [L] ─ embeddings ─► [L, H] ─ layer 1 … layer N ─► [L, H]
 *        ─ pooling ─► [H] ─ L2 normalise ─► [H]
 *
 * `traceSentence` runs the encoder once with a `ForwardObserver` (model/bert.ts) and records, for
 * every stage, the tensor's shape and summary statistics (stats.ts), the hidden states themselves
 * (so a trace can serve as a reference dump), and a digest of each layer's attention.
 *
 * Attention digest. For each layer we average the 12 heads' probability matrices P_h [L, L]
 * (row i: how query token i spreads its attention over the keys j; every row sums to 1):
 *   mean[i][j] = (1/A) Σ_h P_h[i][j]
 * and report the strongest links i → j of that mean, plus, for each head, the key it attends to
 * most on average over all queries: focus_h = argmax_j (1/L) Σ_i P_h[i][j]. Averaging hides what
 * single heads do; the per-head focus shows it back in one number per head.
 *
 * Dimensions: L tokens of the one sequence, H hidden size, A heads, N layers, D = H × (number of
 * pooling modes) the width of the sentence embedding (D = H = 384 for all-MiniLM-L6-v2).
 * The result is plain JSON-ready data (arrays of numbers), nothing here touches a file.
 * Left out: batches (one sequence per trace), intermediate tensors inside a layer (the observer
 * sees the residual stream after each layer, which is what reference dumps contain).
 */

import type { ForwardObserver } from '../model/bert.ts';
import { normalizeRows, poolSentences } from '../model/pooling.ts';
import type { SentenceEncoder } from '../model/sentence-encoder.ts';
import { packTokenBatch, type TokenSequence } from '../model/token-batch.ts';
import { tensorStats, type TensorStats } from './stats.ts';

export const TRACE_FORMAT = 'minilm-trace-v1';

/** A text to tokenize, or token ids that bypass the tokenizer (with [CLS]/[SEP] already in place). */
export type TraceInput =
  | { text: string }
  | {
      ids: readonly number[];
      /** Default all 0. */
      tokenTypeIds?: readonly number[];
      /** Default all 1. Positions with mask 0 are dropped, the others keep their position ids. */
      attentionMask?: readonly number[];
    };

export interface TraceOptions {
  /** How many head-averaged attention links to keep per layer (default 3). */
  topLinks?: number;
  /** A name for the model, shown in the output (e.g. the folder or the synthetic recipe). */
  modelName?: string;
}

/** One stage of the forward pass: its tensor's shape and statistics. */
export interface StageSummary {
  /** Stable key: 'embeddings', 'layer.1' … 'layer.N', 'pooled', 'normalized'. */
  id: string;
  /** For people: 'embeddings', 'layer 1', 'mean pooling', 'L2 normalise'. */
  label: string;
  shape: number[];
  stats: TensorStats;
}

/** query token `from` attends to key token `to` with (head-averaged) probability `weight`. */
export interface AttentionLink {
  from: number;
  to: number;
  weight: number;
}

/** The key token head `head` attends to most, and its mean probability over all queries. */
export interface HeadFocus {
  head: number;
  token: number;
  weight: number;
}

export interface LayerAttention {
  /** 1-based, as in "layer 1", the layer whose attention this is. */
  layer: number;
  /** The strongest links of the head-averaged matrix, strongest first. */
  links: AttentionLink[];
  /** One entry per head. */
  heads: HeadFocus[];
  /** [L][L] the head-averaged probabilities, mean[i][j] for query i, key j. */
  mean: number[][];
}

export interface SentenceTrace {
  format: typeof TRACE_FORMAT;
  model: {
    name: string | null;
    hiddenSize: number;
    numLayers: number;
    numHeads: number;
    headSize: number;
    intermediateSize: number;
    maxSeqLength: number;
    /** Pooling modes joined by '+' ('mean' for all-MiniLM-L6-v2). */
    pooling: string;
    normalize: boolean;
  };
  /** The input text, or null when ids were given. */
  text: string | null;
  /** Token count before truncation to maxSeqLength ([CLS]/[SEP] included); equal to L when nothing was cut. */
  untruncated_length: number;
  /** [L] the token strings of the ids the model saw. */
  tokens: string[];
  /** [1][L] (the batch dimension is kept so the layout matches the reference dumps) */
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
  /** Shapes and statistics, in forward order: embeddings, layers, pooling, normalisation. */
  stages: StageSummary[];
  /** One entry per layer. */
  attention: LayerAttention[];
  /** [N+1][1][L][H]: [0] after the embeddings LayerNorm, [i] after layer i. */
  hidden_states: number[][][][];
  /** [1][D] the pooled vector, before normalisation (D = H per pooling mode). */
  pooled: number[][];
  /** [1][D] the model's output (normalised when model.normalize). */
  sentence_embedding: number[][];
}

/** Runs `encoder` on one input and records every stage. */
export async function traceSentence(
  encoder: SentenceEncoder,
  input: TraceInput,
  options: TraceOptions = {},
): Promise<SentenceTrace> {
  const topLinks = options.topLinks ?? 3;
  if (!Number.isInteger(topLinks) || topLinks < 0) {
    throw new RangeError(`traceSentence: topLinks must be a non-negative integer, got ${String(topLinks)}`);
  }
  const { config } = encoder;
  const H = config.hiddenSize;
  const A = config.numHeads;

  const { sequence, text, untruncatedLength, promptRows } = toSequence(encoder, input);
  const batch = packTokenBatch([sequence], config); // validates ids, types and mask
  const L = batch.totalTokens;
  const ids = Array.from(batch.tokenIds);
  const tokenTypes = Array.from(batch.tokenTypeIds);

  const hiddenStates: Float32Array[] = []; // [N+1] of [L, H]
  const meanAttention = Array.from({ length: config.numLayers }, () => new Float64Array(L * L)); // [N] of [L, L]
  const headReceived = Array.from({ length: config.numLayers }, () => new Float64Array(A * L)); // [N] of [A, L]
  const observer: ForwardObserver = {
    hiddenState(stage, hidden) {
      hiddenStates[stage] = hidden.slice(0, L * H); // the view is reused by the next layer: copy
    },
    attention(layer, _sequence, head, query, probs, length) {
      const mean = meanAttention[layer]!;
      const received = headReceived[layer]!;
      for (let j = 0; j < length; j++) {
        mean[query * L + j] += probs[j]! / A;
        received[head * L + j] += probs[j]! / L;
      }
    },
  };
  await encoder.embedTokenIds([sequence], observer);
  if (hiddenStates.length !== config.numLayers + 1) {
    throw new Error(`traceSentence: the model reported ${hiddenStates.length} hidden states, expected ${config.numLayers + 1}`);
  }

  // Pooling and normalisation with the library's own functions, as `embed` runs them (a prompt's
  // rows are left out of the pooling when the model says so).
  const D = encoder.dimension;
  const pooled = new Float32Array(D); // [D]
  poolSentences(pooled, hiddenStates[config.numLayers]!, batch.sequenceStarts, H, encoder.poolingModes, promptRows > 0 ? [promptRows] : undefined);
  const embedding = pooled.slice(); // [D]
  if (encoder.normalize) normalizeRows(embedding, 1, D);

  const stages: StageSummary[] = hiddenStates.map((hidden, stage) => ({
    id: stage === 0 ? 'embeddings' : `layer.${stage}`,
    label: stage === 0 ? 'embeddings' : `layer ${stage}`,
    shape: [L, H],
    stats: tensorStats(hidden),
  }));
  stages.push({ id: 'pooled', label: `${encoder.pooling} pooling`, shape: [D], stats: tensorStats(pooled) });
  if (encoder.normalize) {
    stages.push({ id: 'normalized', label: 'L2 normalise', shape: [D], stats: tensorStats(embedding) });
  }

  const attention = meanAttention.map((mean, layer): LayerAttention => ({
    layer: layer + 1,
    links: strongestLinks(mean, L, topLinks),
    heads: headFocus(headReceived[layer]!, A, L),
    mean: rows(mean, L, L),
  }));

  return {
    format: TRACE_FORMAT,
    model: {
      name: options.modelName ?? null,
      hiddenSize: H,
      numLayers: config.numLayers,
      numHeads: A,
      headSize: config.headSize,
      intermediateSize: config.intermediateSize,
      maxSeqLength: encoder.maxSeqLength,
      pooling: encoder.pooling,
      normalize: encoder.normalize,
    },
    text,
    untruncated_length: untruncatedLength ?? L,
    tokens: ids.map((id) => encoder.tokenizer.idToToken(id) ?? `[id ${id}]`),
    input_ids: [ids],
    token_type_ids: [tokenTypes],
    attention_mask: [new Array<number>(L).fill(1)],
    stages,
    attention,
    hidden_states: hiddenStates.map((hidden) => [rows(hidden, L, H)]),
    pooled: [Array.from(pooled)],
    sentence_embedding: [Array.from(embedding)],
  };
}

/** The model's input for a trace: tokenized text (with the model's default prompt, if any), or the given ids. */
function toSequence(
  encoder: SentenceEncoder,
  input: TraceInput,
): { sequence: TokenSequence; text: string | null; untruncatedLength: number | null; promptRows: number } {
  if (typeof input !== 'object' || input === null) throw new TypeError('traceSentence: input must be { text } or { ids }');
  if ('text' in input) {
    if (typeof input.text !== 'string') throw new TypeError('traceSentence: text must be a string');
    const prompt = encoder.textTokenizer.resolvePrompt();
    const encoding = encoder.textTokenizer.encode(input.text, prompt);
    return {
      sequence: { inputIds: encoding.ids },
      text: input.text,
      untruncatedLength: encoding.untruncatedLength,
      promptRows: encoder.textTokenizer.pooledPromptRows(prompt),
    };
  }
  if (!Array.isArray(input.ids)) throw new TypeError('traceSentence: ids must be an array of token ids');
  const sequence: TokenSequence = { inputIds: input.ids };
  if (input.tokenTypeIds !== undefined) sequence.tokenTypeIds = input.tokenTypeIds;
  if (input.attentionMask !== undefined) sequence.attentionMask = input.attentionMask;
  return { sequence, text: null, untruncatedLength: null, promptRows: 0 };
}

/** The `count` largest entries of a [L, L] matrix, largest first (ties: earlier query, then earlier key). */
function strongestLinks(matrix: Float64Array, L: number, count: number): AttentionLink[] {
  const order = Array.from({ length: L * L }, (_, k) => k);
  order.sort((a, b) => matrix[b]! - matrix[a]! || a - b);
  return order.slice(0, count).map((k) => ({ from: Math.floor(k / L), to: k % L, weight: matrix[k]! }));
}

/** For each head (row of a [A, L] matrix), the key with the largest mean probability. */
function headFocus(received: Float64Array, A: number, L: number): HeadFocus[] {
  const focus: HeadFocus[] = [];
  for (let h = 0; h < A; h++) {
    let best = 0;
    for (let j = 1; j < L; j++) if (received[h * L + j]! > received[h * L + best]!) best = j;
    focus.push({ head: h, token: best, weight: received[h * L + best]! });
  }
  return focus;
}

/** A flat row-major [rows, columns] array as nested arrays. */
function rows(flat: ArrayLike<number>, rowCount: number, columns: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < rowCount; r++) out.push(Array.from({ length: columns }, (_, c) => flat[r * columns + c]!));
  return out;
}
