/**
 * Checkpoint keys → typed weight views, each checked against the config.
 *
 * The object built here mirrors the checkpoint's key tree, so the code reads like the keys:
 * `encoder.layer[3].attention.output.dense.weight` is the tensor
 * `encoder.layer.3.attention.output.dense.weight`. Every tensor the model needs is looked up,
 * checked for dtype and shape, and reported by name when it is missing or wrong. Tensors the
 * sentence encoder does not use (`pooler.*`, `embeddings.position_ids`) are ignored, and may be
 * absent. A `bert.` prefix on every key (some exports write one) is accepted.
 *
 * Float views: F32 tensors are zero-copy views into the file bytes when aligned; F16/BF16 are
 * upcast to new F32 arrays (see `safetensors.ts`).
 */

import type { BertConfig } from './config.ts';
import { WeightsError } from './errors.ts';
import { readFloat32, type SafetensorsFile } from './safetensors.ts';

/** An nn.Linear: weight [out, in] (PyTorch layout), bias [out]. */
export interface LinearWeights {
  weight: Float32Array;
  bias: Float32Array;
}

/** An nn.LayerNorm: weight (γ) [H], bias (β) [H]. */
export interface LayerNormWeights {
  weight: Float32Array;
  bias: Float32Array;
}

export interface BertEmbeddingsWeights {
  word_embeddings: Float32Array; // [V, H]
  position_embeddings: Float32Array; // [P, H]
  token_type_embeddings: Float32Array; // [types, H]
  LayerNorm: LayerNormWeights;
}

export interface BertLayerWeights {
  attention: {
    self: { query: LinearWeights; key: LinearWeights; value: LinearWeights }; // each [H, H]
    output: { dense: LinearWeights; LayerNorm: LayerNormWeights }; // dense [H, H]
  };
  intermediate: { dense: LinearWeights }; // [I, H]
  output: { dense: LinearWeights; LayerNorm: LayerNormWeights }; // dense [H, I]
}

export interface BertWeights {
  embeddings: BertEmbeddingsWeights;
  encoder: { layer: BertLayerWeights[] };
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Reads and checks every tensor of a BERT encoder from a parsed safetensors file. */
export function loadBertWeights(file: SafetensorsFile, config: BertConfig): BertWeights {
  const prefix = detectKeyPrefix(file);
  const { hiddenSize: H, intermediateSize: I, vocabSize: V, maxPositions: P, typeVocabSize } = config;

  const tensor = (key: string, shape: number[], configKeys: string): Float32Array => {
    const name = prefix + key;
    const info = file.tensors.get(name);
    if (info === undefined) throw new WeightsError(`the checkpoint has no tensor "${name}"`, name);
    if (!FLOAT_DTYPES.has(info.dtype)) {
      throw new WeightsError(`tensor "${name}" has dtype ${info.dtype}; a float dtype (F32, F16, BF16) is needed`, name);
    }
    if (info.shape.length !== shape.length || info.shape.some((n, i) => n !== shape[i])) {
      throw new WeightsError(
        `tensor "${name}" has shape [${info.shape.join(', ')}] but the config (${configKeys}) implies [${shape.join(', ')}]`,
        name,
      );
    }
    return readFloat32(file, name);
  };
  const linear = (key: string, outF: number, inF: number, configKeys: string): LinearWeights => ({
    weight: tensor(`${key}.weight`, [outF, inF], configKeys),
    bias: tensor(`${key}.bias`, [outF], configKeys),
  });
  const layerNorm = (key: string): LayerNormWeights => ({
    weight: tensor(`${key}.weight`, [H], 'hidden_size'),
    bias: tensor(`${key}.bias`, [H], 'hidden_size'),
  });

  checkLayerCount(file, prefix, config.numLayers);

  const layer: BertLayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const at = `encoder.layer.${i}`;
    layer.push({
      attention: {
        self: {
          query: linear(`${at}.attention.self.query`, H, H, 'hidden_size'),
          key: linear(`${at}.attention.self.key`, H, H, 'hidden_size'),
          value: linear(`${at}.attention.self.value`, H, H, 'hidden_size'),
        },
        output: {
          dense: linear(`${at}.attention.output.dense`, H, H, 'hidden_size'),
          LayerNorm: layerNorm(`${at}.attention.output.LayerNorm`),
        },
      },
      intermediate: { dense: linear(`${at}.intermediate.dense`, I, H, 'intermediate_size, hidden_size') },
      output: {
        dense: linear(`${at}.output.dense`, H, I, 'hidden_size, intermediate_size'),
        LayerNorm: layerNorm(`${at}.output.LayerNorm`),
      },
    });
  }

  return {
    embeddings: {
      word_embeddings: tensor('embeddings.word_embeddings.weight', [V, H], 'vocab_size, hidden_size'),
      position_embeddings: tensor(
        'embeddings.position_embeddings.weight',
        [P, H],
        'max_position_embeddings, hidden_size',
      ),
      token_type_embeddings: tensor(
        'embeddings.token_type_embeddings.weight',
        [typeVocabSize, H],
        'type_vocab_size, hidden_size',
      ),
      LayerNorm: layerNorm('embeddings.LayerNorm'),
    },
    encoder: { layer },
  };
}

/** '' for Hugging Face BertModel keys, 'bert.' for exports that keep the BertFor* wrapper's prefix. */
function detectKeyPrefix(file: SafetensorsFile): string {
  for (const prefix of ['', 'bert.']) {
    if (file.tensors.has(`${prefix}embeddings.word_embeddings.weight`)) return prefix;
  }
  throw new WeightsError(
    'the checkpoint has no tensor "embeddings.word_embeddings.weight" (nor with a "bert." prefix): is this a BERT model?',
    'embeddings.word_embeddings.weight',
  );
}

/** A checkpoint with more encoder layers than config.json says contradicts it: refuse rather than guess. */
function checkLayerCount(file: SafetensorsFile, prefix: string, numLayers: number): void {
  const layerKey = new RegExp(`^${prefix.replace('.', '\\.')}encoder\\.layer\\.(\\d+)\\.`);
  for (const name of file.tensors.keys()) {
    const match = layerKey.exec(name);
    if (match !== null && Number(match[1]) >= numLayers) {
      throw new WeightsError(
        `tensor "${name}" belongs to layer ${match[1]}, but config.json says num_hidden_layers is ${numLayers}`,
        name,
      );
    }
  }
}
