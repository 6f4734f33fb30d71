/**
 * Soak test of `minilm serve`: concurrent clients for a long time (default 10 minutes) while the
 * server's resident memory is sampled from GET /health; reports whether RSS stays flat. Every
 * answer is checked against `embed()` as in the load test. Stops by itself.
 *
 *   npx tsx bench/server-soak.ts                     tiny model, 8 clients, 10 minutes
 *   npx tsx bench/server-soak.ts --minutes 3 --model full --clients 4 --write
 *
 * Flat means: after the first fifth of the run (warm-up: workspaces sized, JIT done), the mean
 * RSS of the last fifth exceeds that of the second fifth by less than 10 % and less than 32 MB.
 * The tiny model is the default because it pushes the most requests (and so the most
 * allocations per second) through the HTTP, batching and serialisation code around the model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSentenceEncoder } from '../src/node.ts';
import { writeSyntheticModelFolder, type SyntheticVariant } from '../src/node/synthetic-folder.ts';
import { corpusSentences, health, machineLine, runClients, startServerProcess, writeResultsSection, type ClientResult } from './server-load.ts';

const MB = 1024 * 1024;

interface Sample {
  seconds: number;
  rssMb: number;
  heapMb: number;
  requests: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      model: { type: 'string', default: 'tiny' },
      clients: { type: 'string', default: '8' },
      'sample-seconds': { type: 'string', default: '5' },
      write: { type: 'boolean', default: false },
    },
  });
  const variant = values.model as SyntheticVariant;
  if (variant !== 'full' && variant !== 'tiny') throw new Error('--model must be full or tiny');
  const minutes = Number(values.minutes);
  const clients = Number(values.clients);
  const sampleMs = Number(values['sample-seconds']) * 1000;
  const folder = mkdtempSync(join(tmpdir(), 'minilm-server-soak-'));
  try {
    await writeSyntheticModelFolder(variant, folder);
    const pool = corpusSentences();
    const encoder = await loadSentenceEncoder(folder);
    const expected = await encoder.embed(pool);
    encoder.dispose();

    const server = await startServerProcess(folder);
    const samples: Sample[] = [];
    const total: ClientResult = { requests: 0, checked: 0, failures: 0, wrongVectors: 0, elapsedSeconds: 0, latenciesMs: [] };
    try {
      const started = performance.now();
      const deadline = started + minutes * 60_000;
      let stop = false;
      const sampler = (async () => {
        while (!stop) {
          const h = await health(server.origin);
          samples.push({ seconds: (performance.now() - started) / 1000, rssMb: h.memory.rss_bytes / MB, heapMb: h.memory.heap_used_bytes / MB, requests: h.batches.sequences });
          await new Promise((resolve) => setTimeout(resolve, sampleMs));
        }
      })();
      // Client runs of 30 s back to back, so progress is printed and latencies do not pile up.
      while (performance.now() < deadline) {
        const seconds = Math.min(30, (deadline - performance.now()) / 1000);
        const run = await runClients({ origin: server.origin, concurrency: clients, seconds, warmUp: false, pool, expected });
        total.requests += run.checked;
        total.failures += run.failures;
        total.wrongVectors += run.wrongVectors;
        total.firstProblem ??= run.firstProblem;
        const last = samples[samples.length - 1];
        console.log(`${((performance.now() - started) / 60_000).toFixed(1)} min: ${total.requests} requests, ${total.failures} failed, ${total.wrongVectors} wrong; server RSS ${last?.rssMb.toFixed(1)} MB, heap ${last?.heapMb.toFixed(1)} MB`);
      }
      stop = true;
      await sampler;
      total.elapsedSeconds = (performance.now() - started) / 1000;
    } finally {
      await server.stop();
    }

    const fifth = Math.max(1, Math.floor(samples.length / 5));
    const mean = (list: Sample[], key: 'rssMb' | 'heapMb'): number => list.reduce((sum, s) => sum + s[key], 0) / list.length;
    const early = samples.slice(fifth, 2 * fifth);
    const late = samples.slice(samples.length - fifth);
    const growthMb = mean(late, 'rssMb') - mean(early, 'rssMb');
    const growthPercent = (100 * growthMb) / mean(early, 'rssMb');
    const flat = growthMb < 32 && growthPercent < 10;
    const every = Math.max(1, Math.floor(samples.length / 10));
    const table = [
      `Server soak (\`npx tsx bench/server-soak.ts --minutes ${minutes} --model ${variant} --clients ${clients}\`): ${machineLine()}.`,
      `${total.requests} requests in ${(total.elapsedSeconds / 60).toFixed(1)} min (${(total.requests / total.elapsedSeconds).toFixed(1)} req/s), ${total.failures} failed, ${total.wrongVectors} wrong vectors.`,
      `Server RSS: ${mean(early, 'rssMb').toFixed(1)} MB (mean of the 2nd fifth) → ${mean(late, 'rssMb').toFixed(1)} MB (mean of the last fifth): ${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB (${growthPercent.toFixed(1)} %), peak ${Math.max(...samples.map((s) => s.rssMb)).toFixed(1)} MB: **${flat ? 'flat' : 'GROWING'}**.`,
      '',
      '| minute | server RSS MB | heap used MB | inputs embedded |',
      '| ---: | ---: | ---: | ---: |',
      ...samples.filter((_, i) => i % every === 0 || i === samples.length - 1).map((s) => `| ${(s.seconds / 60).toFixed(1)} | ${s.rssMb.toFixed(1)} | ${s.heapMb.toFixed(1)} | ${s.requests} |`),
    ].join('\n');
    console.log(`\n${table}`);
    if (values.write) writeResultsSection(`server-soak-${variant}`, table);
    return flat && total.failures === 0 && total.wrongVectors === 0 ? 0 : 1;
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
