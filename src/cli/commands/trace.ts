/**
 * `minilm trace`: one sentence through the model, stage by stage: the tokens, the shape and
 * statistics of every hidden state, the strongest attention links of each layer, the pooled and
 * normalised vector. With --reference it compares every stage with a dump from another
 * implementation (or from an earlier `trace --json`) and names the first stage that diverges.
 *
 * The work is done by src/trace (runtime-neutral, plain data); this file reads the command line
 * and the reference file, and prints.
 *
 * Exit codes: 0, or 1 when --reference finds a divergence (and on errors, like every command).
 */

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { compareTrace, parseReferenceDump, referenceSequence, TraceReferenceError, type ReferenceDump, type Tolerances } from '../../trace/compare.ts';
import { formatComparison, formatTrace, traceToJson } from '../../trace/format.ts';
import { traceSentence, type TraceInput } from '../../trace/trace.ts';
import { parseCommandArgs, positiveIntegerOption, stringOption, UsageError, writeOut, type CliIO, type Command } from '../io.ts';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, openEncoder } from '../model-options.ts';

const OPTIONS = {
  ...MODEL_OPTIONS,
  json: { type: 'boolean' },
  ids: { type: 'string' },
  reference: { type: 'string', short: 'r' },
  row: { type: 'string' },
  tolerance: { type: 'string' },
  top: { type: 'string' },
  values: { type: 'string' },
} as const;

export const traceCommand: Command = {
  name: 'trace',
  summary: 'follow one sentence through every stage; --reference finds the first divergence',
  help: `Usage: minilm trace [options] TEXT
       minilm trace [options] --ids 101,7592,2088,102
       minilm trace [options] --reference FILE

Prints, for one input, the tokens and ids; for each stage (embeddings, every layer, pooling,
normalisation) the tensor's shape, mean, std, min, max and L2 norm; for each layer the strongest
query → key attention links (averaged over the heads) and the token each head attends to most;
and the first values of the sentence embedding.

Options:
      --json               print the whole trace as JSON instead: the statistics, the attention
                           digest and every hidden state ([N+1][1][L][H]), a reference dump
      --ids LIST           comma-separated token ids, [CLS] and [SEP] included: bypass the tokenizer
  -r, --reference FILE     compare every stage with FILE and report the first that diverges:
                           a test/fixtures/reference/*/*.json case or a 'trace --json' output.
                           Without TEXT or --ids, the reference's own ids (and token types) are used
      --row N              which row of a batched reference to compare (default 0)
      --tolerance X        max abs difference allowed at every stage (default: 1e-4 for hidden
                           states and pooling, 1e-5 for the sentence embedding)
      --top K              attention links shown per layer (default 3)
      --values N           values of the sentence embedding shown (default 8)
${MODEL_OPTIONS_HELP}

Examples:
  minilm trace "A man is eating food."
  minilm trace --json "A man is eating food." > mine.json
  minilm trace --synthetic --reference test/fixtures/reference/full/hello_world.json
`,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (values['help']) {
      io.stdout.write(traceCommand.help);
      return 0;
    }
    if (positionals.length > 1) {
      throw new UsageError(`trace takes one text (quote it), got ${positionals.length} arguments`);
    }
    const text = positionals[0];
    const idsOption = stringOption(values, 'ids');
    if (text !== undefined && idsOption !== undefined) throw new UsageError('give a TEXT or --ids, not both');
    const referencePath = stringOption(values, 'reference');
    const row = nonNegativeIntegerOption(values, 'row') ?? 0;
    if (values['row'] !== undefined && referencePath === undefined) throw new UsageError('--row selects a row of --reference; give --reference FILE');
    const tolerance = toleranceOption(values);
    const topLinks = nonNegativeIntegerOption(values, 'top') ?? 3;
    const firstValues = positiveIntegerOption(values, 'values') ?? 8;

    const reference = referencePath === undefined ? undefined : await readReference(resolve(io.cwd, referencePath));
    let input: TraceInput;
    if (text !== undefined) input = { text };
    else if (idsOption !== undefined) input = { ids: parseIds(idsOption) };
    else if (reference !== undefined) {
      const { ids, tokenTypeIds } = userFacing(() => referenceSequence(reference, row));
      input = { ids, tokenTypeIds };
    } else throw new UsageError('nothing to trace: give a TEXT, --ids LIST or --reference FILE (see minilm trace --help)');

    const encoder = await openEncoder(values, io);
    try {
      const trace = await traceSentence(encoder, input, { topLinks, modelName: modelName(values) });
      const report = reference === undefined ? undefined : userFacing(() => compareTrace(trace, reference, { row, ...(tolerance === undefined ? {} : { tolerances: tolerance }) }));
      if (values['json'] === true) {
        const json = traceToJson(trace);
        await writeOut(io.stdout, report === undefined ? `${json}\n` : `${json.slice(0, -1)},"comparison":${JSON.stringify(report)}}\n`);
      } else {
        await writeOut(io.stdout, `${formatTrace(trace, { firstValues })}\n`);
        if (report !== undefined) await writeOut(io.stdout, `\n${formatComparison(report, trace, referencePath)}\n`);
      }
      return report?.firstDivergence == null ? 0 : 1;
    } finally {
      encoder.dispose();
    }
  },
};

/** What the output calls the model: the --model value, the synthetic recipe, or the default. */
function modelName(values: Record<string, unknown>): string {
  if (values['synthetic'] === true) return 'minilm-synth-v1 (synthetic weights)';
  return stringOption(values, 'model') ?? 'sentence-transformers/all-MiniLM-L6-v2';
}

async function readReference(path: string): Promise<ReferenceDump> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`--reference ${path}: no such file`);
    if (code === 'EISDIR') throw new UsageError(`--reference ${path} is a folder; give one JSON file`);
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--reference ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return userFacing(() => parseReferenceDump(json));
}

/** A malformed or mismatched reference is the user's file, not a bug: report it as a usage error. */
function userFacing<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof TraceReferenceError) throw new UsageError(`--reference: ${error.message}`);
    throw error;
  }
}

function parseIds(list: string): number[] {
  const parts = list.split(',').map((part) => part.trim());
  return parts.map((part, i) => {
    if (!/^\d+$/.test(part)) throw new UsageError(`--ids: item ${i + 1} is ${JSON.stringify(part)}, not a token id (a non-negative integer)`);
    return Number(part);
  });
}

function nonNegativeIntegerOption(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function toleranceOption(values: Record<string, unknown>): Tolerances | undefined {
  const raw = values['tolerance'];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`--tolerance must be a number >= 0 (e.g. 1e-4), got ${JSON.stringify(raw)}`);
  }
  return { hidden: value, pooled: value, embedding: value };
}
