/**
 * GFLOPS of the WebAssembly SIMD matmul on the model's six shapes, one thread.
 *
 *   npm run bench:gemm-simd                       the linear layers' kernel as shipped, through `createSimdBackend`
 *   npm run bench:gemm-simd -- --variants         the panel kernel's register-tile shapes, assembled on the fly
 *   npm run bench:gemm-simd -- --rows-variants    the row-major kernel's tile shapes (matmul-rows-kernel.ts)
 *                                                 beside the panel kernel, and in row blocks
 *
 * Shapes (rows × inFeatures × outFeatures) are those of all-MiniLM-L6-v2's linear layers for a
 * 512-token batch and for a 16-token one: attention projections [·, 384] × [384, 384], FFN up
 * [·, 384] × [384, 1536], FFN down [·, 1536] × [1536, 384]. FLOPs = 2 · R · K · N.
 *
 * Each shape is warmed up (so the engine's optimizing tier has compiled the kernel), then timed
 * repeatedly; the table shows the median of wall-clock time and of this process's CPU time.
 * On a machine shared with other work the CPU-time median is the steadier figure: it leaves out
 * the time the process spent descheduled. The plain `linear.ts` loop is timed on the 16-row
 * shapes for comparison (the 512-row ones would take seconds).
 *
 * Left out: threads, and end-to-end model timing (other benchmarks do that).
 */

import { linear } from '../src/tensor/linear.ts';
import { createSimdBackend } from '../src/tensor/simd/simd-backend.ts';
import { buildMatmulKernel, type MatmulKernelShape } from '../src/tensor/simd/matmul-kernel.ts';
import { buildMatmulRows, chosenRowsKernelShape, type RowsKernelShape } from '../src/tensor/simd/matmul-rows-kernel.ts';
import { MATMUL_ROW_BLOCK, type MatmulFunction, type MatmulRowsFunction } from '../src/tensor/simd/kernel-interface.ts';
import { encodeModule } from '../src/tensor/simd/wasm-assembler.ts';
import { packWeightPanels, packedWeightLength, panelCount, featuresPerPanel } from '../src/tensor/simd/packed-weights.ts';

const shapes = [
  [512, 384, 384],
  [512, 384, 1536],
  [512, 1536, 384],
  [16, 384, 384],
  [16, 384, 1536],
  [16, 1536, 384],
] as const;

/** Timed repetitions per shape: enough for a stable median, short enough for a shared machine. */
const repetitionsFor = (rows: number) => (rows > 64 ? 15 : 151);
const warmupCalls = 5;

interface Timing {
  wallGflops: number;
  cpuGflops: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Times `run` (one full matmul of `flops`) and returns median GFLOPS by wall and CPU time. */
function time(run: () => void, flops: number, repetitions: number): Timing {
  for (let i = 0; i < warmupCalls; i++) run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    run();
    wall.push(performance.now() - wallStart);
    const cpuUsed = process.cpuUsage(cpuStart);
    cpu.push((cpuUsed.user + cpuUsed.system) / 1000);
  }
  // ms → GFLOPS: flops / (ms · 1e6). CPU time has 1 µs resolution; guard against a zero.
  return {
    wallGflops: flops / (median(wall) * 1e6),
    cpuGflops: flops / (Math.max(median(cpu), 0.001) * 1e6),
  };
}

function randomFill(target: Float32Array): Float32Array {
  for (let i = 0; i < target.length; i++) target[i] = Math.random() * 2 - 1;
  return target;
}

async function benchShippedKernel(): Promise<void> {
  const { tileRows, tileFeatures } = chosenRowsKernelShape;
  console.log(`SIMD linear kernel as shipped: matmulRows, ${tileRows} rows × ${tileFeatures} features per tile, in blocks of ${MATMUL_ROW_BLOCK} rows`);
  console.log('shape (R×K×N)     SIMD wall  SIMD cpu  plain cpu   (GFLOPS, medians)   +GELU epilogue (ms, cpu)');
  const results: number[] = [];
  for (const [rows, inFeatures, outFeatures] of shapes) {
    const backend = await createSimdBackend();
    const weight = randomFill(new Float32Array(outFeatures * inFeatures)); // [N, K]
    const bias = randomFill(new Float32Array(outFeatures)); //                [N]
    const prepared = backend.prepare(weight, outFeatures, inFeatures);
    const workspace = backend.allocate(rows * (inFeatures + outFeatures));
    const x = randomFill(workspace.subarray(0, rows * inFeatures)); //       [R, K]
    const out = workspace.subarray(rows * inFeatures); //                    [R, N]
    const flops = 2 * rows * inFeatures * outFeatures;
    const simd = time(() => backend.linear(out, x, prepared, bias, rows), flops, repetitionsFor(rows));
    let plainText = '';
    if (rows <= 64) {
      const plainOut = new Float32Array(rows * outFeatures);
      const plain = time(() => linear(plainOut, x, weight, bias, rows, inFeatures, outFeatures), flops, 9);
      plainText = plain.cpuGflops.toFixed(2).padStart(9);
    }
    // The FFN's first matmul is followed by GELU, run in JavaScript over the output: its cost.
    let geluText = '';
    if (outFeatures === 1536) {
      const withGelu = time(() => backend.linear(out, x, prepared, bias, rows, 'gelu'), flops, repetitionsFor(rows));
      const millisecondsOf = (gflops: number) => flops / (gflops * 1e6);
      const geluMs = millisecondsOf(withGelu.cpuGflops) - millisecondsOf(simd.cpuGflops);
      geluText = `${geluMs.toFixed(2)} ms after ${millisecondsOf(simd.cpuGflops).toFixed(2)} ms of matmul`;
    }
    results.push(simd.cpuGflops);
    console.log(
      `${rows}×${inFeatures}×${outFeatures}`.padEnd(17),
      simd.wallGflops.toFixed(1).padStart(9),
      simd.cpuGflops.toFixed(1).padStart(9),
      plainText.padStart(10),
      ''.padStart(20),
      geluText,
    );
    backend.dispose();
  }
  console.log(`median over shapes (cpu): ${median(results).toFixed(1)} GFLOPS`);
}

/** Register-tile shapes to compare: rows per tile × k unrolling. */
const variantShapes: MatmulKernelShape[] = [
  { tileRows: 4, kUnroll: 1 },
  { tileRows: 4, kUnroll: 2 },
  { tileRows: 4, kUnroll: 4 },
  { tileRows: 2, kUnroll: 1 },
  { tileRows: 3, kUnroll: 1 },
  { tileRows: 5, kUnroll: 1 },
  { tileRows: 6, kUnroll: 1 },
  { tileRows: 1, kUnroll: 1 },
];

/**
 * Median GFLOPS (CPU time) of each of `runs` (one matmul of `flops` each), timed in alternation:
 * every round runs each once, so that a slow phase of the machine hits them all alike.
 */
function alternatingGflops(runs: readonly (() => void)[], flops: number, rounds: number): number[] {
  const samples = runs.map(() => [] as number[]);
  for (let round = 0; round < rounds + warmupCalls; round++) {
    runs.forEach((run, i) => {
      const start = process.cpuUsage();
      run();
      const used = process.cpuUsage(start);
      if (round >= warmupCalls) samples[i]!.push((used.user + used.system) / 1000);
    });
  }
  return samples.map((s) => flops / (Math.max(median(s), 0.001) * 1e6));
}

/** Lays out `totalBytes` (grown if needed) of `memory` from byte 16: successive 16-byte-aligned Float32Array views. */
function memoryLayout(memory: WebAssembly.Memory, totalBytes: number): (length: number) => Float32Array {
  if (memory.buffer.byteLength < totalBytes) memory.grow(Math.ceil((totalBytes - memory.buffer.byteLength) / 65536));
  let next = 16;
  return (length) => {
    const view = new Float32Array(memory.buffer, next, length);
    next += Math.ceil(length / 4) * 16;
    return view;
  };
}

/** Each variant is assembled now and run directly over one memory; variants alternate per round. */
function benchVariants(): void {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  const kernels = variantShapes.map((shape) => {
    const module = new WebAssembly.Module(buildMatmulKernel('unshared', shape));
    return new WebAssembly.Instance(module, { env: { memory } }).exports.matmul as MatmulFunction;
  });
  const label = (s: MatmulKernelShape) => `${s.tileRows}×8/u${s.kUnroll}`;
  console.log('GFLOPS (median of CPU time) per tile shape: rows × features / k unroll');
  console.log('shape (R×K×N)    ' + variantShapes.map((s) => label(s).padStart(9)).join(''));
  for (const [rows, inFeatures, outFeatures] of shapes) {
    const packedLength = packedWeightLength(outFeatures, inFeatures);
    const biasLength = panelCount(outFeatures) * featuresPerPanel;
    const take = memoryLayout(memory, 16 + 4 * (packedLength + biasLength + rows * (inFeatures + outFeatures)) + 64);
    const packed = take(packedLength); // [P, K, 8]
    packWeightPanels(packed, randomFill(new Float32Array(outFeatures * inFeatures)), outFeatures, inFeatures);
    const bias = take(biasLength); //     [P · 8]
    const x = randomFill(take(rows * inFeatures)); // [R, K]
    const out = take(rows * outFeatures); //           [R, N]
    const runs = kernels.map((matmul) => () => matmul(out.byteOffset, x.byteOffset, packed.byteOffset, bias.byteOffset, rows, inFeatures, outFeatures));
    const gflops = alternatingGflops(runs, 2 * rows * inFeatures * outFeatures, repetitionsFor(rows));
    console.log(`${rows}×${inFeatures}×${outFeatures}`.padEnd(17) + gflops.map((g) => g.toFixed(1).padStart(9)).join(''));
  }
}

/** Row-major kernel tile shapes (rows × features) to compare. */
const rowsVariantShapes: RowsKernelShape[] = [
  { tileRows: 4, tileFeatures: 2 },
  { tileRows: 2, tileFeatures: 4 },
  { tileRows: 3, tileFeatures: 2 },
  { tileRows: 2, tileFeatures: 3 },
  { tileRows: 4, tileFeatures: 1 },
  { tileRows: 3, tileFeatures: 3 },
  { tileRows: 2, tileFeatures: 6 },
];

/**
 * The row-major kernel's tile shapes on [N, K] weights, the shipped panel kernel on the same
 * weights packed, and the shipped shape in blocks of MATMUL_ROW_BLOCK rows (as `matmulRowBlocks`
 * calls it); also on 2048 rows, a batch of 16 passages, where the blocks matter.
 */
function benchRowsVariants(): void {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  const memoryImport = { module: 'env', name: 'memory', minimumPages: 1, shared: false } as const;
  const instantiate = (bytes: Uint8Array<ArrayBuffer>, name: string) =>
    new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports[name];
  const rowsKernels = rowsVariantShapes.map(
    (shape) => instantiate(encodeModule({ memory: memoryImport, functions: [buildMatmulRows(shape, 'matmulRows')] }), 'matmulRows') as MatmulRowsFunction,
  );
  const panelKernel = instantiate(buildMatmulKernel('unshared'), 'matmul') as MatmulFunction;
  const shippedIndex = rowsVariantShapes.findIndex((s) => s.tileRows === chosenRowsKernelShape.tileRows && s.tileFeatures === chosenRowsKernelShape.tileFeatures);
  const labels = ['panel 4×8', ...rowsVariantShapes.map((s) => `${s.tileRows}×${s.tileFeatures}`), `blocks/${MATMUL_ROW_BLOCK}`];
  console.log('GFLOPS (median of CPU time): the panel kernel, the row-major kernel per tile shape (rows × features), the shipped one in row blocks');
  console.log('shape (R×K×N)    ' + labels.map((l) => l.padStart(10)).join(''));
  for (const [rows, inFeatures, outFeatures] of [...shapes, [2048, 384, 384], [2048, 384, 1536], [2048, 1536, 384]] as const) {
    const packedLength = packedWeightLength(outFeatures, inFeatures);
    const biasLength = panelCount(outFeatures) * featuresPerPanel;
    const take = memoryLayout(memory, 16 + 4 * (outFeatures * inFeatures + packedLength + biasLength + rows * (inFeatures + outFeatures)) + 80);
    const weight = randomFill(take(outFeatures * inFeatures)); // [N, K]
    const packed = take(packedLength); //                         [P, K, 8]
    packWeightPanels(packed, weight, outFeatures, inFeatures);
    const bias = take(biasLength); //                             [P · 8]
    const x = randomFill(take(rows * inFeatures)); //             [R, K]
    const out = take(rows * outFeatures); //                      [R, N]
    const [o, xa, w, b] = [out.byteOffset, x.byteOffset, weight.byteOffset, bias.byteOffset];
    const runs: (() => void)[] = [
      () => panelKernel(o, xa, packed.byteOffset, b, rows, inFeatures, outFeatures),
      ...rowsKernels.map((matmulRows) => () => matmulRows(o, xa, w, b, rows, inFeatures, outFeatures, outFeatures)),
      () => {
        const matmulRows = rowsKernels[shippedIndex]!;
        for (let r = 0; r < rows; r += MATMUL_ROW_BLOCK) {
          const count = Math.min(MATMUL_ROW_BLOCK, rows - r);
          matmulRows(o + r * outFeatures * 4, xa + r * inFeatures * 4, w, b, count, inFeatures, outFeatures, outFeatures);
        }
      },
    ];
    const gflops = alternatingGflops(runs, 2 * rows * inFeatures * outFeatures, rows > 64 ? 11 : repetitionsFor(rows));
    console.log(`${rows}×${inFeatures}×${outFeatures}`.padEnd(17) + gflops.map((g) => g.toFixed(1).padStart(10)).join(''));
  }
}

if (process.argv.includes('--variants')) benchVariants();
else if (process.argv.includes('--rows-variants')) benchRowsVariants();
else await benchShippedKernel();
