/**
 * The text and JSON forms of a trace: every stage, layer and token appears, the numbers printed
 * are the trace's own (read back from the text), and the JSON keeps float32 values exactly.
 */
import { describe, expect, it } from 'vitest';
import { SentenceEncoder } from '../../src/model/sentence-encoder.ts';
import { compareTrace, parseReferenceDump } from '../../src/trace/compare.ts';
import { formatComparison, formatNumber, formatTrace, traceToJson } from '../../src/trace/format.ts';
import { traceSentence } from '../../src/trace/trace.ts';
import { RECIPES, realVocab, syntheticWeights } from '../helpers/checkpoints.ts';

const encoder = SentenceEncoder.fromParts({ config: RECIPES.tiny.config, weights: syntheticWeights('tiny'), vocab: realVocab() });

describe('formatNumber', () => {
  it('uses 4 decimals in [1e-3, 1e5) and exponent form elsewhere', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(1.23456)).toBe('1.2346');
    expect(formatNumber(-0.0012345)).toBe('-0.0012');
    expect(formatNumber(0.00012345)).toBe('1.23e-4');
    expect(formatNumber(123456)).toBe('1.23e+5');
    expect(formatNumber(Infinity)).toBe('Infinity');
  });
});

describe('formatTrace', async () => {
  const trace = await traceSentence(encoder, { text: 'the cat and the hat' }, { modelName: 'tiny-model' });
  const text = formatTrace(trace, { firstValues: 5 });
  const lines = text.split('\n');

  it('names the model, the text and every token and id', () => {
    expect(lines[0]).toMatch(/^tiny-model: H 32, 2 layers, 4 heads of 8, feed-forward 64, mean pooling, L2-normalised$/);
    expect(text).toContain('text: "the cat and the hat"');
    expect(text).toContain(`tokens (7): ${trace.tokens.join(' ')}`);
    expect(text).toContain(`ids: ${trace.input_ids[0]!.join(' ')}`);
  });

  it('prints one row per stage whose numbers are the trace statistics', () => {
    for (const stage of trace.stages) {
      const row = lines.find((l) => l.startsWith(`${stage.label} `));
      expect(row, stage.label).toBeDefined();
      const numbers = row!.slice(row!.indexOf(']') + 1).trim().split(/\s+/).map(Number);
      const { mean, std, min, max, l2 } = stage.stats;
      [mean, std, min, max, l2].forEach((value, k) => expect(numbers[k]).toBeCloseTo(value, 3));
    }
  });

  it('prints one attention line per layer, telling repeated tokens apart', () => {
    const attentionLines = lines.filter((l) => /^ {2}layer \d+: /.test(l));
    expect(attentionLines.length).toBe(2);
    const first = trace.attention[0]!.links[0]!;
    const label = (k: number): string => (trace.tokens[k] === 'the' ? `the#${k}` : trace.tokens[k]!);
    expect(attentionLines[0]).toContain(`${label(first.from)} → ${label(first.to)} ${first.weight.toFixed(2)}`);
    expect(attentionLines.join('\n')).not.toMatch(/\bthe\b(?!#)/);
    const headCounts = [...attentionLines[1]!.matchAll(/×(\d+)/g)].map((m) => Number(m[1]));
    expect(headCounts.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('ends with the first values of the sentence embedding', () => {
    const shown = trace.sentence_embedding[0]!.slice(0, 5).map((v) => v.toFixed(4)).join(' ');
    expect(lines.at(-1)).toBe(`sentence embedding [32], first 5: ${shown} …`);
  });

  it('reports truncation', async () => {
    const short = SentenceEncoder.fromParts({ config: RECIPES.tiny.config, weights: syntheticWeights('tiny'), vocab: realVocab(), maxSeqLength: 4 });
    expect(formatTrace(await traceSentence(short, { text: 'the cat and the hat' }))).toContain('tokens (4) (truncated from 7 to maxSeqLength 4)');
  });

  it('writes JSON that parses back to the same trace, up to float32 precision', () => {
    const json = traceToJson(trace);
    const parsed = JSON.parse(json);
    expect(parsed.format).toBe('minilm-trace-v1');
    expect(parsed.tokens).toEqual(trace.tokens);
    expect(parsed.input_ids).toEqual(trace.input_ids);
    expect(parsed.sentence_embedding[0].map(Math.fround)).toEqual(trace.sentence_embedding[0]);
    expect(json.length).toBeLessThan(JSON.stringify(trace).length);
  });

  it('words a comparison: the table and the verdict', () => {
    const reference = parseReferenceDump(JSON.parse(traceToJson(trace)));
    reference.hidden_states![2]![0]![2]![3]! += 0.25;
    const report = compareTrace(trace, reference);
    const out = formatComparison(report, trace, 'mine.json');
    expect(out.split('\n')[0]).toBe('compared with mine.json:');
    expect(out).toMatch(/^tokens +- +- +identical$/m);
    expect(out).toMatch(/^layer 2 +2\.50e-1 +1e-4 +DIVERGES at token 2 \(cat\), dim 3: ours /m);
    expect(out.split('\n').at(-1)).toBe('first divergence: layer 2 (max abs diff 2.50e-1 > tolerance 1e-4)');
  });
});
