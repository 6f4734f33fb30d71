/**
 * config.json → a validated, typed BERT configuration.
 *
 * Only what the encoder needs is read; every value is checked, so that a config that would make
 * the forward pass misbehave (a head count that does not divide the hidden size, a non-BERT
 * model, an activation we do not implement) fails here with a message naming the key, not later
 * as NaN deep inside a kernel.
 */

import { ConfigError } from './errors.ts';

export interface BertConfig {
  vocabSize: number; // V   rows of the word-embedding table
  hiddenSize: number; // H  width of every token vector
  numLayers: number; // N   encoder layers
  numHeads: number; // A    attention heads per layer
  headSize: number; // d = H / A
  intermediateSize: number; // I  width of the feed-forward block
  maxPositions: number; // P  rows of the position-embedding table: the longest input
  typeVocabSize: number; // token types (segments A/B)
  layerNormEps: number; // ε of every LayerNorm (1e-12 for BERT)
}

/** Activations we implement, by their Hugging Face names. `gelu` is the exact erf form. */
const SUPPORTED_ACTIVATIONS = new Set(['gelu']);

/** Parses the object of a Hugging Face `config.json` (already JSON-parsed, or its text). */
export function parseBertConfig(json: unknown): BertConfig {
  let raw: unknown = json;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      throw new ConfigError(`config.json is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('config.json must be a JSON object');
  }
  const obj = raw as Record<string, unknown>;

  const modelType = obj['model_type'];
  if (modelType !== undefined && modelType !== 'bert') {
    throw new ConfigError(`config.json: model_type is "${String(modelType)}", but this engine runs BERT models only`);
  }
  const activation = obj['hidden_act'] ?? 'gelu';
  if (typeof activation !== 'string' || !SUPPORTED_ACTIVATIONS.has(activation)) {
    throw new ConfigError(`config.json: hidden_act "${String(activation)}" is not supported (only the exact "gelu")`);
  }

  const positionType = obj['position_embedding_type'] ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new ConfigError(`config.json: position_embedding_type "${String(positionType)}" is not supported (only "absolute")`);
  }

  const positiveInteger = (key: string, fallback?: number): number => {
    const value = obj[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ConfigError(`config.json: "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value;
  };

  const hiddenSize = positiveInteger('hidden_size');
  const numHeads = positiveInteger('num_attention_heads');
  if (hiddenSize % numHeads !== 0) {
    throw new ConfigError(
      `config.json: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`,
    );
  }
  const layerNormEps = obj['layer_norm_eps'] ?? 1e-12;
  if (typeof layerNormEps !== 'number' || !(layerNormEps > 0) || !Number.isFinite(layerNormEps)) {
    throw new ConfigError(`config.json: "layer_norm_eps" must be a positive number, got ${JSON.stringify(layerNormEps)}`);
  }

  return {
    vocabSize: positiveInteger('vocab_size'),
    hiddenSize,
    numLayers: positiveInteger('num_hidden_layers'),
    numHeads,
    headSize: hiddenSize / numHeads,
    intermediateSize: positiveInteger('intermediate_size'),
    maxPositions: positiveInteger('max_position_embeddings'),
    typeVocabSize: positiveInteger('type_vocab_size', 2),
    layerNormEps,
  };
}
