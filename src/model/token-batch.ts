/**
 * A batch of token sequences, packed: every real token of every sequence, one after another.
 *
 * Peers pad every sequence to the longest one and compute on the padding too. Here the padding
 * never enters the model: positions whose attention mask is 0 are dropped, so the linear layers,
 * GELU and LayerNorm run over exactly `totalTokens` rows, and only attention needs to know where
 * each sequence starts and ends. Each kept token keeps its original position id, so the result
 * is the one Hugging Face's BertModel gives for the unmasked positions of a padded batch (those
 * positions never see the padded keys, whose attention weight is exactly 0).
 *
 *   T = totalTokens, B = number of sequences
 *   tokenIds, positionIds, tokenTypeIds: [T]
 *   sequenceStarts: [B + 1]  sequence b owns rows sequenceStarts[b] .. sequenceStarts[b+1]−1
 */

import type { BertConfig } from './config.ts';
import { InputError } from './errors.ts';

/** One input sequence, as the tokenizer produces it (the attention mask defaults to all ones). */
export interface TokenSequence {
  inputIds: ArrayLike<number>;
  attentionMask?: ArrayLike<number>;
  tokenTypeIds?: ArrayLike<number>;
}

export interface TokenBatch {
  totalTokens: number; // T
  tokenIds: Int32Array; // [T]
  positionIds: Int32Array; // [T]
  tokenTypeIds: Int32Array; // [T]
  sequenceStarts: Int32Array; // [B + 1]
  maxSequenceLength: number; // longest packed sequence
}

/** Validates a batch against the config and packs its real tokens. Every problem is an InputError naming its place. */
export function packTokenBatch(batch: readonly TokenSequence[], config: BertConfig): TokenBatch {
  if (!Array.isArray(batch)) throw new InputError('expected an array of token sequences');
  if (batch.length === 0) throw new InputError('the batch is empty: pass at least one sequence');

  let totalTokens = 0;
  for (let b = 0; b < batch.length; b++) totalTokens += validateSequence(batch[b], b, config);

  const tokenIds = new Int32Array(totalTokens);
  const positionIds = new Int32Array(totalTokens);
  const tokenTypeIds = new Int32Array(totalTokens);
  const sequenceStarts = new Int32Array(batch.length + 1);
  let row = 0;
  let maxSequenceLength = 0;
  for (let b = 0; b < batch.length; b++) {
    const { inputIds, attentionMask, tokenTypeIds: types } = batch[b]!;
    sequenceStarts[b] = row;
    for (let position = 0; position < inputIds.length; position++) {
      if (attentionMask !== undefined && attentionMask[position] === 0) continue;
      tokenIds[row] = inputIds[position]!;
      positionIds[row] = position;
      tokenTypeIds[row] = types === undefined ? 0 : types[position]!;
      row++;
    }
    maxSequenceLength = Math.max(maxSequenceLength, row - sequenceStarts[b]!);
  }
  sequenceStarts[batch.length] = row;
  return { totalTokens, tokenIds, positionIds, tokenTypeIds, sequenceStarts, maxSequenceLength };
}

/** Checks one sequence; returns how many of its tokens are real (mask 1). */
function validateSequence(sequence: TokenSequence | undefined, b: number, config: BertConfig): number {
  const where = `sequence ${b}`;
  if (typeof sequence !== 'object' || sequence === null) throw new InputError(`${where} is not an object with inputIds`);
  const { inputIds, attentionMask, tokenTypeIds } = sequence;
  if (!isArrayLike(inputIds)) throw new InputError(`${where}: inputIds must be an array of token ids`);
  const length = inputIds.length;
  if (length === 0) throw new InputError(`${where} has no tokens`);
  if (length > config.maxPositions) {
    throw new InputError(
      `${where} has ${length} tokens, more than the model's ${config.maxPositions} positions (max_position_embeddings); truncate it`,
    );
  }
  checkIntegers(inputIds, 0, config.vocabSize, `${where}: token id`, 'the vocabulary size');
  if (tokenTypeIds !== undefined) {
    if (!isArrayLike(tokenTypeIds) || tokenTypeIds.length !== length) {
      throw new InputError(`${where}: tokenTypeIds must have the same length as inputIds (${length})`);
    }
    checkIntegers(tokenTypeIds, 0, config.typeVocabSize, `${where}: token type`, 'type_vocab_size');
  }
  if (attentionMask === undefined) return length;
  if (!isArrayLike(attentionMask) || attentionMask.length !== length) {
    throw new InputError(`${where}: attentionMask must have the same length as inputIds (${length})`);
  }
  let real = 0;
  for (let i = 0; i < length; i++) {
    const m = attentionMask[i];
    if (m !== 0 && m !== 1) throw new InputError(`${where}: attentionMask[${i}] is ${String(m)}; it must be 0 or 1`);
    real += m;
  }
  if (real === 0) throw new InputError(`${where}: every position is masked out; nothing to embed`);
  return real;
}

function checkIntegers(values: ArrayLike<number>, min: number, end: number, what: string, limit: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v >= end) {
      throw new InputError(`${what} ${String(v)} at position ${i} is out of range [${min}, ${end}) (${limit})`);
    }
  }
}

function isArrayLike(value: unknown): value is ArrayLike<number> {
  return Array.isArray(value) || ArrayBuffer.isView(value);
}
