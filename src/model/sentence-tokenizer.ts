/**
 * SentenceTokenizer: what happens to a text before the model, as sentence-transformers does it.
 *
 *   text ─► prompt + text ─► lowercase (only if sentence_bert_config.json asks) ─► BertTokenizer
 *        ─► [CLS] … [SEP], truncated to maxSeqLength
 *
 * It holds no weights, so it can be built alone (the CLI's `tokenize` shows what the model sees
 * without loading the model). Prompts: `prompt` (a literal text) wins over `promptName` (one of
 * the model's named prompts), which wins over the model's default prompt.
 *
 * Left out: pairs of texts (cross-encoders) and any tokenizer other than BERT WordPiece.
 */

import { BertTokenizer, type Encoding } from '../tokenizer/index.ts';
import { parseBertConfig, type BertConfig } from './config.ts';
import { ConfigError, InputError } from './errors.ts';
import {
  describeNames, resolveSentencePipeline, type SentencePipeline, type SentencePipelineInputs,
} from './sentence-transformers-config.ts';

/** sentence-transformers' max_seq_length for all-MiniLM-L6-v2 (sentence_bert_config.json). */
export const DEFAULT_MAX_SEQ_LENGTH = 256;

export interface PromptOptions {
  /** A literal text put before every input (e.g. 'query: '). */
  prompt?: string;
  /** The name of one of the model's prompts (config_sentence_transformers.json). */
  promptName?: string;
}

export interface SentenceTokenizerParts extends SentencePipelineInputs {
  /** The parsed config.json object (or its text). */
  config: unknown;
  /** The text of vocab.txt. */
  vocab: string;
  /** Longest tokenized text, [CLS] and [SEP] included. Default: the model's, else 256. */
  maxSeqLength?: number;
}

export class SentenceTokenizer {
  readonly tokenizer: BertTokenizer;
  readonly maxSeqLength: number;
  readonly pipeline: SentencePipeline;

  private constructor(tokenizer: BertTokenizer, maxSeqLength: number, pipeline: SentencePipeline) {
    this.tokenizer = tokenizer;
    this.maxSeqLength = maxSeqLength;
    this.pipeline = pipeline;
  }

  /** Validates config, pipeline files and vocabulary; returns the tokenizer with the parsed config. */
  static fromParts(parts: SentenceTokenizerParts): { tokenizer: SentenceTokenizer; config: BertConfig } {
    if (typeof parts !== 'object' || parts === null) throw new TypeError('fromParts expects { config, vocab, ... }');
    const config = parseBertConfig(parts.config);
    if (typeof parts.vocab !== 'string') throw new TypeError('fromParts: vocab must be the text of vocab.txt (a string)');
    const pipeline = resolveSentencePipeline(parts);

    const maxSeqLength = parts.maxSeqLength ?? Math.min(pipeline.maxSeqLength ?? DEFAULT_MAX_SEQ_LENGTH, config.maxPositions);
    if (!Number.isInteger(maxSeqLength) || maxSeqLength < 2 || maxSeqLength > config.maxPositions) {
      throw new ConfigError(
        `maxSeqLength must be an integer from 2 to max_position_embeddings (${config.maxPositions}), got ${String(maxSeqLength)}`,
      );
    }
    const tokenizer = BertTokenizer.fromVocab(parts.vocab, { maxLength: maxSeqLength, ...pipeline.tokenizer });
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new ConfigError(`vocab.txt has ${tokenizer.vocabSize} tokens but config.json says vocab_size is ${config.vocabSize}`);
    }
    return { tokenizer: new SentenceTokenizer(tokenizer, maxSeqLength, pipeline), config };
  }

  get prompts(): Readonly<Record<string, string>> {
    return this.pipeline.prompts;
  }

  /** The prompt text a call uses, or '' for none. */
  resolvePrompt(options: PromptOptions = {}): string {
    const { prompt, promptName } = options;
    if (prompt !== undefined) {
      if (typeof prompt !== 'string') throw new InputError(`prompt must be a string, got ${typeof prompt}`);
      return prompt;
    }
    if (promptName !== undefined) {
      if (typeof promptName !== 'string' || !Object.hasOwn(this.pipeline.prompts, promptName)) {
        throw new InputError(`promptName ${JSON.stringify(promptName)} is not a prompt of this model (${describeNames(this.pipeline.prompts)})`);
      }
      return this.pipeline.prompts[promptName]!;
    }
    const name = this.pipeline.defaultPromptName;
    return name === null ? '' : this.pipeline.prompts[name]!;
  }

  /** The text handed to the WordPiece tokenizer: prompt + text, lowercased when the model asks. */
  prepare(text: string, prompt = ''): string {
    if (typeof text !== 'string') throw new InputError(`expected a string, got ${text === null ? 'null' : typeof text}`);
    const full = prompt + text;
    return this.pipeline.lowercaseInput ? full.toLowerCase() : full;
  }

  /** Ids the model sees: [CLS] … [SEP], truncated to maxSeqLength. */
  tokenize(text: string, prompt = ''): number[] {
    return this.tokenizer.tokenize(this.prepare(text, prompt), { maxLength: this.maxSeqLength });
  }

  /** Ids, token strings and offsets (into `prompt + text`), truncated to maxSeqLength. */
  encode(text: string, prompt = ''): Encoding {
    return this.tokenizer.encode(this.prepare(text, prompt), { maxLength: this.maxSeqLength });
  }

  /**
   * Rows at the start of every sequence that pooling leaves out: 0, or, for a prompt on a model
   * whose Pooling has include_prompt = false, [CLS] + the prompt's tokens (upstream:
   * `prompt_length = len(tokenize(prompt)) − 1`, then `attention_mask[:, :prompt_length] = 0`).
   */
  pooledPromptRows(prompt: string): number {
    if (prompt === '' || this.pipeline.includePrompt) return 0;
    return this.tokenize('', prompt).length - 1;
  }
}
