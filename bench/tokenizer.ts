/**
 * Tokenizer throughput: minilm-ts's BertTokenizer against the Transformers.js tokenizer, on the
 * texts of bench/corpus.json (`short`: 256 sentences of 12-16 tokens; `passages`: 64 passages of
 * ~128 tokens). Reports tokens per second ([CLS] and [SEP] counted, padding not), as the median
 * of several timed runs after one warm-up run.
 *
 * Two ways of calling each tokenizer:
 *   single  one text at a time, ids only: ours `tokenize(text)`, theirs `tokenizer.encode(text)`
 *   batch   32 short / 16 passages at a time, padded, with attention masks:
 *           ours `encodeBatch(texts)`, theirs `tokenizer(texts, { padding, truncation })`
 *           (which also builds its int64 tensors: that is part of what a caller pays)
 *
 * Before timing, both tokenizers' ids are compared with the ids stored in the corpus.
 * Transformers.js is installed in bench/peers (`cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip
 * npm ci`); without it, only our tokenizer is measured.
 *
 *   npm run bench:tokenizer -- [--runs 7] [--min-ms 200]
 *
 * The machine may be shared: compare the two engines within one run, not across runs.
 */

import fs from 'node:fs';
import path from 'node:path';
import { BertTokenizer } from '../src/tokenizer/index.ts';
import { intOption, parseArgs } from './lib/args.ts';
import { corpusPath, modelFilesDir, peerInstalled, peerVersion } from './lib/paths.ts';
import { median } from './lib/stats.ts';
import { importPeer } from './peers/import-peer.mjs';

const PEER = '@huggingface/transformers';
const MAX_LENGTH = 256;

/** What the bench needs of a tokenizer, whichever engine it is. */
interface Contender {
  name: string;
  /** Ids of one text, with [CLS] and [SEP]. */
  single(text: string): number[];
  /** Pads and masks a batch; returns nothing (we time it, the ids were checked via `single`). */
  batch(texts: string[]): void;
}

/** The part of the Transformers.js tokenizer API used here. */
interface PeerTokenizer {
  encode(text: string): number[];
  (texts: string[], options: { padding: boolean; truncation: boolean; max_length: number }): unknown;
}
interface PeerModule {
  AutoTokenizer: { from_pretrained(model: string): Promise<PeerTokenizer> };
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string };
}

interface Workload {
  name: string;
  texts: string[];
  expectedIds: number[][];
  batchSize: number;
}

function loadWorkloads(): Workload[] {
  const corpus = JSON.parse(fs.readFileSync(corpusPath, 'utf8')) as {
    short: string[];
    passages: string[];
    shortIds: number[][];
    passageIds: number[][];
  };
  return [
    { name: 'short', texts: corpus.short, expectedIds: corpus.shortIds, batchSize: 32 },
    { name: 'passages', texts: corpus.passages, expectedIds: corpus.passageIds, batchSize: 16 },
  ];
}

function ours(): Contender {
  const vocabText = fs.readFileSync(path.join(modelFilesDir, 'vocab.txt'), 'utf8');
  const tokenizer = BertTokenizer.fromVocab(vocabText, { maxLength: MAX_LENGTH });
  return {
    name: 'minilm-ts',
    single: (text) => tokenizer.tokenize(text),
    batch: (texts) => void tokenizer.encodeBatch(texts),
  };
}

async function transformersJs(): Promise<Contender | undefined> {
  if (!peerInstalled(PEER)) {
    console.log(`skipping Transformers.js: ${PEER} is not installed in bench/peers ` + '(cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm ci)');
    return undefined;
  }
  const { AutoTokenizer, env } = (await importPeer(PEER)) as PeerModule;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(modelFilesDir) + path.sep;
  const tokenizer = await AutoTokenizer.from_pretrained(path.basename(modelFilesDir));
  return {
    name: `Transformers.js ${peerVersion(PEER)}`,
    single: (text) => tokenizer.encode(text),
    batch: (texts) => void tokenizer(texts, { padding: true, truncation: true, max_length: MAX_LENGTH }),
  };
}

/** How many texts of the workload give ids different from the corpus's. */
function countMismatches(contender: Contender, workload: Workload): number {
  let mismatches = 0;
  workload.texts.forEach((text, i) => {
    const ids = contender.single(text);
    const expected = workload.expectedIds[i]!;
    if (ids.length !== expected.length || ids.some((id, t) => id !== expected[t])) mismatches++;
  });
  return mismatches;
}

/** Runs `pass` repeatedly for at least minMs; returns passes per second. */
function timePasses(pass: () => void, minMs: number): number {
  let passes = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    pass();
    passes++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (passes * 1000) / elapsed;
}

function measure(contender: Contender, workload: Workload, mode: 'single' | 'batch', runs: number, minMs: number): number {
  const tokensPerPass = workload.expectedIds.reduce((sum, ids) => sum + ids.length, 0);
  const batches: string[][] = [];
  for (let i = 0; i < workload.texts.length; i += workload.batchSize) batches.push(workload.texts.slice(i, i + workload.batchSize));
  const pass =
    mode === 'single'
      ? () => {
          for (const text of workload.texts) contender.single(text);
        }
      : () => {
          for (const batch of batches) contender.batch(batch);
        };
  timePasses(pass, minMs); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) rates.push(timePasses(pass, minMs) * tokensPerPass);
  return median(rates);
}

function formatRate(tokensPerSecond: number): string {
  return `${(tokensPerSecond / 1e6).toFixed(2)} M tok/s`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { runs: 'string', 'min-ms': 'string' });
  const runs = intOption(args, 'runs', 7);
  const minMs = intOption(args, 'min-ms', 200);
  const workloads = loadWorkloads();
  const contenders = [ours()];
  const peer = await transformersJs();
  if (peer !== undefined) contenders.push(peer);

  for (const contender of contenders) {
    for (const workload of workloads) {
      const mismatches = countMismatches(contender, workload);
      console.log(`${contender.name}, ${workload.name}: ${workload.texts.length - mismatches}/${workload.texts.length} texts give the corpus ids`);
    }
  }

  console.log(`\nmedian of ${runs} runs of >= ${minMs} ms each, tokens per second ([CLS]/[SEP] counted, padding not)`);
  const rows: string[][] = [['workload', 'mode', ...contenders.map((c) => c.name), ...(peer ? ['ratio'] : [])]];
  for (const workload of workloads) {
    for (const mode of ['single', 'batch'] as const) {
      const rates = contenders.map((c) => measure(c, workload, mode, runs, minMs));
      const row = [workload.name, mode, ...rates.map(formatRate)];
      if (peer) row.push(`${(rates[0]! / rates[1]!).toFixed(2)}x`);
      rows.push(row);
    }
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  for (const row of rows) console.log(row.map((cell, col) => cell.padEnd(widths[col]!)).join('  '));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
