/**
 * Property tests of whole embeddings on the tiny synthetic model: for any text (any code point,
 * lone surrogates, special tokens, long words) and any valid token ids, every value is finite and
 * the vector has unit length; a text's embedding does not depend on the other texts of its batch.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SentenceEncoder } from '../../src/model/sentence-encoder.ts';
import { RECIPES, realVocab, syntheticWeights } from '../helpers/checkpoints.ts';
import { textArb } from './text-arbitraries.ts';

const encoder = SentenceEncoder.fromParts({ config: RECIPES.tiny.config, weights: syntheticWeights('tiny'), vocab: realVocab() });

function expectFiniteUnit(vector: Float32Array): void {
  expect(vector).toHaveLength(encoder.dimension);
  let squares = 0;
  for (const value of vector) {
    if (!Number.isFinite(value)) throw new Error(`non-finite value ${value} in the embedding`);
    squares += value * value;
  }
  expect(Math.abs(Math.sqrt(squares) - 1)).toBeLessThan(1e-5);
}

describe('embeddings of any input (tiny model)', () => {
  it('any text: finite values, unit length', async () => {
    await fc.assert(
      fc.asyncProperty(textArb(60), async (text) => {
        expectFiniteUnit(await encoder.embed(text));
      }),
      { numRuns: 200 },
    );
  });

  it('texts with nothing to embed (empty, whitespace, controls, only special tokens) still give unit vectors', async () => {
    for (const text of ['', ' ', '\u0000\u0001\u200b', '[CLS]', '[SEP][SEP]', '[PAD]'.repeat(300), '\ud800', '\u0301'.repeat(50)]) {
      expectFiniteUnit(await encoder.embed(text));
    }
  });

  it('any valid token ids, of any length up to max_seq_length: finite values, unit length', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: encoder.config.vocabSize - 1 }), { minLength: 1, maxLength: encoder.maxSeqLength }), { minLength: 1, maxLength: 4 }),
        async (batch) => {
          const vectors = await encoder.embedTokenIds(batch.map((inputIds) => ({ inputIds })));
          expect(vectors).toHaveLength(batch.length);
          vectors.forEach(expectFiniteUnit);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a text gives the same vector alone and inside any batch', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(textArb(20), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 8 }), async (texts, batchSize) => {
        const together = await encoder.embed(texts, { batchSize });
        for (let i = 0; i < texts.length; i++) expect(together[i]).toEqual(await encoder.embed(texts[i]!));
      }),
      { numRuns: 30 },
    );
  });
});
