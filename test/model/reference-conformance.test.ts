/**
 * The model against the float64 reference (test/fixtures/reference, computed by an independent
 * implementation on the synthetic weights): every case, both checkpoints, every layer.
 *
 * Tolerances are those the reference README suggests: sentence embeddings 1e-5 (max abs) and
 * cosine ≥ 1 − 1e-7, mean-pooled vectors and hidden states 1e-4 (unpadded positions only).
 * The max errors reached are printed. Every backend runs every case: 'plain' (the reference
 * loops, tiny checkpoint only: it is slow), 'js' (the default) and 'simd' (WebAssembly), the
 * latter also on 2 threads (rows of each matmul shared with a worker over one shared memory).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertModel } from '../../src/model/bert.ts';
import { parseBertConfig } from '../../src/model/config.ts';
import { poolSentences } from '../../src/model/pooling.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { SentenceEncoder } from '../../src/model/sentence-encoder.ts';
import { packTokenBatch, type TokenSequence } from '../../src/model/token-batch.ts';
import { loadBertWeights } from '../../src/model/weights.ts';
import { resolveBackend, type BackendName } from '../../src/model/backend-choice.ts';
import { spawnNodeLinearWorker } from '../../src/node/worker-spawn.ts';
import {
  cosine, maxAbsDiff, RECIPES, realVocab, referenceCases, syntheticWeights, type ReferenceCase, type Variant,
} from '../helpers/checkpoints.ts';

const TOLERANCE = { sentenceEmbedding: 1e-5, cosine: 1e-7, meanPooled: 1e-4, hidden: 1e-4 };

/** Row b of a reference case as the encoder's input. */
function sequenceOf(c: ReferenceCase, b: number): TokenSequence {
  return { inputIds: c.input_ids[b]!, attentionMask: c.attention_mask[b]!, tokenTypeIds: c.token_type_ids[b]! };
}

/** The same row with its padding cut off, as if it had been run alone. */
function unpaddedSequenceOf(c: ReferenceCase, b: number): TokenSequence {
  const length = c.attention_mask[b]!.reduce((n, m) => n + m, 0);
  return {
    inputIds: c.input_ids[b]!.slice(0, length),
    tokenTypeIds: c.token_type_ids[b]!.slice(0, length),
  };
}

const runs: [Variant, BackendName, number][] = [
  ['tiny', 'plain', 1], ['tiny', 'js', 1], ['tiny', 'simd', 1], ['tiny', 'simd', 2], ['full', 'js', 1], ['full', 'simd', 1], ['full', 'simd', 2],
];

for (const [variant, backendName, threads] of runs) {
  const label = threads === 1 ? backendName : `${backendName}@${threads}`;
  describe(`reference conformance: ${variant} checkpoint, ${label} backend`, () => {
    const weightsBytes = syntheticWeights(variant);
    const config = parseBertConfig(RECIPES[variant].config);
    let model: BertModel;
    let encoder: SentenceEncoder;
    beforeAll(async () => {
      const threading = { threads, spawnWorker: spawnNodeLinearWorker };
      const backend = await resolveBackend({ backend: backendName, ...threading });
      model = new BertModel(config, loadBertWeights(parseSafetensors(weightsBytes), config), backend);
      encoder = SentenceEncoder.fromParts({
        config: RECIPES[variant].config, weights: weightsBytes, vocab: realVocab(), backend: backendName, ...threading,
      });
    });
    const worst = { sentenceEmbedding: 0, cosine: 0, meanPooled: 0, hidden: 0 };
    const perCase = new Map<string, { sentenceEmbedding: number; hidden?: number }>(); // for the printed table
    const H = config.hiddenSize;

    afterAll(() => {
      model.backend.dispose();
      encoder.dispose();
      console.log(
        `[${variant}, ${label}] max abs error vs float64 reference: sentence_embedding ${worst.sentenceEmbedding.toExponential(2)}, ` +
          `mean_pooled ${worst.meanPooled.toExponential(2)}, hidden states ${worst.hidden.toExponential(2)}; ` +
          `min cosine 1 − ${worst.cosine.toExponential(2)}\n` +
          [...perCase].map(([name, e]) => `  ${name}: sentence_embedding ${e.sentenceEmbedding.toExponential(2)}` +
            (e.hidden === undefined ? '' : `, hidden states ${e.hidden.toExponential(2)}`)).join('\n'),
      );
    });

    for (const c of referenceCases(variant)) {
      it(`${c.case}: sentence embeddings and mean pooling`, async () => {
        const batch = c.input_ids.map((_, b) => sequenceOf(c, b));
        const embeddings = await encoder.embedTokenIds(batch);
        const packed = packTokenBatch(batch, config);
        const pooled = new Float32Array(c.shape.batch * H);
        poolSentences(pooled, model.forward(packed), packed.sequenceStarts, H, ['mean']);

        for (let b = 0; b < c.shape.batch; b++) {
          const embeddingError = maxAbsDiff(embeddings[b]!, c.sentence_embedding[b]!);
          const cosineGap = 1 - cosine(embeddings[b]!, c.sentence_embedding[b]!);
          const pooledError = maxAbsDiff(pooled.subarray(b * H, (b + 1) * H), c.mean_pooled[b]!);
          worst.sentenceEmbedding = Math.max(worst.sentenceEmbedding, embeddingError);
          const entry = perCase.get(c.case) ?? { sentenceEmbedding: 0 };
          entry.sentenceEmbedding = Math.max(entry.sentenceEmbedding, embeddingError);
          perCase.set(c.case, entry);
          worst.cosine = Math.max(worst.cosine, cosineGap);
          worst.meanPooled = Math.max(worst.meanPooled, pooledError);
          expect(embeddingError, `row ${b} sentence_embedding`).toBeLessThanOrEqual(TOLERANCE.sentenceEmbedding);
          expect(cosineGap, `row ${b} cosine`).toBeLessThanOrEqual(TOLERANCE.cosine);
          expect(pooledError, `row ${b} mean_pooled`).toBeLessThanOrEqual(TOLERANCE.meanPooled);
        }
      });

      if (c.hidden_states === undefined) continue;
      it(`${c.case}: hidden states after the embeddings and after every layer`, () => {
        const hiddenStates = c.hidden_states!;
        const batch = c.input_ids.map((_, b) => sequenceOf(c, b));
        const packed = packTokenBatch(batch, config);
        const errors: number[] = [];
        model.forward(packed, {
          hiddenState(stage, hidden) {
            // Compare packed row t with the reference at its (sequence, position), mask-1 positions only.
            let stageError = 0;
            for (let b = 0; b < c.shape.batch; b++) {
              for (let t = packed.sequenceStarts[b]!; t < packed.sequenceStarts[b + 1]!; t++) {
                const position = packed.positionIds[t]!;
                const expected = hiddenStates[stage]![b]![position]!;
                stageError = Math.max(stageError, maxAbsDiff(hidden.subarray(t * H, (t + 1) * H), expected));
              }
            }
            errors.push(stageError);
          },
        });
        expect(errors.length).toBe(config.numLayers + 1);
        const entry = perCase.get(c.case) ?? { sentenceEmbedding: 0 };
        entry.hidden = Math.max(...errors);
        perCase.set(c.case, entry);
        for (const [stage, error] of errors.entries()) {
          worst.hidden = Math.max(worst.hidden, error);
          expect(error, `hidden_states[${stage}]`).toBeLessThanOrEqual(TOLERANCE.hidden);
        }
      });
    }

    it('padded_batch4: each padded row equals the same sequence run alone', async () => {
      const c = referenceCases(variant).find((r) => r.case === 'padded_batch4')!;
      const batch = c.input_ids.map((_, b) => sequenceOf(c, b));
      const together = await encoder.embedTokenIds(batch);
      for (let b = 0; b < batch.length; b++) {
        const [alone] = await encoder.embedTokenIds([unpaddedSequenceOf(c, b)]);
        expect(maxAbsDiff(together[b]!, alone!), `row ${b}`).toBe(0);
        expect(maxAbsDiff(alone!, c.sentence_embedding[b]!), `row ${b} alone`).toBeLessThanOrEqual(TOLERANCE.sentenceEmbedding);
      }
    });

    if (threads > 1) {
      it('the workers computed rows of these cases (the threads were used)', () => {
        const shared = model.backend as { rowsComputedByWorkers?: number };
        expect(shared.rowsComputedByWorkers).toBeGreaterThan(0);
      });
    }
  });
}
