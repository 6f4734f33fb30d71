/**
 * How fast the model's matmuls run inside a forward pass, against the same kernel alone.
 *
 *   npm run bench:matmul-share                       # 'js' backend (the tiled kernel), 1 thread
 *   npm run bench:matmul-share -- --backend simd --batches 3
 *
 * The encoder runs the passage workload of bench/corpus.json (batches of 16 passages of ~128
 * tokens) on the synthetic full-size checkpoint, through a backend wrapper that times every
 * `linear` call and counts its multiply-adds by shape. Then the bare backend runs each of those
 * shapes alone, on random data of the same size, in a loop. The ratio says what the rest of the
 * forward pass costs the matmuls (caches evicted by attention and LayerNorm, first calls after
 * other code): 100% means the matmuls run end to end as fast as in isolation.
 * Wall-clock time; the machine's load average is printed, since a busy machine moves both.
 */

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { SentenceEncoder } from '../src/model/sentence-encoder.ts';
import { resolveBackend, type BackendName } from '../src/model/backend-choice.ts';
import { SYNTHETIC_FULL, generateSyntheticCheckpoint } from '../src/model/synthetic.ts';
import type { LinearActivation, LinearBackend, PreparedLinear } from '../src/tensor/backend.ts';

interface ShapeTotals {
  rows: number;
  inFeatures: number;
  outFeatures: number;
  activation: LinearActivation;
  calls: number;
  seconds: number;
  multiplyAdds: number;
}

function parseOptions(args: string[]): { backend: BackendName; batches: number } {
  const options = { backend: 'js' as BackendName, batches: 2 };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--backend') options.backend = args[++i] as BackendName;
    else if (args[i] === '--batches') options.batches = Number(args[++i]);
    else throw new Error(`unknown argument ${args[i]} (expected --backend js|simd, --batches N)`);
  }
  return options;
}

/** Wraps `inner`, timing each linear call by (rows, K, N, activation). */
function timingBackend(inner: LinearBackend, totals: Map<string, ShapeTotals>): LinearBackend {
  const wrapper: LinearBackend = {
    name: `timed ${inner.name}`,
    prepare: (weight, outFeatures, inFeatures) => inner.prepare(weight, outFeatures, inFeatures),
    allocate: (length) => inner.allocate(length),
    dispose: () => inner.dispose(),
    linear(out, x, weight: PreparedLinear, bias, rows, activation = 'none') {
      const started = performance.now();
      inner.linear(out, x, weight, bias, rows, activation);
      const seconds = (performance.now() - started) / 1000;
      const key = `${rows}×${weight.inFeatures}→${weight.outFeatures} ${activation}`;
      const entry = totals.get(key) ?? {
        rows, inFeatures: weight.inFeatures, outFeatures: weight.outFeatures, activation, calls: 0, seconds: 0, multiplyAdds: 0,
      };
      entry.calls++;
      entry.seconds += seconds;
      entry.multiplyAdds += rows * weight.inFeatures * weight.outFeatures;
      totals.set(key, entry);
    },
  };
  if (inner.attention !== undefined) wrapper.attention = inner.attention.bind(inner);
  return wrapper;
}

/** GFLOPS of `backend` alone on one shape: calls repeated for at least 1 s. */
function kernelAlone(backend: LinearBackend, shape: ShapeTotals): number {
  const { rows, inFeatures, outFeatures, activation } = shape;
  const weight = new Float32Array(outFeatures * inFeatures).map((_, i) => Math.sin(i) * 0.05);
  const bias = new Float32Array(outFeatures).fill(0.01);
  const prepared = backend.prepare(weight, outFeatures, inFeatures);
  const block = backend.allocate(rows * (inFeatures + outFeatures));
  const x = block.subarray(0, rows * inFeatures).map((_, i) => Math.cos(i));
  block.set(x);
  const out = block.subarray(rows * inFeatures);
  backend.linear(out, block.subarray(0, rows * inFeatures), prepared, bias, rows, activation); // warm-up
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < 1000) {
    backend.linear(out, block.subarray(0, rows * inFeatures), prepared, bias, rows, activation);
    calls++;
  }
  const seconds = (performance.now() - started) / 1000;
  return (2 * calls * rows * inFeatures * outFeatures) / seconds / 1e9;
}

async function main(): Promise<void> {
  const { backend: backendName, batches } = parseOptions(process.argv.slice(2));
  const corpus = JSON.parse(readFileSync(new URL('./corpus.json', import.meta.url), 'utf8')) as { passageIds: number[][] };
  const config = SYNTHETIC_FULL.config;
  const weights = generateSyntheticCheckpoint(SYNTHETIC_FULL);
  const totals = new Map<string, ShapeTotals>();
  const inner = await resolveBackend({ backend: backendName });
  const encoder = SentenceEncoder.fromParts({
    config,
    weights,
    vocab: readFileSync(new URL('../weights/all-MiniLM-L6-v2/vocab.txt', import.meta.url), 'utf8'),
    backend: timingBackend(inner, totals),
  });
  console.log(`backend ${backendName}, 1 thread; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const batch = (b: number) => corpus.passageIds.slice(16 * b, 16 * (b + 1)).map((ids) => ({ inputIds: ids }));
  await encoder.embedTokenIds(batch(0)); // warm-up: JIT, workspace
  totals.clear();
  const started = performance.now();
  for (let b = 1; b <= batches; b++) await encoder.embedTokenIds(batch(b));
  const forwardSeconds = (performance.now() - started) / 1000;

  const alone = await resolveBackend({ backend: backendName });
  let matmulSeconds = 0;
  let aloneSeconds = 0;
  console.log('\n| shape (rows × K → N) | calls | end to end GFLOPS | alone GFLOPS | ratio |\n| --- | ---: | ---: | ---: | ---: |');
  for (const [key, shape] of totals) {
    const endToEnd = (2 * shape.multiplyAdds) / shape.seconds / 1e9;
    const isolated = kernelAlone(alone, shape);
    matmulSeconds += shape.seconds;
    aloneSeconds += (2 * shape.multiplyAdds) / (isolated * 1e9);
    console.log(`| ${key} | ${shape.calls} | ${endToEnd.toFixed(2)} | ${isolated.toFixed(2)} | ${((100 * endToEnd) / isolated).toFixed(0)}% |`);
  }
  const flops = 2 * [...totals.values()].reduce((sum, s) => sum + s.multiplyAdds, 0);
  console.log(
    `\nall matmuls: ${(flops / matmulSeconds / 1e9).toFixed(2)} GFLOPS end to end vs ${(flops / aloneSeconds / 1e9).toFixed(2)} alone ` +
      `(${((100 * aloneSeconds) / matmulSeconds).toFixed(0)}%); matmuls took ${((100 * matmulSeconds) / forwardSeconds).toFixed(0)}% ` +
      `of the ${forwardSeconds.toFixed(1)} s of ${batches} batches; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  encoder.dispose();
  alone.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
