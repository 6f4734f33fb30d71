/**
 * Loading: vocab.txt parsing as the reference reads it (id = line index, trailing whitespace
 * trimmed, later duplicates win), tokenizer.json reading, and a clear error for each bad input.
 */
import { describe, expect, it } from 'vitest';
import { BertTokenizer, TokenizerConfigError, VocabError, parseVocabTxt } from '../../src/tokenizer/index.ts';
import { tokenizerJsonText, vocabText } from './helpers.ts';

const minimal = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', '##s'].join('\n') + '\n';

describe('vocab.txt', () => {
  it('gives each token its line index; the final newline adds nothing', () => {
    const vocab = parseVocabTxt('a\nb\nc\n');
    expect([...vocab.tokenToId]).toEqual([['a', 0], ['b', 1], ['c', 2]]);
    expect(vocab.size).toBe(3);
  });

  it('trims Windows line ends and trailing spaces; drops a byte-order mark', () => {
    const vocab = parseVocabTxt('\uFEFFa\r\nb \r\nc');
    expect([...vocab.tokenToId]).toEqual([['a', 0], ['b', 1], ['c', 2]]);
  });

  it('a duplicate line: the later index wins and the earlier id has no token', () => {
    const vocab = parseVocabTxt('a\nb\na\n');
    expect(vocab.tokenToId.get('a')).toBe(2);
    expect(vocab.idToToken[0]).toBeUndefined();
    expect(vocab.size).toBe(3);
  });

  it('the real vocabulary: 30522 ids, the BERT specials where BERT puts them', () => {
    const tokenizer = BertTokenizer.fromVocab(vocabText);
    expect(tokenizer.vocabSize).toBe(30522);
    expect(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => tokenizer.tokenToId(t))).toEqual([0, 100, 101, 102, 103]);
    expect(tokenizer.idToToken(30521)).toBe('##～');
    expect(tokenizer.maxLength).toBe(512);
  });

  it.each([
    ['empty file', '', /vocab\.txt is empty/],
    ['no [UNK]', minimal.replace('[UNK]', 'x'), /no "\[UNK\]" token/],
    ['no [CLS]', minimal.replace('[CLS]', 'x'), /no "\[CLS\]" token/],
    ['no [SEP]', minimal.replace('[SEP]', 'x'), /no "\[SEP\]" token/],
    ['no [PAD]', minimal.replace('[PAD]', 'x'), /no "\[PAD\]" token/],
  ])('%s is a VocabError', (_name, text, message) => {
    expect(() => BertTokenizer.fromVocab(text)).toThrow(VocabError);
    expect(() => BertTokenizer.fromVocab(text)).toThrow(message);
  });

  it('[MASK] is optional', () => {
    expect(BertTokenizer.fromVocab(minimal.replace('[MASK]', 'x')).tokenize('hello [MASK]')).toEqual([2, 5, 1, 1, 1, 3]);
  });

  it('rejects a non-string and bad options', () => {
    expect(() => BertTokenizer.fromVocab(42 as unknown as string)).toThrow(TypeError);
    expect(() => BertTokenizer.fromVocab(minimal, { maxLength: 1 })).toThrow(/maxLength must be an integer >= 2, got number 1/);
    expect(() => BertTokenizer.fromVocab(minimal, { maxLength: 3.5 })).toThrow(RangeError);
    expect(() => BertTokenizer.fromVocab(minimal, { lowercase: 'yes' as unknown as boolean })).toThrow(/lowercase must be a boolean/);
  });

  it('options: a cased vocabulary keeps case and accents', () => {
    const cased = BertTokenizer.fromVocab(minimal + 'Hello\nwörld\n', { lowercase: false });
    expect(cased.encode('Hello wörld hello').tokens).toEqual(['[CLS]', 'Hello', 'wörld', 'hello', '[SEP]']);
  });
});

describe('tokenizer.json', () => {
  const base = JSON.parse(tokenizerJsonText) as Record<string, unknown>;
  const edited = (edit: (json: Record<string, any>) => void) => {
    const json = structuredClone(base) as Record<string, any>;
    edit(json);
    return json;
  };

  it('ignores the file\'s truncation (128) and padding: maxLength is the caller\'s, padding per batch', () => {
    const tokenizer = BertTokenizer.fromTokenizerJson(tokenizerJsonText);
    expect(tokenizer.maxLength).toBe(512);
    expect(tokenizer.tokenize('hello '.repeat(200))).toHaveLength(202);
    expect(tokenizer.encodeBatch(['hello']).inputIds).toEqual([[101, 7592, 102]]);
  });

  it('accepts the parsed object and BertProcessing', () => {
    const json = edited((j) => {
      j.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] };
    });
    expect(BertTokenizer.fromTokenizerJson(json, { maxLength: 256 }).tokenize('Hello world!')).toEqual([101, 7592, 2088, 999, 102]);
  });

  it('reads the normaliser flags', () => {
    const json = edited((j) => {
      j.normalizer.lowercase = false;
    });
    // No lowercasing, and strip_accents null follows lowercase: off too.
    expect(BertTokenizer.fromTokenizerJson(json).encode('Hello').tokens).toEqual(['[CLS]', '[UNK]', '[SEP]']);
  });

  it.each([
    ['not JSON', () => '{', /not valid JSON/],
    ['not an object', () => '[1]', /expected a JSON object/],
    ['a BPE model', () => edited((j) => { j.model.type = 'BPE'; }), /model\.type is "BPE"/],
    ['a vocab id that is not an integer', () => edited((j) => { j.model.vocab.hello = 1.5; }), /model\.vocab\["hello"\] must be an integer id from 0 to/],
    ['a huge vocab id', () => edited((j) => { j.model.vocab.hello = 2 ** 31; }), /must be an integer id from 0 to 16777215, got number 2147483648/],
    ['two tokens with one id', () => edited((j) => { j.model.vocab.hello = 2088; }), /share id 2088/],
    ['another normaliser', () => edited((j) => { j.normalizer = { type: 'NFC' }; }), /only "BertNormalizer"/],
    ['another pre-tokeniser', () => edited((j) => { j.pre_tokenizer = { type: 'Whitespace' }; }), /BertPreTokenizer/],
    ['an added token with lstrip', () => edited((j) => { j.added_tokens[4].lstrip = true; }), /\[MASK\]\) sets lstrip: true/],
    ['an added token outside the vocabulary', () => edited((j) => { j.added_tokens.push({ id: 40000, content: '<new>' }); }), /model\.vocab lacks it/],
    ['a template without [CLS]', () => edited((j) => { j.post_processor.single.shift(); }), /post_processor\.single must be/],
    ['a post-processor id that disagrees with the vocabulary', () => edited((j) => { j.post_processor.special_tokens['[CLS]'].ids = [5]; }), /gives \[CLS\] the id 5/],
    ['no [PAD] in the vocabulary', () => edited((j) => { delete j.model.vocab['[PAD]']; j.added_tokens.shift(); }), /no "\[PAD\]" token/],
  ])('%s is a clear error', (_name, make, message) => {
    expect(() => BertTokenizer.fromTokenizerJson(make())).toThrow(message);
  });

  it('errors are TokenizerConfigError or VocabError; a non-object is a TypeError', () => {
    expect(() => BertTokenizer.fromTokenizerJson('{')).toThrow(TokenizerConfigError);
    expect(() => BertTokenizer.fromTokenizerJson(edited((j) => { j.model.vocab = []; }))).toThrow(VocabError);
    expect(() => BertTokenizer.fromTokenizerJson(7 as unknown as string)).toThrow(TypeError);
  });
});
