/**
 * Loading: every tensor is checked against the config, with errors that name it; optional tensors
 * may be absent; a `bert.` prefix is accepted. Input: every bad batch is a clear InputError, never
 * NaN or a crash inside a kernel.
 */
import { describe, expect, it } from 'vitest';
import { BertModel } from '../../src/model/bert.ts';
import { parseBertConfig } from '../../src/model/config.ts';
import { ConfigError, InputError, WeightsError } from '../../src/model/errors.ts';
import { parseSafetensors, readTensorBytes, serializeSafetensors, type TensorToWrite } from '../../src/model/safetensors.ts';
import { packTokenBatch } from '../../src/model/token-batch.ts';
import { loadBertWeights } from '../../src/model/weights.ts';
import { plainBackend } from '../../src/tensor/backend.ts';
import { RECIPES, syntheticWeights } from '../helpers/checkpoints.ts';

const tinyConfigJson = RECIPES.tiny.config;
const tinyConfig = parseBertConfig(tinyConfigJson);

/** The tiny checkpoint's tensors, to rewrite with changes. */
function tinyTensors(): TensorToWrite[] {
  const file = parseSafetensors(syntheticWeights('tiny'));
  return [...file.tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: readTensorBytes(file, t.name) }));
}

function load(tensors: TensorToWrite[], config = tinyConfig) {
  return loadBertWeights(parseSafetensors(serializeSafetensors(tensors)), config);
}

describe('parseBertConfig', () => {
  it('reads the real all-MiniLM-L6-v2 config', () => {
    const config = parseBertConfig(RECIPES.full.config);
    expect(config).toMatchObject({ hiddenSize: 384, numLayers: 6, numHeads: 12, headSize: 32, intermediateSize: 1536, layerNormEps: 1e-12 });
  });

  it.each([
    [{ ...tinyConfigJson, hidden_size: 30 }, /not a multiple of num_attention_heads/],
    [{ ...tinyConfigJson, hidden_act: 'gelu_new' }, /hidden_act "gelu_new" is not supported/],
    [{ ...tinyConfigJson, model_type: 'roberta' }, /BERT models only/],
    [{ ...tinyConfigJson, position_embedding_type: 'relative_key' }, /position_embedding_type "relative_key"/],
    [{ ...tinyConfigJson, num_hidden_layers: 0 }, /"num_hidden_layers" must be a positive integer/],
    [{ ...tinyConfigJson, vocab_size: '30522' }, /"vocab_size" must be a positive integer/],
    [{ ...tinyConfigJson, layer_norm_eps: -1 }, /layer_norm_eps/],
    ['{not json', /not valid JSON/],
    [[1, 2], /must be a JSON object/],
  ])('rejects %# with a message naming the key', (json, message) => {
    expect(() => parseBertConfig(json)).toThrow(ConfigError);
    expect(() => parseBertConfig(json)).toThrow(message);
  });
});

describe('loadBertWeights', () => {
  it('loads the tiny checkpoint, and works without pooler.* and embeddings.position_ids', () => {
    const tensors = tinyTensors().filter((t) => !t.name.startsWith('pooler.') && t.name !== 'embeddings.position_ids');
    const weights = load(tensors);
    expect(weights.encoder.layer).toHaveLength(2);
  });

  it('accepts a "bert." prefix on every key', () => {
    const withPrefix = tinyTensors().map((t) => ({ ...t, name: `bert.${t.name}` }));
    const a = load(tinyTensors()), b = load(withPrefix);
    expect(Array.from(b.encoder.layer[1]!.output.dense.weight)).toEqual(Array.from(a.encoder.layer[1]!.output.dense.weight));
  });

  it('names a missing tensor', () => {
    const tensors = tinyTensors().filter((t) => t.name !== 'encoder.layer.1.intermediate.dense.bias');
    expect(() => load(tensors)).toThrow(WeightsError);
    expect(() => load(tensors)).toThrow('"encoder.layer.1.intermediate.dense.bias"');
  });

  it('names a tensor whose shape contradicts the config', () => {
    expect(() => load(tinyTensors(), { ...tinyConfig, intermediateSize: 128 })).toThrow(
      /"encoder\.layer\.0\.intermediate\.dense\.weight" has shape \[64, 32\] but the config \(intermediate_size, hidden_size\) implies \[128, 32\]/,
    );
    expect(() => load(tinyTensors(), { ...tinyConfig, vocabSize: 100 })).toThrow(/word_embeddings.weight.*vocab_size/);
  });

  it('refuses a checkpoint with more layers than the config', () => {
    expect(() => load(tinyTensors(), { ...tinyConfig, numLayers: 1 })).toThrow(/layer 1, but config.json says num_hidden_layers is 1/);
  });

  it('refuses a non-float weight, naming it', () => {
    const tensors = tinyTensors().map((t) =>
      t.name === 'embeddings.LayerNorm.bias' ? { ...t, dtype: 'I32' as const } : t);
    expect(() => load(tensors)).toThrow(/"embeddings.LayerNorm.bias" has dtype I32/);
  });

  it('reads F16 weights (upcast) and gives nearly the same model', () => {
    const half = tinyTensors().map((t) => {
      if (t.dtype !== 'F32') return t;
      const f32 = new Float32Array(t.data.slice().buffer as ArrayBuffer);
      const f16 = new Uint16Array(f32.length);
      for (let i = 0; i < f32.length; i++) f16[i] = toHalf(f32[i]!);
      return { ...t, dtype: 'F16' as const, data: new Uint8Array(f16.buffer) };
    });
    const ids = [{ inputIds: [101, 7592, 2088, 102] }];
    const full = new BertModel(tinyConfig, load(tinyTensors()), plainBackend).forward(packTokenBatch(ids, tinyConfig)).slice();
    const fromHalf = new BertModel(tinyConfig, load(half), plainBackend).forward(packTokenBatch(ids, tinyConfig));
    let maxDiff = 0;
    for (let i = 0; i < full.length; i++) maxDiff = Math.max(maxDiff, Math.abs(full[i]! - fromHalf[i]!));
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(0.05); // half precision keeps ~3 decimal digits
  });
});

/** float32 → IEEE half, round to nearest even (normal range only: all the tiny weights are). */
function toHalf(value: number): number {
  const f = new Float32Array([value]);
  const bits = new Uint32Array(f.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  if (exponent <= 0) return sign; // flush tiny values to zero
  let mantissa = (bits >>> 13) & 0x3ff;
  const rest = bits & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (mantissa & 1))) mantissa++;
  return sign | ((exponent << 10) + mantissa);
}

describe('packTokenBatch input validation', () => {
  const bad: [string, unknown, RegExp][] = [
    ['an empty batch', [], /batch is empty/],
    ['not an array', 'hello', /expected an array/],
    ['a sequence without ids', [{}], /sequence 0: inputIds must be an array/],
    ['an empty sequence', [{ inputIds: [] }], /sequence 0 has no tokens/],
    ['an id past the vocabulary', [{ inputIds: [101, 30522, 102] }], /token id 30522 at position 1 is out of range \[0, 30522\)/],
    ['a negative id', [{ inputIds: [101, -1] }], /token id -1 at position 1/],
    ['a fractional id', [{ inputIds: [101, 1.5] }], /token id 1.5/],
    ['NaN', [{ inputIds: [101, NaN] }], /token id NaN/],
    ['a too-long sequence', [{ inputIds: new Array(513).fill(100) }], /513 tokens, more than the model's 512 positions/],
    ['a mask of another length', [{ inputIds: [101, 102], attentionMask: [1] }], /attentionMask must have the same length/],
    ['a mask value of 2', [{ inputIds: [101, 102], attentionMask: [1, 2] }], /attentionMask\[1\] is 2/],
    ['an all-zero mask', [{ inputIds: [101, 102], attentionMask: [0, 0] }], /every position is masked/],
    ['a token type out of range', [{ inputIds: [101, 102], tokenTypeIds: [0, 2] }], /token type 2 at position 1/],
    ['token types of another length', [{ inputIds: [101, 102], tokenTypeIds: [0] }], /tokenTypeIds must have the same length/],
    ['the second sequence broken', [{ inputIds: [101, 102] }, { inputIds: [101, 99999] }], /sequence 1: token id 99999/],
  ];
  it.each(bad)('rejects %s with an InputError', (_what, batch, message) => {
    expect(() => packTokenBatch(batch as never, tinyConfig)).toThrow(InputError);
    expect(() => packTokenBatch(batch as never, tinyConfig)).toThrow(message);
  });

  it('packs real tokens only, keeping their original positions', () => {
    const packed = packTokenBatch([
      { inputIds: [101, 5, 6, 0, 0], attentionMask: [1, 1, 1, 0, 0] },
      { inputIds: [0, 101, 7, 102], attentionMask: [0, 1, 1, 1], tokenTypeIds: [0, 1, 1, 1] },
    ], tinyConfig);
    expect(Array.from(packed.tokenIds)).toEqual([101, 5, 6, 101, 7, 102]);
    expect(Array.from(packed.positionIds)).toEqual([0, 1, 2, 1, 2, 3]);
    expect(Array.from(packed.tokenTypeIds)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(Array.from(packed.sequenceStarts)).toEqual([0, 3, 6]);
    expect(packed.maxSequenceLength).toBe(3);
  });
});
