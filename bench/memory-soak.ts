/**
 * Memory soak of the engine, in process: embeds many short sentences in a loop, batch after
 * batch, sampling the resident set size (RSS) and the JS heap every N batches, and reports
 * whether RSS stays flat. Optionally also one enormous input (10 MB of text): time and memory.
 *
 *   npx tsx bench/memory-soak.ts                                 tiny model, 100 000 sentences
 *   npx tsx bench/memory-soak.ts --model full --sentences 500 --every 2
 *   npx tsx bench/memory-soak.ts --mode stream --huge --write
 *
 * --mode embed   calls `encoder.embed(batch)` per batch (what an application loop does);
 * --mode stream  feeds a generator of all sentences to `embedStream` (src/api/stream.ts).
 * Flat means: the mean RSS of the last fifth of the samples exceeds that of the second fifth
 * (the first fifth is warm-up: workspace sizing, JIT) by less than 10 % and less than 32 MB.
 * --write puts the result into bench/SERVER-RESULTS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { embedStream } from '../src/api/stream.ts';
import { loadSentenceEncoder } from '../src/node.ts';
import { writeSyntheticModelFolder, type SyntheticVariant } from '../src/node/synthetic-folder.ts';
import { corpusSentences, machineLine, writeResultsSection } from './server-load.ts';

const MB = 1024 * 1024;

interface Sample {
  sentences: number;
  seconds: number;
  rssMb: number;
  heapMb: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'tiny' },
      sentences: { type: 'string', default: '100000' },
      batch: { type: 'string', default: '64' },
      every: { type: 'string', default: '50' },
      mode: { type: 'string', default: 'embed' },
      huge: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
    },
  });
  const variant = values.model as SyntheticVariant;
  if (variant !== 'full' && variant !== 'tiny') throw new Error('--model must be full or tiny');
  const mode = values.mode;
  if (mode !== 'embed' && mode !== 'stream') throw new Error('--mode must be embed or stream');
  const count = Number(values.sentences);
  const batchSize = Number(values.batch);
  const every = Number(values.every);

  const folder = mkdtempSync(join(tmpdir(), 'minilm-memory-soak-'));
  try {
    await writeSyntheticModelFolder(variant, folder);
    const encoder = await loadSentenceEncoder(folder);
    const corpus = corpusSentences();
    // Short sentences, all different: a corpus sentence with a running number.
    const sentence = (i: number): string => `${corpus[i % corpus.length]} (${i})`;
    function* allSentences(): Generator<string> {
      for (let i = 0; i < count; i++) yield sentence(i);
    }

    const samples: Sample[] = [];
    const started = performance.now();
    let done = 0;
    let batches = 0;
    let checksum = 0; // keeps the results observably used
    const record = (): void => {
      samples.push({ sentences: done, seconds: (performance.now() - started) / 1000, rssMb: process.memoryUsage.rss() / MB, heapMb: process.memoryUsage().heapUsed / MB });
      if (samples.length % 10 === 0) {
        const s = samples[samples.length - 1]!;
        console.log(`${s.sentences} sentences, ${s.seconds.toFixed(0)} s: RSS ${s.rssMb.toFixed(1)} MB, heap ${s.heapMb.toFixed(1)} MB`);
      }
    };
    record();
    if (mode === 'embed') {
      for (let start = 0; start < count; start += batchSize) {
        const batch = Array.from({ length: Math.min(batchSize, count - start) }, (_, k) => sentence(start + k));
        const vectors = await encoder.embed(batch, { batchSize });
        checksum += vectors[0]![0]!;
        done += batch.length;
        if (++batches % every === 0) record();
      }
    } else {
      for await (const batch of embedStream(encoder, allSentences(), { batchSize })) {
        checksum += batch.embeddings.data[0]!;
        done += batch.texts.length;
        if (++batches % every === 0) record();
      }
    }
    record();
    const seconds = (performance.now() - started) / 1000;

    const fifth = Math.max(1, Math.floor(samples.length / 5));
    const mean = (list: Sample[], key: 'rssMb' | 'heapMb'): number => list.reduce((sum, s) => sum + s[key], 0) / list.length;
    const early = samples.slice(fifth, 2 * fifth);
    const late = samples.slice(samples.length - fifth);
    const growthMb = mean(late, 'rssMb') - mean(early, 'rssMb');
    const growthPercent = (100 * growthMb) / mean(early, 'rssMb');
    const flat = growthMb < 32 && growthPercent < 10;
    const step = Math.max(1, Math.floor(samples.length / 8));

    const lines = [
      `Engine memory soak (\`npx tsx bench/memory-soak.ts --model ${variant} --mode ${mode} --sentences ${count} --batch ${batchSize}\`): ${machineLine()}.`,
      `${done} sentences in ${seconds.toFixed(0)} s (${(done / seconds).toFixed(0)}/s); RSS ${mean(early, 'rssMb').toFixed(1)} MB (2nd fifth) → ${mean(late, 'rssMb').toFixed(1)} MB (last fifth): ${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB (${growthPercent.toFixed(1)} %), peak ${Math.max(...samples.map((s) => s.rssMb)).toFixed(1)} MB: **${flat ? 'flat' : 'GROWING'}**.`,
      '',
      '| sentences | seconds | RSS MB | heap used MB |',
      '| ---: | ---: | ---: | ---: |',
      ...samples.filter((_, i) => i % step === 0 || i === samples.length - 1).map((s) => `| ${s.sentences} | ${s.seconds.toFixed(0)} | ${s.rssMb.toFixed(1)} | ${s.heapMb.toFixed(1)} |`),
    ];

    if (values.huge) {
      const text = 'The quick brown fox jumps over the lazy dog; ünïcödé and 東京 too. '.repeat(160_000);
      const before = process.memoryUsage.rss();
      const hugeStarted = performance.now();
      const vector = await encoder.embed(text);
      const hugeSeconds = (performance.now() - hugeStarted) / 1000;
      const grown = (process.memoryUsage.rss() - before) / MB;
      checksum += vector[0]!;
      lines.push('', `One enormous input: ${(text.length / 1e6).toFixed(1)} M characters embedded in ${hugeSeconds.toFixed(1)} s (truncated to ${encoder.maxSeqLength} tokens), RSS +${grown.toFixed(0)} MB during the call.`);
    }
    encoder.dispose();
    const markdown = lines.join('\n');
    console.log(`\n${markdown}\n(checksum ${checksum.toFixed(3)})`);
    if (values.write) writeResultsSection(`memory-soak-${variant}-${mode}`, markdown);
    return flat ? 0 : 1;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
