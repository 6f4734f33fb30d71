/**
 * The benchmark workloads, built from `bench/corpus.json` (every engine gets the same inputs).
 *
 * Each sequence carries both its token ids (what the model engines take) and its text (what an
 * engine that tokenizes itself takes, Transformers.js). The ids come from the Hugging Face
 * tokenizer of all-MiniLM-L6-v2 and include [CLS] and [SEP].
 *
 *   short     256 sentences of 12-16 tokens, batches of 32     (many short queries)
 *   passages  64 passages of 124-132 tokens, batches of 16     (documents to index)
 *   mixed     128 sequences, lengths spread evenly over 5..256, shuffled, batches of 16:
 *             a batch holds short and long sequences together, so an engine that pads every
 *             sequence to the longest of its batch computes on ~45% padding. Built from the
 *             passages' tokens laid end to end; every sequence starts at a word and ends at a
 *             word boundary, so its decoded text tokenizes back to the same ids.
 *   latency   one sentence at a time: 10 warm-up calls, then the first 50 short sentences.
 *   check     "[CLS] hello world [SEP]", whose embedding the reference fixture holds.
 *
 * `quick` shrinks every workload to one batch (32 short, 16 passages, 16 mixed; 3 + 10 latency calls) for
 * smoke runs; it leaves the batch sizes and the length range alone.
 */

import fs from 'node:fs';

/** One input: ids with [CLS] ... [SEP], and the text they came from. */
export interface BenchSequence {
  ids: number[];
  text: string;
}

export interface BatchedWorkload {
  sequences: BenchSequence[];
  batchSize: number;
}

export interface Workloads {
  short: BatchedWorkload;
  passages: BatchedWorkload;
  mixed: BatchedWorkload;
  latencyWarmup: BenchSequence[];
  latencyMeasured: BenchSequence[];
  helloWorld: BenchSequence;
}

interface CorpusFile {
  short: string[];
  shortIds: number[][];
  passages: string[];
  passageIds: number[][];
  helloWorldIds: number[];
}

export class CorpusError extends Error {
  override name = 'CorpusError';
}

export const FULL_SIZES = { short: 256, passages: 64, mixed: 128, latencyWarmup: 10, latencyMeasured: 50 };
export const QUICK_SIZES = { short: 32, passages: 16, mixed: 16, latencyWarmup: 3, latencyMeasured: 10 };
const MIXED_MIN_LENGTH = 5;
const MIXED_MAX_LENGTH = 256;
const MIXED_SHUFFLE_SEED = 0x6d1e;

export function readCorpus(corpusPath: string): CorpusFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(corpusPath, 'utf8'));
  } catch (error) {
    throw new CorpusError(`cannot read the corpus ${corpusPath}: ${(error as Error).message}`);
  }
  const c = parsed as Partial<CorpusFile>;
  const texts = (key: 'short' | 'passages'): string[] => {
    const value = c[key];
    if (!Array.isArray(value) || !value.every((t) => typeof t === 'string')) {
      throw new CorpusError(`corpus field "${key}" must be an array of strings`);
    }
    return value;
  };
  const idLists = (key: 'shortIds' | 'passageIds', count: number): number[][] => {
    const value = c[key];
    if (!Array.isArray(value) || value.length !== count || !value.every(isIdList)) {
      throw new CorpusError(`corpus field "${key}" must hold ${count} arrays of token ids`);
    }
    return value;
  };
  const short = texts('short');
  const passages = texts('passages');
  if (!isIdList(c.helloWorldIds)) throw new CorpusError('corpus field "helloWorldIds" must be an array of token ids');
  return {
    short,
    shortIds: idLists('shortIds', short.length),
    passages,
    passageIds: idLists('passageIds', passages.length),
    helloWorldIds: c.helloWorldIds,
  };
}

function isIdList(value: unknown): value is number[] {
  return Array.isArray(value) && value.length >= 2 && value.every((id) => Number.isInteger(id) && id >= 0);
}

/** vocab.txt: one WordPiece token per line, the line number is the id. */
export function readVocab(vocabPath: string): string[] {
  return fs.readFileSync(vocabPath, 'utf8').split('\n').map((line) => line.replace(/\r$/, ''));
}

export function buildWorkloads(corpus: CorpusFile, vocab: readonly string[], quick: boolean): Workloads {
  const sizes = quick ? QUICK_SIZES : FULL_SIZES;
  const pair = (texts: string[], ids: number[][], i: number): BenchSequence => ({ ids: ids[i]!, text: texts[i]! });
  const take = (texts: string[], ids: number[][], count: number): BenchSequence[] => {
    if (count > texts.length) throw new CorpusError(`the corpus has ${texts.length} items, the workload needs ${count}`);
    return Array.from({ length: count }, (_, i) => pair(texts, ids, i));
  };
  const short = take(corpus.short, corpus.shortIds, sizes.short);
  const allShort = take(corpus.short, corpus.shortIds, corpus.short.length);
  return {
    short: { sequences: short, batchSize: 32 },
    passages: { sequences: take(corpus.passages, corpus.passageIds, sizes.passages), batchSize: 16 },
    mixed: { sequences: buildMixedSequences(corpus.passageIds, vocab, sizes.mixed), batchSize: 16 },
    // Warm-up calls use sentences past the measured ones, so the measured calls see fresh inputs.
    latencyWarmup: allShort.slice(allShort.length - sizes.latencyWarmup),
    latencyMeasured: allShort.slice(0, sizes.latencyMeasured),
    helloWorld: { ids: corpus.helloWorldIds, text: 'hello world' },
  };
}

/**
 * `count` sequences whose lengths (with [CLS] and [SEP]) are spread evenly over 5..256, cut from
 * the passages' content tokens laid end to end (wrapping around), then shuffled with a fixed seed.
 */
export function buildMixedSequences(passageIds: number[][], vocab: readonly string[], count: number): BenchSequence[] {
  const cls = passageIds[0]![0]!;
  const sep = passageIds[0]![passageIds[0]!.length - 1]!;
  const stream = passageIds.flatMap((ids) => ids.slice(1, -1)); // [totalContentTokens], cyclic
  const at = (i: number): number => stream[i % stream.length]!;
  const isContinuation = (id: number): boolean => tokenText(vocab, id).startsWith('##');

  const sequences: BenchSequence[] = [];
  let cursor = 0;
  for (let i = 0; i < count; i++) {
    const length = count === 1 ? MIXED_MAX_LENGTH : Math.round(MIXED_MIN_LENGTH + (i * (MIXED_MAX_LENGTH - MIXED_MIN_LENGTH)) / (count - 1));
    const contentLength = length - 2;
    // Slide the start until it is a word start and the token after the end starts a word too.
    let start = cursor;
    for (let tries = 0; isContinuation(at(start)) || isContinuation(at(start + contentLength)); tries++) {
      if (tries > stream.length) throw new CorpusError(`no word-aligned window of ${contentLength} tokens in the passages`);
      start++;
    }
    const content = Array.from({ length: contentLength }, (_, k) => at(start + k));
    sequences.push({ ids: [cls, ...content, sep], text: decodeWordPieces(vocab, content) });
    cursor = start + contentLength;
  }
  return shuffled(sequences, MIXED_SHUFFLE_SEED);
}

function tokenText(vocab: readonly string[], id: number): string {
  const token = vocab[id];
  if (token === undefined) throw new CorpusError(`token id ${id} is outside the vocabulary (${vocab.length} entries)`);
  return token;
}

/** WordPiece ids back to text: "##" pieces glue to the previous token, others start a new word. */
export function decodeWordPieces(vocab: readonly string[], ids: readonly number[]): string {
  let text = '';
  for (const id of ids) {
    const token = tokenText(vocab, id);
    if (token.startsWith('##')) text += token.slice(2);
    else text += (text === '' ? '' : ' ') + token;
  }
  return text;
}

/** Fisher-Yates with mulberry32, so every run and every engine sees the same order. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Tokens in the workload, without padding. */
export function countTokens(workload: BatchedWorkload): number {
  return workload.sequences.reduce((sum, s) => sum + s.ids.length, 0);
}

/** Share of the positions that are padding when each batch is padded to its longest sequence. */
export function paddingFraction(workload: BatchedWorkload): number {
  let real = 0;
  let padded = 0;
  for (const batch of batches(workload)) {
    const longest = Math.max(...batch.map((s) => s.ids.length));
    real += batch.reduce((sum, s) => sum + s.ids.length, 0);
    padded += longest * batch.length;
  }
  return padded === 0 ? 0 : 1 - real / padded;
}

export function batches(workload: BatchedWorkload): BenchSequence[][] {
  const out: BenchSequence[][] = [];
  for (let i = 0; i < workload.sequences.length; i += workload.batchSize) {
    out.push(workload.sequences.slice(i, i + workload.batchSize));
  }
  return out;
}
