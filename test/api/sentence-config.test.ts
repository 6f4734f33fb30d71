/**
 * Reading the sentence-transformers files: modules.json layouts, pooling configs, prompts and the
 * two lowercasing switches, including the rejections.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readModuleLayout, resolveSentencePipeline } from '../../src/model/sentence-transformers-config.ts';

const realFile = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../weights/all-MiniLM-L6-v2/${name}`, import.meta.url), 'utf8'));

describe('readModuleLayout', () => {
  it("reads all-MiniLM-L6-v2's modules.json: root Transformer, 1_Pooling, Normalize", () => {
    expect(readModuleLayout(realFile('modules.json'))).toEqual({
      transformerPath: '', poolingPath: '1_Pooling', normalize: true, fromModulesJson: true,
    });
  });

  it('reads the older layout with a 0_Transformer folder, and modules.json given as text', () => {
    const text = JSON.stringify([
      { idx: 0, name: '0', path: '0_Transformer', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling/', type: 'sentence_transformers.models.Pooling' },
    ]);
    expect(readModuleLayout(text)).toEqual({ transformerPath: '0_Transformer', poolingPath: '1_Pooling', normalize: false, fromModulesJson: true });
  });

  it('without modules.json assumes the all-MiniLM-L6-v2 pipeline', () => {
    expect(readModuleLayout(undefined)).toMatchObject({ poolingPath: '1_Pooling', normalize: true, fromModulesJson: false });
  });

  it.each([
    [[], /non-empty JSON array/],
    [[{ idx: 0 }], /entry 0 has no "type"/],
    [[{ path: '../x', type: 'm.Transformer' }, { path: 'p', type: 'm.Pooling' }], /leaves the model folder/],
    [[{ path: '/etc', type: 'm.Transformer' }, { path: 'p', type: 'm.Pooling' }], /leaves the model folder/],
    [[{ path: '', type: 'm.Transformer' }, { path: 'p', type: 'm.Pooling' }, { path: 'n', type: 'm.Normalize' }, { path: 'n2', type: 'm.Normalize' }], /Normalize.*not supported/],
  ])('rejects %j', (modules, message) => {
    expect(() => readModuleLayout(modules)).toThrow(message);
  });
});

describe('resolveSentencePipeline', () => {
  it("all-MiniLM-L6-v2's files give mean pooling, Normalize, max_seq_length 256, an uncased tokenizer", () => {
    const pipeline = resolveSentencePipeline({
      modules: realFile('modules.json'),
      poolingConfig: realFile('1_Pooling/config.json'),
      sentenceBertConfig: realFile('sentence_bert_config.json'),
      tokenizerConfig: realFile('tokenizer_config.json'),
      sentenceTransformersConfig: realFile('config_sentence_transformers.json'),
    });
    expect(pipeline).toMatchObject({
      poolingModes: ['mean'], includePrompt: true, normalize: true, maxSeqLength: 256, lowercaseInput: false,
      tokenizer: { lowercase: true, handleChineseChars: true }, prompts: {}, defaultPromptName: null, similarityFunction: 'cosine',
    });
    expect(pipeline.tokenizer.stripAccents).toBeUndefined(); // strip_accents null: follows lowercase
  });

  it('a bge-style CLS model and an e5-style model with prompts', () => {
    const bge = resolveSentencePipeline({
      modules: realFile('modules.json'),
      poolingConfig: { word_embedding_dimension: 384, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false },
      sentenceBertConfig: { max_seq_length: 512, do_lower_case: true },
    });
    expect(bge).toMatchObject({ poolingModes: ['cls'], maxSeqLength: 512, lowercaseInput: true });
    const e5 = resolveSentencePipeline({
      sentenceTransformersConfig: { prompts: { query: 'query: ', passage: 'passage: ' }, default_prompt_name: null, similarity_fn_name: 'cosine' },
      prompts: { extra: 'x: ' },
    });
    expect(e5.prompts).toEqual({ query: 'query: ', passage: 'passage: ', extra: 'x: ' });
    expect(e5.defaultPromptName).toBeNull();
  });

  it('takes maxSeqLength from tokenizer_config.json when sentence_bert_config.json has none', () => {
    expect(resolveSentencePipeline({ tokenizerConfig: { model_max_length: 128 } }).maxSeqLength).toBe(128);
    expect(resolveSentencePipeline({ tokenizerConfig: { model_max_length: 1e30 } }).maxSeqLength).toBeUndefined();
  });

  it.each([
    [{ sentenceBertConfig: { max_seq_length: 'long' } }, /max_seq_length must be an integer >= 2/],
    [{ sentenceBertConfig: { do_lower_case: 'yes' } }, /do_lower_case must be true or false/],
    [{ tokenizerConfig: '{' }, /tokenizer_config.json is not valid JSON/],
    [{ sentenceTransformersConfig: { prompts: { q: 1 } } }, /prompt "q" must be a string/],
    [{ poolingConfig: { pooling_mode_mean_tokens: 'yes' } }, /pooling_mode_mean_tokens must be true or false/],
    [{ normalize: 'yes' as never }, /normalize must be true or false/],
  ])('rejects %j', (inputs, message) => {
    expect(() => resolveSentencePipeline(inputs)).toThrow(message);
  });
});
