/**
 * Matmul benchmark: GFLOPS of the linear backends on the model's shapes.
 *
 *   npm run bench:gemm                        # plain, packed, threaded (2 threads)
 *   npm run bench:gemm -- --threads 4 --reps 7 --skip-plain
 *
 * Shapes are those of all-MiniLM-L6-v2's linear layers (hidden 384, feed-forward 1536) for a
 * large batch (512 token rows) and a short sentence (16 rows). Each backend is first checked
 * against the plain kernel on the shape (bit-identical output expected), then timed: a
 * repetition runs the call until ≥ 0.1 s has passed; the table shows the median over
 * repetitions, the backends taking turns inside each repetition so that a change in machine
 * load hits all of them alike. Wall-clock time: on a shared machine the numbers move with the
 * load, which is printed before and after. Two diagnostics for the threaded backend: the share
 * of rows its workers computed, and the CPU cores the process actually got while it ran (CPU
 * time of all threads / wall time): a speed-up needs that close to the thread count.
 */

import { loadavg, availableParallelism } from 'node:os';
import { plainBackend, type LinearBackend, type PreparedLinear } from '../src/tensor/backend.ts';
import { packedBackend } from '../src/tensor/packed-backend.ts';
import { createThreadedBackend } from '../src/tensor/threaded-backend.ts';
import { spawnNodeLinearWorker } from '../src/node/worker-spawn.ts';

interface Options {
  threads: number;
  reps: number;
  skipPlain: boolean;
}

function parseOptions(args: string[]): Options {
  const options: Options = { threads: 2, reps: 5, skipPlain: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--threads') options.threads = Number(args[++i]);
    else if (arg === '--reps') options.reps = Number(args[++i]);
    else if (arg === '--skip-plain') options.skipPlain = true;
    else throw new Error(`unknown argument ${arg} (expected --threads N, --reps N, --skip-plain)`);
  }
  if (!Number.isInteger(options.threads) || options.threads < 1) throw new Error('--threads needs an integer ≥ 1');
  if (!Number.isInteger(options.reps) || options.reps < 1) throw new Error('--reps needs an integer ≥ 1');
  return options;
}

const SHAPES: Array<{ rows: number; inFeatures: number; outFeatures: number; layer: string }> = [
  { rows: 512, inFeatures: 384, outFeatures: 384, layer: 'attention q/k/v/out' },
  { rows: 512, inFeatures: 384, outFeatures: 1536, layer: 'intermediate (gelu)' },
  { rows: 512, inFeatures: 1536, outFeatures: 384, layer: 'output' },
  { rows: 16, inFeatures: 384, outFeatures: 384, layer: 'attention q/k/v/out' },
  { rows: 16, inFeatures: 384, outFeatures: 1536, layer: 'intermediate (gelu)' },
  { rows: 16, inFeatures: 1536, outFeatures: 384, layer: 'output' },
];

const MIN_REPETITION_SECONDS = 0.1;

function randomArray(length: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 4294967296 - 0.5;
  }
  return data;
}

/** One backend set up for one shape: its own weight, input and output buffers. */
interface Contender {
  name: string;
  run: () => void;
  out: Float32Array;
  gflops: number[]; // one per repetition
  calls: number; // timed calls so far
  wallSeconds: number; // timed so far
  cpuSeconds: number; // CPU time of the whole process (all threads) meanwhile
}

function setUp(backend: LinearBackend, name: string, weight: Float32Array, bias: Float32Array, xValues: Float32Array, shape: (typeof SHAPES)[number]): Contender {
  const { rows, inFeatures, outFeatures, layer } = shape;
  const prepared: PreparedLinear = backend.prepare(weight, outFeatures, inFeatures);
  const x = backend.allocate(rows * inFeatures);
  x.set(xValues);
  const out = backend.allocate(rows * outFeatures);
  const activation = layer.includes('gelu') ? 'gelu' : 'none';
  return { name, out, gflops: [], calls: 0, wallSeconds: 0, cpuSeconds: 0, run: () => backend.linear(out, x, prepared, bias, rows, activation) };
}

function measure(contender: Contender, flops: number): number {
  let calls = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let seconds = 0;
  do {
    contender.run();
    calls++;
    seconds = (performance.now() - start) / 1000;
  } while (seconds < MIN_REPETITION_SECONDS);
  const cpu = process.cpuUsage(cpuStart);
  contender.calls += calls;
  contender.wallSeconds += seconds;
  contender.cpuSeconds += (cpu.user + cpu.system) / 1e6;
  return (flops * calls) / seconds / 1e9;
}

/** CPU time of the process (all threads) over wall time while `contender` ran. */
function coresUsed(contender: Contender): string {
  return (contender.cpuSeconds / contender.wallSeconds).toFixed(2);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function formatLoad(): string {
  return loadavg().map((value) => value.toFixed(2)).join(' ');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const threaded = await createThreadedBackend({ threads: options.threads, spawnWorker: spawnNodeLinearWorker });
  console.log(`Node ${process.version}, ${availableParallelism()} cores; load average before: ${formatLoad()}`);
  console.log(`median of ${options.reps} repetitions (≥ ${MIN_REPETITION_SECONDS} s each), GFLOPS = 2·rows·in·out / time\n`);

  const backends: Array<[string, LinearBackend]> = [
    ...(options.skipPlain ? [] : ([['plain', plainBackend]] as Array<[string, LinearBackend]>)),
    ['packed', packedBackend],
    [`threaded×${options.threads}`, threaded],
  ];
  const header = ['rows×in→out', 'layer', ...backends.map(([name]) => name), 'packed/plain', 'threaded/packed', 'rows by workers', 'cores used: packed', 'threaded'];
  const rowsOut: string[][] = [];

  try {
    for (const [index, shape] of SHAPES.entries()) {
      const { rows, inFeatures, outFeatures } = shape;
      const weight = randomArray(outFeatures * inFeatures, 3 * index + 1);
      const bias = randomArray(outFeatures, 3 * index + 2);
      const xValues = randomArray(rows * inFeatures, 3 * index + 3);
      const contenders = backends.map(([name, backend]) => setUp(backend, name, weight, bias, xValues, shape));

      // Check first: every backend must reproduce the first one's output exactly.
      for (const contender of contenders) contender.run();
      for (const contender of contenders.slice(1)) {
        const reference = contenders[0]!.out;
        const differing = contender.out.findIndex((value, i) => !Object.is(value, reference[i]));
        if (differing !== -1) throw new Error(`${contender.name} differs from ${contenders[0]!.name} at ${differing}`);
      }

      const flops = 2 * rows * inFeatures * outFeatures;
      const workerRowsBefore = threaded.rowsComputedByWorkers;
      for (let rep = 0; rep < options.reps; rep++) {
        for (const contender of contenders) contender.gflops.push(measure(contender, flops));
      }
      const threadedContender = contenders.at(-1)!;
      const medians = new Map(contenders.map((c) => [c.name, median(c.gflops)]));
      const plain = medians.get('plain');
      const packed = medians.get('packed')!;
      const threads = medians.get(`threaded×${options.threads}`)!;
      rowsOut.push([
        `${rows}×${inFeatures}→${outFeatures}`,
        shape.layer,
        ...contenders.map((c) => medians.get(c.name)!.toFixed(2)),
        plain === undefined ? '-' : `${(packed / plain).toFixed(1)}×`,
        `${(threads / packed).toFixed(2)}×`,
        `${Math.round((100 * (threaded.rowsComputedByWorkers - workerRowsBefore)) / (threadedContender.calls * rows))}%`,
        coresUsed(contenders.find((c) => c.name === 'packed')!),
        coresUsed(threadedContender),
      ]);
      console.log(`${rowsOut.at(-1)![0]}: ${contenders.map((c) => `${c.name} [${c.gflops.map((g) => g.toFixed(2)).join(' ')}]`).join('  ')}`);
    }
  } finally {
    threaded.dispose();
  }

  const widths = header.map((title, column) => Math.max(title.length, ...rowsOut.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  console.log('\n' + line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rowsOut) console.log(line(row));
  console.log(`\nload average after: ${formatLoad()}`);
}

await main();
