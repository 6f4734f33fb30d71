/**
 * Node adapter: load a model folder from disk. The only part of the library (with the CLI and
 * server) that touches the file system; everything it builds is the runtime-neutral core.
 *
 * A model folder is what the Hugging Face Hub holds for a sentence-transformers model:
 *   config.json, model.safetensors, vocab.txt   (required)
 *   sentence_bert_config.json                   (optional: max_seq_length)
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SentenceEncoder, type SentenceEncoderParts } from './model/sentence-encoder.ts';

export * from './index.ts';

export type LoadOptions = Omit<SentenceEncoderParts, 'config' | 'weights' | 'vocab'>;

/** Reads config.json, model.safetensors and vocab.txt (and sentence_bert_config.json when present) from `dir`. */
export async function loadSentenceEncoder(dir: string, options: LoadOptions = {}): Promise<SentenceEncoder> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('loadSentenceEncoder expects a folder path');
  const [configText, weights, vocab, sentenceBertConfigText] = await Promise.all([
    readRequired(dir, 'config.json', 'utf8'),
    readRequired(dir, 'model.safetensors'),
    readRequired(dir, 'vocab.txt', 'utf8'),
    readOptional(dir, 'sentence_bert_config.json'),
  ]);
  const maxSeqLength = options.maxSeqLength ?? parseMaxSeqLength(sentenceBertConfigText, dir);
  return SentenceEncoder.fromParts({ ...options, config: configText, weights, vocab, ...(maxSeqLength === undefined ? {} : { maxSeqLength }) });
}

/** A required file of the model folder; a missing one is named in the error, with the folder. */
async function readRequired(dir: string, name: string): Promise<Uint8Array>;
async function readRequired(dir: string, name: string, encoding: 'utf8'): Promise<string>;
async function readRequired(dir: string, name: string, encoding?: 'utf8'): Promise<Uint8Array | string> {
  const path = join(dir, name);
  try {
    if (encoding !== undefined) return await readFile(path, encoding);
    const buffer = await readFile(path);
    // A view of the same memory, not a copy: the weights are held once.
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`model folder "${dir}" has no ${name}`);
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
}

async function readOptional(dir: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseMaxSeqLength(text: string | undefined, dir: string): number | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${join(dir, 'sentence_bert_config.json')} is not valid JSON`);
  }
  const value = (parsed as { max_seq_length?: unknown }).max_seq_length;
  return typeof value === 'number' ? value : undefined;
}
