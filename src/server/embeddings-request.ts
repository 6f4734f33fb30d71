/**
 * The body of `POST /v1/embeddings`, checked field by field as OpenAI's embeddings API defines it:
 *
 *   {
 *     "input": "one text" | ["text", ...] | [101, 7592, 102] | [[101, 7592, 102], ...],
 *     "model": "all-MiniLM-L6-v2",          optional here; another name is refused by the server
 *     "encoding_format": "float" | "base64", optional, default "float"
 *     "dimensions": 128,                     optional: keep the first 128 values, renormalised
 *     "user": "..."                          optional, ignored
 *   }
 *
 * Token ids are this model's WordPiece ids, taken verbatim as the sequence the model sees
 * ([CLS] and [SEP] included: what `encoder.tokenize(text)` returns), so a sequence longer than
 * the model's max_seq_length is refused, as OpenAI refuses an input over the context length.
 * A sequence must start with [CLS] and end with [SEP]: ids from another tokenizer (tiktoken ids,
 * which LangChain's OpenAIEmbeddings sends by default) would otherwise be embedded as nonsense
 * without a word of warning. Texts are tokenized by the server and truncated like `embed()` does.
 *
 * Every problem is an ApiError 400 whose message names the field (and the index inside `input`).
 * As OpenAI does, empty texts and empty arrays are refused, and so are more than `maxInputs` inputs.
 *
 * Left out: OpenAI's rejection of unknown fields (ignored here, so newer clients keep working).
 */

import { invalidParam } from './errors.ts';

export type EncodingFormat = 'float' | 'base64';

/** One input of a request: a text to tokenize, or token ids to use as they are. */
export type EmbeddingInput = { text: string; ids?: undefined } | { text?: undefined; ids: number[] };

export interface EmbeddingsRequest {
  inputs: EmbeddingInput[];
  /** The model the client names, or undefined when it names none. */
  model: string | undefined;
  encodingFormat: EncodingFormat;
  /** Keep this many leading values of each embedding (then renormalise); undefined keeps all. */
  dimensions: number | undefined;
}

export interface RequestLimits {
  /** Most inputs in one request (OpenAI: 2048). */
  maxInputs: number;
  /** Token ids must be below this (the model's vocab_size). */
  vocabSize: number;
  /** Longest token-id sequence accepted, [CLS] and [SEP] included. */
  maxSeqLength: number;
  /** Width of the model's embeddings: the largest `dimensions`. */
  dimension: number;
  /** Ids every token sequence must start and end with ([CLS] and [SEP]). */
  clsId: number;
  sepId: number;
}

const INPUT_SHAPES =
  'a string, an array of strings, an array of token ids, or an array of arrays of token ids';

/** Validates a parsed JSON body; throws ApiError 400 naming the first field at fault. */
export function parseEmbeddingsRequest(body: unknown, limits: RequestLimits): EmbeddingsRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidParam('body', `the request body must be a JSON object, got ${describeJson(body)}`);
  }
  const fields = body as Record<string, unknown>;
  if (!Object.hasOwn(fields, 'input')) throw invalidParam('input', "'input' is required");
  const inputs = parseInput(fields['input'], limits);

  const model = fields['model'];
  if (model !== undefined && model !== null && typeof model !== 'string') {
    throw invalidParam('model', `'model' must be a string, got ${describeJson(model)}`);
  }

  const format = fields['encoding_format'] ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw invalidParam('encoding_format', `'encoding_format' must be "float" or "base64", got ${describeJson(format)}`);
  }

  const dimensions = fields['dimensions'] ?? undefined;
  if (
    dimensions !== undefined &&
    (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > limits.dimension)
  ) {
    throw invalidParam(
      'dimensions',
      `'dimensions' must be an integer from 1 to ${limits.dimension} (this model's width), got ${describeJson(dimensions)}`,
    );
  }

  return { inputs, model: model ?? undefined, encodingFormat: format, dimensions };
}

function parseInput(input: unknown, limits: RequestLimits): EmbeddingInput[] {
  if (typeof input === 'string') return [checkText(input, 'input')];
  if (!Array.isArray(input)) {
    throw invalidParam('input', `'input' must be ${INPUT_SHAPES}; got ${describeJson(input)}`);
  }
  if (input.length === 0) throw invalidParam('input', "'input' is an empty array: send at least one input");

  const first: unknown = input[0];
  if (typeof first === 'number') return [{ ids: checkTokenIds(input, 'input', limits) }];

  if (input.length > limits.maxInputs) {
    throw invalidParam(
      'input',
      `'input' has ${input.length} inputs, more than the ${limits.maxInputs} allowed in one request; split it`,
      'too_many_inputs',
    );
  }
  if (typeof first === 'string') {
    return input.map((text, i) => {
      if (typeof text !== 'string') throw mixed(i, text, 'strings');
      return checkText(text, `input[${i}]`);
    });
  }
  if (Array.isArray(first)) {
    return input.map((ids, i) => {
      if (!Array.isArray(ids)) throw mixed(i, ids, 'arrays of token ids');
      return { ids: checkTokenIds(ids, `input[${i}]`, limits) };
    });
  }
  throw invalidParam('input', `'input[0]' is ${describeJson(first)}; 'input' must be ${INPUT_SHAPES}`);
}

function checkText(text: string, where: string): EmbeddingInput {
  if (text.length === 0) throw invalidParam('input', `'${where}' is an empty string: there is nothing to embed`);
  return { text };
}

function checkTokenIds(ids: unknown[], where: string, limits: RequestLimits): number[] {
  if (ids.length === 0) throw invalidParam('input', `'${where}' is an empty array of token ids`);
  if (ids.length > limits.maxSeqLength) {
    throw invalidParam(
      'input',
      `'${where}' has ${ids.length} token ids, more than this model's maximum of ${limits.maxSeqLength} ([CLS] and [SEP] included)`,
      'context_length_exceeded',
    );
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limits.vocabSize) {
      throw invalidParam(
        'input',
        `'${where}[${i}]' is ${describeJson(id)}, not a token id of this model (an integer from 0 to ${limits.vocabSize - 1})`,
      );
    }
  }
  if (ids[0] !== limits.clsId || ids[ids.length - 1] !== limits.sepId) {
    throw invalidParam(
      'input',
      `'${where}' must start with [CLS] (${limits.clsId}) and end with [SEP] (${limits.sepId}): token ids are this model's WordPiece ids ` +
        "as 'minilm tokenize' prints them; a client that tokenizes with another tokenizer (tiktoken) must send text instead " +
        '(LangChain: check_embedding_ctx_length=False)',
      'invalid_token_ids',
    );
  }
  return ids as number[];
}

function mixed(index: number, value: unknown, expected: string): Error {
  return invalidParam('input', `'input[${index}]' is ${describeJson(value)}, but 'input[0]' makes 'input' an array of ${expected}`);
}

/** A short description of a JSON value for messages: its type, and the value when short. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value.length > 40 ? `a string of length ${value.length}` : JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}
