/**
 * traceSentence on the tiny synthetic checkpoint: every number it reports is recomputed here
 * directly from the encoder's own outputs (hidden states through a separate observer, the
 * embedding from `embed`), so the trace cannot drift from what the model does.
 */
import { describe, expect, it } from 'vitest';
import { SentenceEncoder } from '../../src/model/sentence-encoder.ts';
import { traceSentence, type SentenceTrace } from '../../src/trace/trace.ts';
import { tensorStats } from '../../src/trace/stats.ts';
import { maxAbsDiff, RECIPES, realVocab, syntheticWeights } from '../helpers/checkpoints.ts';

const encoder = SentenceEncoder.fromParts({ config: RECIPES.tiny.config, weights: syntheticWeights('tiny'), vocab: realVocab() });
const { hiddenSize: H, numLayers: N, numHeads: A } = encoder.config;
const TEXT = 'The cat sat on the mat, unaffably.';

/** Hidden states and per-head attention matrices of one sequence, straight from the observer. */
async function directRun(ids: number[]): Promise<{ hidden: Float32Array[]; heads: Float64Array[][]; embedding: Float32Array }> {
  const L = ids.length;
  const hidden: Float32Array[] = [];
  const heads = Array.from({ length: N }, () => Array.from({ length: A }, () => new Float64Array(L * L)));
  const [embedding] = await encoder.embedTokenIds([{ inputIds: ids }], {
    hiddenState: (stage, h) => void (hidden[stage] = h.slice()),
    attention: (layer, _b, head, query, probs, length) => heads[layer]![head]!.set(probs.subarray(0, length), query * L),
  });
  return { hidden, heads, embedding: embedding!.slice() };
}

describe('traceSentence', async () => {
  const trace: SentenceTrace = await traceSentence(encoder, { text: TEXT }, { topLinks: 4, modelName: 'tiny' });
  const ids = trace.input_ids[0]!;
  const L = ids.length;
  const direct = await directRun(ids);

  it('records the tokens the tokenizer gives', () => {
    const encoding = encoder.tokenizer.encode(TEXT, { maxLength: encoder.maxSeqLength });
    expect(ids).toEqual(encoding.ids);
    expect(trace.tokens).toEqual(encoding.tokens);
    expect(trace.tokens.some((t) => t.startsWith('##'))).toBe(true); // WordPiece split a word
    expect(trace.untruncated_length).toBe(L);
    expect(trace.text).toBe(TEXT);
  });

  it('has one stage per hidden state, then pooling and normalisation, with their shapes', () => {
    expect(trace.stages.map((s) => s.id)).toEqual(['embeddings', ...Array.from({ length: N }, (_, i) => `layer.${i + 1}`), 'pooled', 'normalized']);
    for (const stage of trace.stages.slice(0, N + 1)) expect(stage.shape).toEqual([L, H]);
    expect(trace.stages[N + 1]!.shape).toEqual([H]);
    expect(trace.stages[N + 2]!.shape).toEqual([H]);
  });

  it('keeps the hidden states the model computed, and summarises them correctly', () => {
    for (let s = 0; s <= N; s++) {
      expect(trace.hidden_states[s]!.length).toBe(1);
      expect(maxAbsDiff(trace.hidden_states[s]![0]!.flat(), direct.hidden[s]!)).toBe(0);
      expect(trace.stages[s]!.stats).toEqual(tensorStats(direct.hidden[s]!));
    }
  });

  it('pools by the mean of the last hidden state, and ends with the vector embed() returns', async () => {
    const last = direct.hidden[N]!;
    const mean = Array.from({ length: H }, (_, i) => {
      let sum = 0;
      for (let t = 0; t < L; t++) sum += last[t * H + i]!;
      return sum / L;
    });
    expect(maxAbsDiff(trace.pooled[0]!, mean)).toBeLessThanOrEqual(1e-6);
    const [embedded] = await encoder.embed([TEXT]);
    expect(maxAbsDiff(trace.sentence_embedding[0]!, embedded!)).toBe(0);
    expect(trace.stages[N + 2]!.stats.l2).toBeCloseTo(1, 6);
    expect(trace.stages[N + 1]!.stats.l2).toBeCloseTo(Math.hypot(...mean), 5);
  });

  it('averages attention over the heads, and reports the strongest links and each head\'s focus', () => {
    expect(trace.attention.length).toBe(N);
    for (let layer = 0; layer < N; layer++) {
      const summary = trace.attention[layer]!;
      expect(summary.layer).toBe(layer + 1);
      const heads = direct.heads[layer]!;
      const mean = Array.from({ length: L * L }, (_, k) => heads.reduce((sum, head) => sum + head[k]!, 0) / A);
      expect(maxAbsDiff(summary.mean.flat(), mean)).toBeLessThanOrEqual(1e-15);
      for (const row of summary.mean) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);

      const sorted = [...mean].sort((a, b) => b - a);
      expect(summary.links.map((l) => l.weight)).toEqual(sorted.slice(0, 4));
      for (const link of summary.links) expect(link.weight).toBe(mean[link.from * L + link.to]);

      expect(summary.heads.length).toBe(A);
      for (const focus of summary.heads) {
        const received = Array.from({ length: L }, (_, j) => {
          let sum = 0;
          for (let i = 0; i < L; i++) sum += heads[focus.head]![i * L + j]!;
          return sum / L;
        });
        expect(focus.weight).toBeCloseTo(Math.max(...received), 14);
        expect(received[focus.token]).toBeCloseTo(Math.max(...received), 14);
      }
    }
  });

  it('bypasses the tokenizer with ids, honouring token types and the attention mask', async () => {
    const byIds = await traceSentence(encoder, { ids });
    expect(byIds.text).toBeNull();
    expect(byIds.tokens).toEqual(trace.tokens);
    expect(byIds.sentence_embedding).toEqual(trace.sentence_embedding);

    const masked = await traceSentence(encoder, { ids: [...ids, 0, 0], attentionMask: [...ids.map(() => 1), 0, 0] });
    expect(masked.input_ids[0]).toEqual(ids);
    expect(maxAbsDiff(masked.sentence_embedding[0]!, trace.sentence_embedding[0]!)).toBe(0);

    const typed = await traceSentence(encoder, { ids, tokenTypeIds: ids.map(() => 1) });
    expect(typed.token_type_ids[0]).toEqual(ids.map(() => 1));
    expect(maxAbsDiff(typed.hidden_states[0]![0]!.flat(), direct.hidden[0]!)).toBeGreaterThan(1e-3);
  });

  it('reports truncation to maxSeqLength', async () => {
    const short = SentenceEncoder.fromParts({ config: RECIPES.tiny.config, weights: syntheticWeights('tiny'), vocab: realVocab(), maxSeqLength: 8 });
    const truncated = await traceSentence(short, { text: TEXT });
    expect(truncated.tokens.length).toBe(8);
    expect(truncated.tokens[7]).toBe('[SEP]');
    expect(truncated.untruncated_length).toBe(L);
  });

  it('refuses bad input with the model\'s own errors', async () => {
    await expect(traceSentence(encoder, { ids: [101, 999999, 102] })).rejects.toThrow(/token id 999999 at position 1/);
    await expect(traceSentence(encoder, { ids: [] })).rejects.toThrow(/no tokens/);
    await expect(traceSentence(encoder, { text: 'x' }, { topLinks: -1 })).rejects.toThrow(/topLinks/);
    await expect(traceSentence(encoder, { text: 42 } as never)).rejects.toThrow(/text must be a string/);
  });
});
