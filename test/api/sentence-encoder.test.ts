/**
 * SentenceEncoder end to end on synthetic checkpoints, against a straightforward computation
 * written here: BertModel's last hidden state for each text alone, pooled and normalised by
 * plain loops over number arrays. Covers every pooling mode, a 12-layer config, batching and
 * ordering, truncation, precision, token embeddings, prompts, lowercasing and bad input.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { EmbeddingMatrix } from '../../src/api/embedding-matrix.ts';
import { quantizeEmbeddings } from '../../src/api/quantize.ts';
import { BertModel } from '../../src/model/bert.ts';
import { parseBertConfig } from '../../src/model/config.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { SentenceEncoder, type EmbedProgress, type SentenceEncoderParts } from '../../src/model/sentence-encoder.ts';
import { generateSyntheticCheckpoint, SYNTHETIC_TINY, type SyntheticRecipe } from '../../src/model/synthetic.ts';
import { packTokenBatch } from '../../src/model/token-batch.ts';
import { loadBertWeights } from '../../src/model/weights.ts';
import { plainBackend } from '../../src/tensor/backend.ts';
import { maxAbsDiff, realVocab, syntheticWeights } from '../helpers/checkpoints.ts';

const vocab = realVocab();
const TEXTS = [
  'A man is eating food.',
  'Hi',
  'The quick brown fox jumps over the lazy dog, while the cat watches from a very tall tree.',
  '',
  'Un café, s’il vous plaît !',
];
const TOLERANCE = 2e-6;

/** Last hidden state of one text run alone: token rows as number[][] ([L][H]). */
function hiddenRows(model: BertModel, ids: number[]): number[][] {
  const hidden = model.forward(packTokenBatch([{ inputIds: ids }], model.config));
  const H = model.config.hiddenSize;
  return Array.from({ length: ids.length }, (_, t) => Array.from(hidden.subarray(t * H, (t + 1) * H)));
}

type Mode = 'cls' | 'max' | 'mean' | 'mean_sqrt_len_tokens';

/** sentence-transformers' Pooling, plainly: rows from `skip` on count for max/mean (cls is row 0). */
function plainPool(rows: number[][], modes: Mode[], skip = 0): number[] {
  const H = rows[0]!.length;
  const kept = rows.slice(skip);
  const out: number[] = [];
  for (const mode of modes) {
    for (let i = 0; i < H; i++) {
      const column = kept.map((r) => r[i]!);
      const sum = column.reduce((a, b) => a + b, 0);
      if (mode === 'cls') out.push(rows[0]![i]!);
      else if (mode === 'max') out.push(column.length === 0 ? -1e9 : Math.max(...column));
      else if (mode === 'mean') out.push(sum / Math.max(column.length, 1e-9));
      else out.push(sum / Math.sqrt(Math.max(column.length, 1e-9)));
    }
  }
  return out;
}

function l2normalize(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / Math.max(n, 1e-12));
}

const POOLING_KEYS: Record<Mode, string> = {
  cls: 'pooling_mode_cls_token',
  max: 'pooling_mode_max_tokens',
  mean: 'pooling_mode_mean_tokens',
  mean_sqrt_len_tokens: 'pooling_mode_mean_sqrt_len_tokens',
};

function modulesJson(normalize: boolean): object[] {
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  ];
  if (normalize) modules.push({ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' });
  return modules;
}

function poolingConfig(modes: Mode[], extra: object = {}): object {
  const config: Record<string, unknown> = { word_embedding_dimension: 32 };
  for (const [mode, key] of Object.entries(POOLING_KEYS)) config[key] = modes.includes(mode as Mode);
  return { ...config, ...extra };
}

const tinyWeights = syntheticWeights('tiny');
const tinyConfig = parseBertConfig(SYNTHETIC_TINY.config);
const tinyModel = new BertModel(tinyConfig, loadBertWeights(parseSafetensors(tinyWeights), tinyConfig), plainBackend);

function tinyEncoder(extra: Partial<SentenceEncoderParts> = {}): SentenceEncoder {
  return SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights: tinyWeights, vocab, ...extra });
}

describe('pooling modes from the pooling config, with and without Normalize', () => {
  const cases: [Mode[], boolean][] = [
    [['mean'], true],
    [['mean'], false],
    [['cls'], true],
    [['max'], false],
    [['mean_sqrt_len_tokens'], false],
    [['cls', 'max', 'mean'], true],
  ];
  for (const [modes, normalize] of cases) {
    it(`${modes.join('+')}${normalize ? ' + Normalize' : ''}`, async () => {
      const encoder = tinyEncoder({ modules: modulesJson(normalize), poolingConfig: poolingConfig(modes) });
      expect(encoder.poolingModes).toEqual(modes);
      expect(encoder.normalize).toBe(normalize);
      expect(encoder.dimension).toBe(32 * modes.length);
      const embeddings = await encoder.embed(TEXTS, { batchSize: 2 });
      TEXTS.forEach((text, i) => {
        const pooled = plainPool(hiddenRows(tinyModel, encoder.tokenize(text)), modes);
        const expected = normalize ? l2normalize(pooled) : pooled;
        expect(maxAbsDiff(embeddings[i]!, expected), text).toBeLessThanOrEqual(TOLERANCE * (normalize ? 1 : 10));
      });
    });
  }

  it('the pooling override wins over the pooling config; pooling names a single mode', () => {
    const encoder = tinyEncoder({ modules: modulesJson(true), poolingConfig: poolingConfig(['mean']), pooling: 'cls' });
    expect(encoder.pooling).toBe('cls');
    const both = tinyEncoder({ pooling: ['mean', 'cls'] });
    expect(both.poolingModes).toEqual(['cls', 'mean']); // sentence-transformers' concatenation order
    expect(both.poolingName).toBe('cls+mean');
    expect(() => both.pooling).toThrow(/read poolingModes/);
  });
});

describe('a 12-layer config (same generator, another recipe)', () => {
  const recipe: SyntheticRecipe = {
    name: 'test-12-layer',
    config: { ...SYNTHETIC_TINY.config, num_hidden_layers: 12, hidden_size: 24, num_attention_heads: 6, intermediate_size: 48 },
    linearScaleHidden: 0.3,
    linearScaleIntermediate: 0.2,
  };
  const weights = generateSyntheticCheckpoint(recipe);
  const config = parseBertConfig(recipe.config);
  const model = new BertModel(config, loadBertWeights(parseSafetensors(weights), config), plainBackend);

  it('mean pooling + Normalize equals the plain computation', async () => {
    const encoder = SentenceEncoder.fromParts({ config: recipe.config, weights, vocab, modules: modulesJson(true), poolingConfig: poolingConfig(['mean']) });
    expect(encoder.config.numLayers).toBe(12);
    const embeddings = await encoder.embed(TEXTS);
    TEXTS.forEach((text, i) => {
      const expected = l2normalize(plainPool(hiddenRows(model, encoder.tokenize(text)), ['mean']));
      expect(maxAbsDiff(embeddings[i]!, expected), text).toBeLessThanOrEqual(TOLERANCE);
    });
  });
});

describe('embed, encode and embedMatrix', () => {
  const encoder = tinyEncoder();

  it('a string gives one vector, an array gives one per text in the caller\'s order, whatever the batch size', async () => {
    const one = await encoder.embed(TEXTS[0]!);
    expect(one).toBeInstanceOf(Float32Array);
    expect(one.length).toBe(32);
    const alone = await Promise.all(TEXTS.map((t) => encoder.embedTokenIds([{ inputIds: encoder.tokenize(t) }]).then((r) => r[0]!)));
    for (const batchSize of [1, 2, 3, 32]) {
      const many = await encoder.encode(TEXTS, { batchSize });
      expect(many.length).toBe(TEXTS.length);
      many.forEach((v, i) => expect(maxAbsDiff(v, alone[i]!), `batch ${batchSize}, text ${i}`).toBeLessThanOrEqual(1e-6));
    }
    expect(maxAbsDiff(one, alone[0]!)).toBeLessThanOrEqual(1e-6);
  });

  it('embedMatrix packs the same vectors into one [texts, dim] Float32Array', async () => {
    const matrix = await encoder.embedMatrix(TEXTS);
    const rows = await encoder.embed(TEXTS);
    expect(matrix.dims).toEqual([TEXTS.length, 32]);
    expect(matrix.data.length).toBe(TEXTS.length * 32);
    rows.forEach((row, i) => expect(Array.from(matrix.row(i))).toEqual(Array.from(row)));
    expect((await encoder.embedMatrix([])).dims).toEqual([0, 32]);
    expect(await encoder.embed([])).toEqual([]);
  });

  it('truncateDim keeps the first dimensions and renormalises them; normalize: false leaves them raw', async () => {
    const text = TEXTS[2]!;
    const pooled = plainPool(hiddenRows(tinyModel, encoder.tokenize(text)), ['mean']);
    const truncated = await encoder.embed(text, { truncateDim: 8 });
    expect(maxAbsDiff(truncated, l2normalize(pooled.slice(0, 8)))).toBeLessThanOrEqual(TOLERANCE);
    const raw = await encoder.embed(text, { truncateDim: 8, normalize: false });
    expect(maxAbsDiff(raw, pooled.slice(0, 8))).toBeLessThanOrEqual(TOLERANCE * 10);
  });

  it('precision quantizes the embeddings of the call (ranges from those embeddings)', async () => {
    const float = await encoder.embedMatrix(TEXTS);
    for (const precision of ['int8', 'uint8', 'binary', 'ubinary'] as const) {
      const q = await encoder.embedMatrix(TEXTS, { precision });
      expect(q.toArray()).toEqual(quantizeEmbeddings(float, precision).toArray());
    }
    const rows = await encoder.embed(TEXTS, { precision: 'ubinary' });
    expect(rows[0]).toBeInstanceOf(Uint8Array);
    expect(rows[0]!.length).toBe(4); // 32 bits
  });

  it('token_embeddings are the last hidden state, one [tokens, H] matrix per text', async () => {
    const tokens = await encoder.embed(TEXTS, { outputValue: 'token_embeddings', batchSize: 2 });
    TEXTS.forEach((text, i) => {
      const expected = hiddenRows(tinyModel, encoder.tokenize(text));
      expect(tokens[i]!.dims).toEqual([expected.length, 32]);
      expect(maxAbsDiff(tokens[i]!.data, expected.flat())).toBeLessThanOrEqual(1e-6);
    });
    await expect(encoder.embed('x', { outputValue: 'token_embeddings', truncateDim: 3 })).rejects.toThrow(/truncateDim applies to sentence embeddings/);
  });

  it('result types follow the input and the options (checked by tsc)', async () => {
    expectTypeOf(await encoder.embed('x')).toEqualTypeOf<Float32Array>();
    expectTypeOf(await encoder.embed(['x'], { onProgress: (p) => void p.done })).toEqualTypeOf<Float32Array[]>();
    expectTypeOf(await encoder.embed('x', { precision: 'int8' })).toEqualTypeOf<Int8Array>();
    expectTypeOf(await encoder.embed(['x'], { precision: 'ubinary' })).toEqualTypeOf<Uint8Array[]>();
    expectTypeOf(await encoder.embed(['x'], { outputValue: 'token_embeddings' })).toEqualTypeOf<EmbeddingMatrix[]>();
    expectTypeOf((await encoder.embedMatrix(['x'], { precision: 'uint8' })).data).toEqualTypeOf<Uint8Array>();
  });

  it('reports progress after every batch', async () => {
    const seen: string[] = [];
    await encoder.embed(TEXTS, { batchSize: 2, onProgress: ({ done, total }: EmbedProgress) => seen.push(`${done}/${total}`) });
    expect(seen).toEqual(['2/5', '4/5', '5/5']);
  });

  it('truncates at maxSeqLength (from sentence_bert_config.json, or the option)', async () => {
    const long = 'word '.repeat(400);
    expect(encoder.tokenize(long).length).toBe(256);
    expect(tinyEncoder({ sentenceBertConfig: { max_seq_length: 16 } }).tokenize(long).length).toBe(16);
    expect(tinyEncoder({ sentenceBertConfig: { max_seq_length: 16 }, maxSeqLength: 20 }).tokenize(long).length).toBe(20);
    expect(tinyEncoder({ tokenizerConfig: { model_max_length: 1e30 } }).maxSeqLength).toBe(256);
    expect(() => tinyEncoder({ maxSeqLength: 513 })).toThrow(/maxSeqLength must be an integer from 2 to max_position_embeddings \(512\)/);
  });
});

describe('prompts', () => {
  const prompts = { query: 'query: ', passage: 'passage: ' };

  it('prompt and promptName put the text before each input; the default prompt applies when none is named', async () => {
    const encoder = tinyEncoder({ sentenceTransformersConfig: { prompts, default_prompt_name: 'query' } });
    const prefixed = await encoder.embed(['query: red apples'], { prompt: '' });
    expect(Array.from(await encoder.embed('red apples'))).toEqual(Array.from(prefixed[0]!));
    expect(Array.from(await encoder.embed('red apples', { promptName: 'passage' }))).toEqual(
      Array.from(await encoder.embed('passage: red apples', { prompt: '' })),
    );
    expect(encoder.tokenize('red apples')).toEqual(encoder.tokenize('query: red apples', { prompt: '' }));
    await expect(encoder.embed('x', { promptName: 'document' })).rejects.toThrow(/promptName "document" is not a prompt of this model \("query", "passage"\)/);
    expect(() => tinyEncoder({ sentenceTransformersConfig: { prompts, default_prompt_name: 'other' } })).toThrow(/default prompt "other"/);
  });

  it('include_prompt: false leaves [CLS] and the prompt tokens out of mean and max pooling', async () => {
    for (const mode of ['mean', 'max', 'cls'] as const) {
      const encoder = tinyEncoder({ modules: modulesJson(false), poolingConfig: poolingConfig([mode], { include_prompt: false }) });
      const promptLength = encoder.tokenize('', { prompt: 'query: ' }).length - 1; // [CLS] query :
      expect(promptLength).toBe(3);
      const embedding = await encoder.embed('red apples', { prompt: 'query: ' });
      const rows = hiddenRows(tinyModel, encoder.tokenize('red apples', { prompt: 'query: ' }));
      expect(maxAbsDiff(embedding, plainPool(rows, [mode], promptLength)), mode).toBeLessThanOrEqual(TOLERANCE * 10);
    }
  });
});

describe('lowercasing: tokenizer_config.json vs sentence_bert_config.json', () => {
  it('tokenizer_config do_lower_case false keeps case (an uncased vocab then splits "Hello" differently)', () => {
    const cased = tinyEncoder({ tokenizerConfig: { do_lower_case: false } });
    const uncased = tinyEncoder({ tokenizerConfig: { do_lower_case: true } });
    expect(uncased.tokenize('Hello')).toEqual(uncased.tokenize('hello'));
    expect(cased.tokenize('Hello')).not.toEqual(cased.tokenize('hello'));
  });

  it('sentence_bert_config do_lower_case true lowercases the text before a case-keeping tokenizer', () => {
    const encoder = tinyEncoder({ tokenizerConfig: { do_lower_case: false }, sentenceBertConfig: { do_lower_case: true } });
    expect(encoder.tokenize('HeLLo WORLD')).toEqual(encoder.tokenize('hello world'));
    // all-MiniLM-L6-v2's own files: do_lower_case false in sentence_bert_config, the tokenizer lowercases
    const minilm = tinyEncoder({ tokenizerConfig: { do_lower_case: true }, sentenceBertConfig: { do_lower_case: false } });
    expect(minilm.tokenize('HeLLo WORLD')).toEqual(minilm.tokenize('hello world'));
  });
});

describe('bad input and unsupported models', () => {
  const encoder = tinyEncoder();

  it.each([
    [{ batchSize: 0 }, /batchSize must be a positive integer, got 0/],
    [{ batchSize: -3 }, /batchSize must be a positive integer, got -3/],
    [{ batchSize: 1.5 }, /batchSize must be a positive integer/],
    [{ truncateDim: 0 }, /truncateDim must be an integer from 1 to 32/],
    [{ truncateDim: 33 }, /truncateDim must be an integer from 1 to 32/],
    [{ precision: 'int4' }, /precision must be one of/],
    [{ outputValue: 'pooled' }, /outputValue must be/],
  ])('rejects %o', async (options, message) => {
    await expect(encoder.embed(['x'], options as never)).rejects.toThrow(message);
  });

  it('rejects non-string texts and a disposed encoder', async () => {
    await expect(encoder.embed(['ok', 3 as never])).rejects.toThrow(/texts\[1\] is number, expected a string/);
    await expect(encoder.embed(null as never)).rejects.toThrow(/expected a string or an array of strings/);
    const gone = tinyEncoder();
    gone.dispose();
    await expect(gone.embed('x')).rejects.toThrow(/disposed/);
  });

  it.each([
    [{ modules: [...modulesJson(true), { idx: 3, name: '3', path: '3_Dense', type: 'sentence_transformers.models.Dense' }] }, /Dense.*not supported/],
    [{ modules: [{ idx: 0, path: '', type: 'sentence_transformers.models.Transformer' }] }, /must be a Pooling module, and there is none/],
    [{ modules: [{ idx: 0, path: '', type: 'sentence_transformers.models.StaticEmbedding' }] }, /first module is "sentence_transformers.models.StaticEmbedding"/],
    [{ modules: modulesJson(true) }, /lists a Pooling module, but its 1_Pooling\/config.json was not given/],
    [{ modules: modulesJson(true), poolingConfig: { pooling_mode_lasttoken: true } }, /pooling_mode_lasttoken is not supported/],
    [{ modules: modulesJson(true), poolingConfig: { pooling_mode_weightedmean_tokens: true } }, /weightedmean_tokens is not supported/],
    [{ modules: modulesJson(true), poolingConfig: { pooling_mode_mean_tokens: false } }, /no pooling mode is enabled/],
    [{ modules: '[not json' }, /modules.json is not valid JSON/],
    [{ pooling: 'median' as never }, /pooling mode "median" is not supported/],
    [{ config: { ...SYNTHETIC_TINY.config, model_type: 'roberta' } }, /model_type is "roberta"/],
  ])('rejects %#', (parts, message) => {
    expect(() => tinyEncoder(parts as Partial<SentenceEncoderParts>)).toThrow(message);
  });
});
