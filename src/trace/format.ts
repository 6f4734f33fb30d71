/**
 * A trace and a comparison as text for people, and a trace as JSON for machines.
 *
 * The text is what `minilm trace` prints: the tokens, one line of statistics per stage, one line
 * of attention per layer, the first values of the sentence embedding, and (with a reference) one
 * line per stage with its max difference. Numbers use 4 decimals, or 3 significant digits in
 * exponent form when they are tiny or huge, so the columns line up.
 *
 * JSON numbers are written with 9 significant digits: enough to give back every float32 exactly,
 * half the size of the 17 digits a float64 would take.
 */

import type { ComparisonReport, StageDifference } from './compare.ts';
import type { SentenceTrace } from './trace.ts';

export interface FormatOptions {
  /** How many values of the final vector to print (default 8). */
  firstValues?: number;
}

/** A number in at most 10 characters: fixed with 4 decimals, or exponent form outside [1e-3, 1e5). */
export function formatNumber(value: number): string {
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e5) return value.toFixed(4);
  return value.toExponential(2);
}

/** The text of a trace. */
export function formatTrace(trace: SentenceTrace, options: FormatOptions = {}): string {
  const firstValues = options.firstValues ?? 8;
  const { model } = trace;
  const L = trace.tokens.length;
  const lines: string[] = [];

  const name = model.name === null ? 'model' : model.name;
  lines.push(
    `${name}: H ${model.hiddenSize}, ${model.numLayers} layers, ${model.numHeads} heads of ${model.headSize}, ` +
      `feed-forward ${model.intermediateSize}, ${model.pooling} pooling${model.normalize ? ', L2-normalised' : ''}`,
  );
  if (trace.text !== null) lines.push(`text: ${JSON.stringify(trace.text)}`);
  const truncated = trace.untruncated_length > L ? ` (truncated from ${trace.untruncated_length} to maxSeqLength ${model.maxSeqLength})` : '';
  lines.push(`tokens (${L})${truncated}: ${trace.tokens.join(' ')}`);
  lines.push(`ids: ${trace.input_ids[0]!.join(' ')}`);
  if (trace.token_type_ids[0]!.some((t) => t !== 0)) lines.push(`token types: ${trace.token_type_ids[0]!.join(' ')}`);
  lines.push('');

  const table: string[][] = [['stage', 'shape', 'mean', 'std', 'min', 'max', 'L2 norm']];
  for (const stage of trace.stages) {
    const { mean, std, min, max, l2 } = stage.stats;
    table.push([stage.label, `[${stage.shape.join(', ')}]`, ...[mean, std, min, max, l2].map(formatNumber)]);
  }
  lines.push(...alignColumns(table, [false, false, true, true, true, true, true]));
  lines.push('');

  lines.push(
    `attention per layer: strongest query → key links (probability averaged over the ${model.numHeads} heads), ` +
      'then the key each head attends to most',
  );
  const label = tokenLabeller(trace.tokens);
  for (const layer of trace.attention) {
    const links = layer.links.map((l) => `${label(l.from)} → ${label(l.to)} ${l.weight.toFixed(2)}`).join('   ');
    const counts = new Map<number, number>();
    for (const head of layer.heads) counts.set(head.token, (counts.get(head.token) ?? 0) + 1);
    const focus = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .map(([token, count]) => `${label(token)} ×${count}`)
      .join(', ');
    lines.push(`  layer ${layer.layer}: ${links}   | heads: ${focus}`);
  }
  lines.push('');

  const vector = trace.sentence_embedding[0]!;
  const shown = vector.slice(0, firstValues).map((v) => v.toFixed(4)).join(' ');
  lines.push(`sentence embedding [${vector.length}], first ${Math.min(firstValues, vector.length)}: ${shown}${vector.length > firstValues ? ' …' : ''}`);
  return lines.join('\n');
}

/** The text of a comparison: one line per stage, then the verdict. */
export function formatComparison(report: ComparisonReport, trace: SentenceTrace, referenceName = 'the reference'): string {
  const label = tokenLabeller(trace.tokens);
  const table: string[][] = [['stage', 'max |ours − ref|', 'tolerance', 'status']];
  for (const stage of report.stages) {
    table.push([
      stage.label,
      stage.maxAbsDiff === null ? '-' : stage.maxAbsDiff.toExponential(2),
      stage.tolerance === null ? '-' : stage.tolerance.toExponential(0),
      statusText(stage, label),
    ]);
  }
  const lines = [`compared with ${referenceName}${report.row === 0 ? '' : `, row ${report.row}`}:`];
  lines.push(...alignColumns(table, [false, true, true, false]));
  const first = report.firstDivergence;
  if (first === null) {
    const compared = report.stages.filter((s) => s.status === 'ok').length;
    lines.push(`no divergence: all ${compared} compared stages agree within tolerance`);
  } else if (first.maxAbsDiff === null) {
    lines.push(`first divergence: ${first.label} (${first.note})`);
  } else {
    lines.push(
      `first divergence: ${first.label} (max abs diff ${first.maxAbsDiff.toExponential(2)} > tolerance ${first.tolerance!.toExponential(0)})`,
    );
  }
  return lines.join('\n');
}

function statusText(stage: StageDifference, label: (k: number) => string): string {
  if (stage.status === 'ok') return stage.id === 'tokens' ? 'identical' : 'ok';
  if (stage.status !== 'diverges') return `${stage.status}: ${stage.note}`;
  if (stage.worst === null) return `DIVERGES: ${stage.note}`;
  const { token, index, ours, reference } = stage.worst;
  const where = token === null ? `value ${index}` : `token ${token} (${label(token)}), dim ${index}`;
  // Six significant digits: enough to see the difference even when it is far below the value.
  const precise = (v: number): string => (Number.isFinite(v) ? v.toPrecision(6) : String(v));
  return `DIVERGES at ${where}: ours ${precise(ours)}, reference ${precise(reference)}`;
}

/** The trace as JSON, numbers rounded to 9 significant digits (exact for float32 values). */
export function traceToJson(trace: SentenceTrace): string {
  return JSON.stringify(trace, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isInteger(value) && Number.isFinite(value) ? Number(value.toPrecision(9)) : value,
  );
}

/** Token k as its string, with its index added when the string occurs more than once. */
function tokenLabeller(tokens: readonly string[]): (k: number) => string {
  const counts = new Map<string, number>();
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  return (k) => (counts.get(tokens[k]!)! > 1 ? `${tokens[k]}#${k}` : tokens[k]!);
}

/** Rows of cells padded into columns separated by two spaces; numeric columns right-aligned. */
function alignColumns(table: string[][], rightAligned: boolean[]): string[] {
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => [...row[c]!].length)));
  return table.map((row) =>
    row
      .map((cell, c) => {
        const pad = ' '.repeat(widths[c]! - [...cell].length);
        const last = c === row.length - 1;
        return rightAligned[c] ? pad + cell : last ? cell : cell + pad;
      })
      .join('  '),
  );
}
