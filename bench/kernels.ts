/**
 * The two non-matmul kernels of the encoder, plain version against fast version, one thread.
 *
 *   npm run bench:kernels
 *
 * 1. Multi-head self-attention with all-MiniLM-L6-v2's heads (12 × 32, H = 384) on one sequence
 *    of L = 16, 128, 256, 512 tokens: `multiHeadSelfAttention` (attention.ts) against
 *    `multiHeadSelfAttentionFast` (attention-fast.ts), in GFLOPS, FLOPs = 4 · L² · H (two
 *    L × L × d products per head, a multiply and an add each). The softmax's L² exponentials per
 *    head are not counted as FLOPs, but their time is in the figure.
 * 2. Exact GELU over one batch of the feed-forward layer's output (64 tokens × 1536), in ns per
 *    element, for several input distributions: the plain `gelu` called per element (as a fused
 *    matmul epilogue does) against the fast loop `geluInPlace`.
 *
 * Every figure is a median over repetitions after a warm-up (so the optimizing tier has compiled
 * the kernel), by wall-clock time and by this process's CPU time; on a shared machine the CPU
 * time is the steadier one (it leaves out the time the process spent descheduled). Before
 * timing, each fast kernel is checked against its plain twin on the same inputs (bit-identical
 * results, as the tests require), so a figure never comes from a wrong kernel.
 *
 * Left out: the matmuls (bench/gemm-simd.ts) and whole-model timing (bench/run.ts).
 */

import { createAttentionScratch, multiHeadSelfAttention } from '../src/tensor/attention.ts';
import { multiHeadSelfAttentionFast } from '../src/tensor/attention-fast.ts';
import { gelu, geluInPlace } from '../src/tensor/gelu.ts';
import { mulberry32 } from '../src/model/synthetic.ts';

const numHeads = 12; // A
const headSize = 32; // d
const hidden = numHeads * headSize; // H
const lengths = [16, 128, 256, 512];

interface Timing {
  wallMs: number; // median wall-clock milliseconds per call
  cpuMs: number; // median CPU milliseconds per call
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/**
 * Median time of one call of `run`. Each sample times `callsPerSample` calls, so that short
 * kernels are not measured at the resolution of the clocks (CPU time has 1 µs steps).
 */
function time(run: () => void, samples: number, callsPerSample: number, warmupCalls: number): Timing {
  for (let i = 0; i < warmupCalls; i++) run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let s = 0; s < samples; s++) {
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    for (let i = 0; i < callsPerSample; i++) run();
    wall.push((performance.now() - wallStart) / callsPerSample);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000 / callsPerSample);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

/** `length` values from `draw`, a sampler of one value per call. */
function filled(length: number, draw: () => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = draw();
  return out;
}

function countDifferences(a: Float32Array, b: Float32Array): number {
  let differences = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) differences++;
  return differences;
}

function benchAttention(): void {
  console.log(`Attention, ${numHeads} heads × ${headSize}, one sequence: GFLOPS (median; FLOPs = 4·L²·H)`);
  console.log('    L    plain wall   plain cpu    fast wall    fast cpu    speed-up (cpu)');
  const next = mulberry32(2024);
  for (const L of lengths) {
    const qkv = filled(L * 3 * hidden, () => (next() / 4294967296 - 0.5) * 4); // [L, 3H]
    const scratch = createAttentionScratch(512, headSize); // as the model's workspace: the longest sequence
    const shape = { numHeads, headSize };
    const plainOut = new Float32Array(L * hidden); // [L, H]
    const fastOut = new Float32Array(L * hidden); //  [L, H]
    const plainRun = () => multiHeadSelfAttention(plainOut, qkv, 0, L, shape, scratch);
    const fastRun = () => multiHeadSelfAttentionFast(fastOut, qkv, 0, L, shape, scratch);
    plainRun();
    fastRun();
    const differences = countDifferences(fastOut, plainOut);
    if (differences > 0) throw new Error(`fast attention differs from the plain kernel in ${differences} values at L = ${L}`);

    const flops = 4 * L * L * hidden;
    // About 20 ms per sample and 9 samples for the fast kernel, fewer for the slow plain one.
    const callsFor = (gflopsGuess: number) => Math.max(1, Math.round((20e-3 * gflopsGuess * 1e9) / flops));
    const plain = time(plainRun, L >= 256 ? 3 : 7, callsFor(0.5), 1);
    const fast = time(fastRun, 9, callsFor(2), 2);
    const gflops = (ms: number) => (flops / (ms * 1e6)).toFixed(2).padStart(12);
    console.log(
      String(L).padStart(5),
      gflops(plain.wallMs),
      gflops(plain.cpuMs),
      gflops(fast.wallMs),
      gflops(fast.cpuMs),
      `${(plain.cpuMs / fast.cpuMs).toFixed(1)}×`.padStart(14),
    );
  }
}

/** A standard normal sample (Box–Muller) from a uniform generator. */
function normalSampler(next: () => number, std: number): () => number {
  return () => {
    const u = (next() + 1) / 4294967297; // in (0, 1)
    const v = next() / 4294967296;
    return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

function benchGelu(): void {
  const elements = 64 * 1536; // 64 tokens of the feed-forward layer's output
  const next = mulberry32(7);
  const distributions: [string, () => number][] = [
    ['normal, std 1', normalSampler(next, 1)],
    ['normal, std 2', normalSampler(next, 2)],
    ['normal, std 3', normalSampler(next, 3)],
    ['uniform [−6, 6]', () => (next() / 4294967296 - 0.5) * 12],
    ['uniform [−1.1, 1.1]', () => (next() / 4294967296 - 0.5) * 2.2],
  ];
  console.log(`\nExact GELU over ${elements} float32 values: ns per element (median, cpu; wall in brackets)`);
  console.log('input                  plain gelu() per element    fast geluInPlace    speed-up (cpu)');
  for (const [name, draw] of distributions) {
    const input = filled(elements, draw);
    const plainOut = new Float32Array(elements);
    const fastOut = new Float32Array(elements);
    const plainRun = () => {
      for (let i = 0; i < elements; i++) plainOut[i] = gelu(input[i]!);
    };
    const fastRun = () => {
      fastOut.set(input);
      geluInPlace(fastOut, elements);
    };
    plainRun();
    fastRun();
    const differences = countDifferences(fastOut, plainOut);
    if (differences > 0) throw new Error(`geluInPlace differs from gelu in ${differences} values (${name})`);

    const plain = time(plainRun, 15, 1, 5);
    const fast = time(fastRun, 15, 1, 5);
    const ns = (t: Timing) => `${((t.cpuMs * 1e6) / elements).toFixed(1)} (${((t.wallMs * 1e6) / elements).toFixed(1)})`;
    console.log(name.padEnd(22), ns(plain).padStart(24), ns(fast).padStart(19), `${(plain.cpuMs / fast.cpuMs).toFixed(1)}×`.padStart(17));
  }
}

benchAttention();
benchGelu();
