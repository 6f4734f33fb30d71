/**
 * Synthetic BERT checkpoints: the exact tensor names, shapes and dtypes of a Hugging Face
 * `BertModel` checkpoint (all-MiniLM-L6-v2 by default), filled with numbers from a fixed, portable
 * generator. They let the engine be tested end to end, byte for byte against reference outputs,
 * on machines that cannot download the real weights. The numbers mean nothing: the embeddings of
 * a synthetic model are not useful for anything but tests.
 *
 * The generator is specified in test/fixtures/synthetic-model/SPEC.md:
 *   seed    = fnv1a32(UTF-8 bytes of the tensor name)
 *   u_k     = k-th draw of mulberry32(seed), a uint32
 *   x_k     = (u_k >>> 8) / 2^24                      exact, in [0, 1)
 *   value_k = float32(center + (2 x_k - 1) * scale)    computed in float64, rounded once
 * with (center, scale) set by the tensor's role (embedding, LayerNorm weight/bias, Linear weight
 * by its input width, Linear bias). `embeddings.position_ids` is I64 0..max_position_embeddings-1.
 *
 * Dimension glossary: V vocab_size, P max_position_embeddings, T type_vocab_size,
 * H hidden_size, I intermediate_size, N num_hidden_layers.
 *
 * Left out: any attempt at realistic weights (no training, no initialiser statistics beyond the
 * spread that keeps activations in a sane range), and tokenizer files (the Node adapter copies
 * the real ones next to the synthetic weights).
 */

import { serializeSafetensors, type TensorToWrite } from './safetensors.ts';

// ---------------------------------------------------------------------------------------------
// Recipes
// ---------------------------------------------------------------------------------------------

/** The fields of a Hugging Face BERT config.json that the engine reads (others pass through). */
export interface BertConfigJson {
  architectures?: string[];
  model_type?: string;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  pad_token_id?: number;
  [k: string]: unknown;
}

/** A config plus the spread of the Linear weights: everything that decides a checkpoint's bytes. */
export interface SyntheticRecipe {
  name: string;
  config: BertConfigJson;
  /** Scale of Linear weights whose in_features is H (query/key/value, attention output, intermediate, pooler). */
  linearScaleHidden: number;
  /** Scale of Linear weights whose in_features is I (the feed-forward output). */
  linearScaleIntermediate: number;
  /** Write `embeddings.position_ids` (default true; some exports omit it). */
  includePositionIds?: boolean;
  /** Write `pooler.dense.*` (default true; some exports omit it, the engine never uses it). */
  includePooler?: boolean;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The config.json of sentence-transformers/all-MiniLM-L6-v2 (less `_name_or_path`). */
const MINILM_L6_CONFIG: BertConfigJson = {
  architectures: ['BertModel'],
  attention_probs_dropout_prob: 0.1,
  gradient_checkpointing: false,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 384,
  initializer_range: 0.02,
  intermediate_size: 1536,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  model_type: 'bert',
  num_attention_heads: 12,
  num_hidden_layers: 6,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  transformers_version: '4.8.2',
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 30522,
};

/** Same architecture and size as all-MiniLM-L6-v2: "minilm-synth-v1". */
export const SYNTHETIC_FULL: SyntheticRecipe = deepFreeze({
  name: 'minilm-synth-v1',
  config: MINILM_L6_CONFIG,
  linearScaleHidden: 0.08,
  linearScaleIntermediate: 0.04,
});

/** A small model with the same vocabulary and names (H 32, 2 layers, 4 heads, I 64): "minilm-synth-tiny-v1". */
export const SYNTHETIC_TINY: SyntheticRecipe = deepFreeze({
  name: 'minilm-synth-tiny-v1',
  config: {
    ...MINILM_L6_CONFIG,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
  },
  linearScaleHidden: 0.3,
  linearScaleIntermediate: 0.2,
});

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/** 32-bit FNV-1a hash of the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The mulberry32 generator: a 32-bit state advanced by a constant, then mixed. Each call returns
 * the next uint32 draw `u` (not scaled to [0, 1): callers derive what they need from the bits).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; // the sum is exact in float64; ^ wraps it to 32 bits
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * The values of one F32 tensor, flat in row-major order: element k is
 * float32(center + (2 x_k - 1) * scale) with x_k = (u_k >>> 8) / 2^24 from mulberry32(fnv1a32(name)).
 * The expression is evaluated in float64 (JS numbers) and rounded once, when stored.
 */
export function generateSyntheticTensor(
  name: string,
  shape: number[],
  center: number,
  scale: number,
): Float32Array {
  const elementCount = shape.reduce((product, dim) => product * dim, 1);
  if (!shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0) || !Number.isSafeInteger(elementCount)) {
    throw new RangeError(`generateSyntheticTensor: "${name}": shape [${shape.join(', ')}] is not valid`);
  }
  const values = new Float32Array(elementCount); // shape, row-major
  // Fast path: the mulberry32 step inlined, state kept as an int32 (same bits as mulberry32()
  // above; calling its closure once per element makes full-size generation about twice as slow).
  // The plain version is: const next = mulberry32(seed); ... const u = next();
  let state = fnv1a32(name) | 0;
  for (let k = 0; k < elementCount; k++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const u = (t ^ (t >>> 14)) >>> 0;
    const x = (u >>> 8) / 16777216; // 24 random bits -> [0, 1), exact
    values[k] = center + (2 * x - 1) * scale; // float64, rounded once to float32 by the store
  }
  return values;
}

export interface SyntheticTensorSpec {
  name: string;
  dtype: 'F32' | 'I64';
  shape: number[];
  /** Values are center + r * scale with r uniform in [-1, 1). Both 0 for the I64 position_ids. */
  center: number;
  scale: number;
}

/** Every tensor of the recipe's checkpoint, sorted by name (the order of CHECKSUMS-*.txt). */
export function syntheticTensorSpecs(recipe: SyntheticRecipe): SyntheticTensorSpec[] {
  const config = recipe.config;
  checkConfig(recipe);
  const H = config.hidden_size;
  const I = config.intermediate_size;
  const specs: SyntheticTensorSpec[] = [];
  const f32 = (name: string, shape: number[], center: number, scale: number): void => {
    specs.push({ name, dtype: 'F32', shape, center, scale });
  };
  // Role -> (center, scale), as in SPEC.md.
  const embedding = (name: string, rows: number): void => f32(name, [rows, H], 0, 0.1);
  const layerNorm = (prefix: string): void => {
    f32(`${prefix}.weight`, [H], 1.0, 0.1);
    f32(`${prefix}.bias`, [H], 0, 0.05);
  };
  // Linear weights are [out_features, in_features]; their scale follows in_features.
  const linear = (prefix: string, outFeatures: number, inFeatures: number): void => {
    const scale = inFeatures === H ? recipe.linearScaleHidden : recipe.linearScaleIntermediate;
    f32(`${prefix}.weight`, [outFeatures, inFeatures], 0, scale);
    f32(`${prefix}.bias`, [outFeatures], 0, 0.02);
  };

  embedding('embeddings.word_embeddings.weight', config.vocab_size);
  embedding('embeddings.position_embeddings.weight', config.max_position_embeddings);
  embedding('embeddings.token_type_embeddings.weight', config.type_vocab_size);
  layerNorm('embeddings.LayerNorm');
  if (recipe.includePositionIds ?? true) {
    specs.push({ name: 'embeddings.position_ids', dtype: 'I64', shape: [1, config.max_position_embeddings], center: 0, scale: 0 });
  }
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const prefix = `encoder.layer.${layer}`;
    linear(`${prefix}.attention.self.query`, H, H);
    linear(`${prefix}.attention.self.key`, H, H);
    linear(`${prefix}.attention.self.value`, H, H);
    linear(`${prefix}.attention.output.dense`, H, H);
    layerNorm(`${prefix}.attention.output.LayerNorm`);
    linear(`${prefix}.intermediate.dense`, I, H);
    linear(`${prefix}.output.dense`, H, I);
    layerNorm(`${prefix}.output.LayerNorm`);
  }
  if (recipe.includePooler ?? true) linear('pooler.dense', H, H);

  return specs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function checkConfig(recipe: SyntheticRecipe): void {
  const config = recipe.config;
  const sizes = [
    'vocab_size',
    'hidden_size',
    'num_hidden_layers',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
  ] as const;
  for (const key of sizes) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`synthetic recipe "${recipe.name}": config.${key} = ${String(value)} is not a non-negative integer`);
    }
  }
}

/** The I64 tensor `embeddings.position_ids` [1, P]: 0, 1, ..., P - 1. */
function positionIds(count: number): BigInt64Array {
  const ids = new BigInt64Array(count); // [1, P]
  for (let i = 0; i < count; i++) ids[i] = BigInt(i);
  return ids;
}

/**
 * A complete safetensors file for the recipe (default: the full-size MiniLM-L6 recipe), with
 * `__metadata__` {"format": "pt"} like PyTorch exports (Hugging Face loaders look for it).
 */
export function generateSyntheticCheckpoint(recipe: SyntheticRecipe = SYNTHETIC_FULL): Uint8Array {
  const tensors: TensorToWrite[] = syntheticTensorSpecs(recipe).map((spec) => ({
    name: spec.name,
    dtype: spec.dtype,
    shape: spec.shape,
    data:
      spec.dtype === 'I64'
        ? positionIds(spec.shape[1])
        : generateSyntheticTensor(spec.name, spec.shape, spec.center, spec.scale),
  }));
  return serializeSafetensors(tensors, { format: 'pt' });
}

// ---------------------------------------------------------------------------------------------
// Test inputs
// ---------------------------------------------------------------------------------------------

/**
 * `random_seq(L, seed)` of the reference outputs: [CLS]=101, then L - 2 ids 1000 + (u mod 29000)
 * from the first L - 2 draws of mulberry32(seed), then [SEP]=102. The ids stay inside the
 * 30522-token vocabulary and clear of the special tokens.
 */
export function randomTokenSequence(length: number, seed: number): number[] {
  if (!Number.isSafeInteger(length) || length < 2) {
    throw new RangeError(`randomTokenSequence: length must be an integer >= 2 (room for [CLS] and [SEP]), got ${length}`);
  }
  const next = mulberry32(seed);
  const ids = [101];
  for (let i = 0; i < length - 2; i++) ids.push(1000 + (next() % 29000));
  ids.push(102);
  return ids;
}
