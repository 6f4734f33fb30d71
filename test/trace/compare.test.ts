/**
 * compareTrace against the float64 reference fixtures: our model agrees with every case (both
 * checkpoints where cheap), and a reference perturbed at a chosen stage is reported as diverging
 * at exactly that stage, with the place of the largest difference.
 */
import { describe, expect, it } from 'vitest';
import { SentenceEncoder } from '../../src/model/sentence-encoder.ts';
import {
  compareTrace, DEFAULT_TOLERANCES, parseReferenceDump, referenceSequence, TraceReferenceError, type ReferenceDump,
} from '../../src/trace/compare.ts';
import { formatComparison, traceToJson } from '../../src/trace/format.ts';
import { traceSentence, type SentenceTrace } from '../../src/trace/trace.ts';
import { RECIPES, realVocab, referenceCases, syntheticWeights, type Variant } from '../helpers/checkpoints.ts';

const encoders = new Map<Variant, SentenceEncoder>();
function encoderFor(variant: Variant): SentenceEncoder {
  let encoder = encoders.get(variant);
  if (encoder === undefined) {
    encoder = SentenceEncoder.fromParts({ config: RECIPES[variant].config, weights: syntheticWeights(variant), vocab: realVocab() });
    encoders.set(variant, encoder);
  }
  return encoder;
}

function fixture(variant: Variant, name: string): ReferenceDump {
  const c = referenceCases(variant).find((r) => r.case === name);
  if (c === undefined) throw new Error(`no fixture case ${name}`);
  return parseReferenceDump(structuredClone(c));
}

async function traceRow(variant: Variant, reference: ReferenceDump, row = 0): Promise<SentenceTrace> {
  const { ids, tokenTypeIds } = referenceSequence(reference, row);
  return traceSentence(encoderFor(variant), { ids, tokenTypeIds });
}

const STAGES_TINY = ['tokens', 'embeddings', 'layer.1', 'layer.2', 'pooled', 'normalized'];

describe('compareTrace: our model against the reference fixtures', () => {
  for (const c of referenceCases('tiny')) {
    it(`tiny ${c.case}: no divergence in any row`, async () => {
      const reference = parseReferenceDump(c);
      for (let row = 0; row < c.shape.batch; row++) {
        const report = compareTrace(await traceRow('tiny', reference, row), reference, { row });
        expect(report.stages.map((s) => s.id)).toEqual(STAGES_TINY);
        expect(report.firstDivergence, `row ${row}`).toBeNull();
        const hiddenStatus = c.hidden_states === undefined ? 'missing' : 'ok';
        expect(report.stages.map((s) => s.status)).toEqual(['ok', hiddenStatus, hiddenStatus, hiddenStatus, 'ok', 'ok']);
        for (const stage of report.stages.filter((s) => s.maxAbsDiff !== null)) {
          expect(stage.maxAbsDiff).toBeLessThanOrEqual(stage.tolerance!);
        }
      }
    });
  }

  it('full hello_world: no divergence at any of the 6 layers', async () => {
    const reference = fixture('full', 'hello_world');
    const report = compareTrace(await traceRow('full', reference), reference);
    expect(report.stages.length).toBe(1 + 7 + 2);
    expect(report.stages.every((s) => s.status === 'ok')).toBe(true);
    expect(report.firstDivergence).toBeNull();
    expect(formatComparison(report, await traceRow('full', reference))).toMatch(/no divergence/);
  });
});

describe('compareTrace: finding the stage where a reference differs', async () => {
  const pristine = fixture('tiny', 'random_len16');
  const trace = await traceRow('tiny', pristine);

  for (const stage of [0, 1, 2]) {
    for (const propagate of [false, true]) {
      it(`a reference perturbed at hidden state ${stage}${propagate ? ' and every later stage' : ' only'} diverges there`, () => {
        const reference = structuredClone(pristine);
        const [token, dim] = [5, 17];
        const last = propagate ? reference.hidden_states!.length - 1 : stage;
        for (let s = stage; s <= last; s++) reference.hidden_states![s]![0]![token]![dim]! += 3e-4;
        if (propagate) {
          reference.mean_pooled![0]![dim]! += 3e-4;
          reference.sentence_embedding[0]![dim]! += 3e-5;
        }
        const report = compareTrace(trace, reference);
        const expectedId = stage === 0 ? 'embeddings' : `layer.${stage}`;
        expect(report.firstDivergence?.id).toBe(expectedId);
        expect(report.firstDivergence!.worst).toMatchObject({ token, index: dim });
        expect(report.firstDivergence!.maxAbsDiff).toBeCloseTo(3e-4, 6);
        const statuses = report.stages.map((s) => s.status);
        expect(statuses.slice(0, STAGES_TINY.indexOf(expectedId))).toEqual(statuses.slice(0, STAGES_TINY.indexOf(expectedId)).map(() => 'ok'));
        expect(formatComparison(report, trace)).toContain(`first divergence: ${stage === 0 ? 'embeddings' : `layer ${stage}`} (max abs diff 3.00e-4 > tolerance 1e-4)`);
      });
    }
  }

  it('a difference below the tolerance is not a divergence', () => {
    const reference = structuredClone(pristine);
    reference.hidden_states![1]![0]![3]![4]! += 0.5 * DEFAULT_TOLERANCES.hidden;
    expect(compareTrace(trace, reference).firstDivergence).toBeNull();
    expect(compareTrace(trace, reference, { tolerances: { hidden: 1e-5 } }).firstDivergence?.id).toBe('layer.1');
  });

  it('a perturbed sentence embedding alone diverges at normalisation', () => {
    const reference = structuredClone(pristine);
    reference.sentence_embedding[0]![9]! -= 2e-5;
    const report = compareTrace(trace, reference);
    expect(report.firstDivergence?.id).toBe('normalized');
    expect(report.firstDivergence!.worst).toMatchObject({ token: null, index: 9 });
  });

  it('different ids diverge at the tokens, and later stages are skipped', () => {
    const reference = structuredClone(pristine);
    reference.input_ids[0]![4] = 7592;
    const report = compareTrace(trace, reference);
    expect(report.firstDivergence?.id).toBe('tokens');
    expect(report.firstDivergence!.note).toMatch(/^token 4: ours \d+ \(.+\), reference 7592$/);
    expect(report.stages.slice(1).every((s) => s.status === 'skipped')).toBe(true);
    expect(formatComparison(report, trace)).toMatch(/first divergence: tokens \(token 4/);
  });

  it('a different length or token types also diverge at the tokens', () => {
    const shorter = structuredClone(pristine);
    shorter.attention_mask = [pristine.input_ids[0]!.map((_, p) => (p < 10 ? 1 : 0))];
    expect(compareTrace(trace, shorter).firstDivergence?.note).toMatch(/ours has 16 tokens, the reference 10/);
    const typed = structuredClone(pristine);
    typed.token_type_ids = [pristine.input_ids[0]!.map(() => 1)];
    expect(compareTrace(trace, typed).firstDivergence?.note).toMatch(/token 0: token type ours 0, reference 1/);
  });

  it('NaN in the reference is a divergence, not a pass', () => {
    const reference = structuredClone(pristine);
    reference.hidden_states![2]![0]![0]![0] = NaN;
    const report = compareTrace(trace, reference);
    expect(report.firstDivergence?.id).toBe('layer.2');
    expect(report.firstDivergence!.maxAbsDiff).toBe(Infinity);
  });
});

describe('compareTrace: dumps written by trace --json, and wrong references', () => {
  it('a trace read back from its JSON is a reference that agrees with itself', async () => {
    const trace = await traceSentence(encoderFor('tiny'), { text: 'Reading a model, one stage at a time.' });
    const reference = parseReferenceDump(JSON.parse(traceToJson(trace)));
    expect(reference.mean_pooled).toBeDefined();
    const report = compareTrace(trace, reference);
    expect(report.firstDivergence).toBeNull();
    // 9 significant digits give float32 values back exactly: each one rounds to the value it came from.
    for (let s = 0; s < trace.hidden_states.length; s++) {
      const ours = trace.hidden_states[s]![0]!.flat();
      const read = reference.hidden_states![s]![0]!.flat();
      expect(read.map(Math.fround)).toEqual(ours);
    }
  });

  it('a reference made with another checkpoint is refused with a clear message', async () => {
    const full = fixture('full', 'hello_world');
    const trace = await traceRow('tiny', full);
    expect(() => compareTrace(trace, full)).toThrow(TraceReferenceError);
    expect(() => compareTrace(trace, full)).toThrow(/7 hidden states .* but the model has 2 layers/);
    const noHidden = { ...full, hidden_states: undefined } as ReferenceDump;
    expect(() => compareTrace(trace, noHidden)).toThrow(/384 values but the model's hidden size is 32/);
  });

  it('malformed references and rows are named', () => {
    expect(() => parseReferenceDump([])).toThrow(TraceReferenceError);
    expect(() => parseReferenceDump({ input_ids: [[101, 102]] })).toThrow(/"sentence_embedding"/);
    expect(() => parseReferenceDump({ input_ids: [[101]], sentence_embedding: [[0]], hidden_states: [[1]] })).toThrow(/"hidden_states" must be a non-empty array nested 4 deep/);
    expect(() => parseReferenceDump({ input_ids: [[101], [102]], sentence_embedding: [[0]] })).toThrow(/2 rows of input_ids but 1/);
    expect(() => referenceSequence(fixture('tiny', 'hello_world'), 3)).toThrow(/row 3 does not exist: the reference has 1 row/);
  });
});
