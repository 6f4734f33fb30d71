/**
 * MiniLMEmbeddings: the LangChain.js embeddings interface over a SentenceEncoder.
 */
import { describe, expect, it } from 'vitest';
import { MiniLMEmbeddings } from '../../src/api/langchain.ts';
import { SentenceEncoder } from '../../src/model/sentence-encoder.ts';
import { SYNTHETIC_TINY } from '../../src/model/synthetic.ts';
import { realVocab, syntheticWeights } from '../helpers/checkpoints.ts';

const encoder = SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights: syntheticWeights('tiny'), vocab: realVocab() });

describe('MiniLMEmbeddings', () => {
  it('embedDocuments and embedQuery return plain number arrays equal to the encoder\'s vectors', async () => {
    const embeddings = new MiniLMEmbeddings({ encoder });
    const texts = ['first document', 'second, longer document about something'];
    const documents = await embeddings.embedDocuments(texts);
    const expected = await encoder.embed(texts);
    expect(documents.map((d) => Array.isArray(d))).toEqual([true, true]);
    expect(documents).toEqual(expected.map((v) => Array.from(v)));
    expect(await embeddings.embedQuery('first document')).toEqual(Array.from(expected[0]!));
    expect(await embeddings.embedDocuments([])).toEqual([]);
  });

  it('loads a lazily given encoder once, and puts query/document prompts before the texts', async () => {
    let loads = 0;
    const embeddings = new MiniLMEmbeddings({
      encoder: async () => {
        loads++;
        return encoder;
      },
      queryPrompt: 'query: ',
      documentPrompt: 'passage: ',
    });
    expect(loads).toBe(0);
    const [document] = await embeddings.embedDocuments(['red apples']);
    const query = await embeddings.embedQuery('red apples');
    expect(loads).toBe(1);
    expect(document).toEqual(Array.from(await encoder.embed('passage: red apples')));
    expect(query).toEqual(Array.from(await encoder.embed('query: red apples')));
  });

  it('retries a failed load on the next call, and needs an encoder', async () => {
    let attempts = 0;
    const embeddings = new MiniLMEmbeddings({
      encoder: () => {
        attempts++;
        if (attempts === 1) return Promise.reject(new Error('offline'));
        return encoder;
      },
    });
    await expect(embeddings.embedQuery('x')).rejects.toThrow('offline');
    expect((await embeddings.embedQuery('x')).length).toBe(32);
    expect(() => new MiniLMEmbeddings({} as never)).toThrow(/needs \{ encoder \}/);
  });
});
