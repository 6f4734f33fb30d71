/**
 * The threaded backend (2 threads: the test's thread and one Node worker) against the plain
 * backend on random inputs, and the threaded SIMD backend against the single-thread one. Every row is computed by the same arithmetic whichever thread takes
 * it, so results must be bit-identical to plainBackend (and packedBackend).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plainBackend } from '../../src/tensor/backend.ts';
import { LinearShapeError, stackRows } from '../../src/tensor/linear-packed.ts';
import { packedBackend } from '../../src/tensor/packed-backend.ts';
import { ThreadedBackendError, createThreadedBackend, createThreadedSimdBackend, type ThreadedBackend } from '../../src/tensor/threaded-backend.ts';
import { createSimdBackend, type SimdBackend } from '../../src/tensor/simd/simd-backend.ts';
import { LinearWorkerPool, START_WORKERS_AFTER_MULTIPLY_ADDS } from '../../src/tensor/worker-pool.ts';
import { createAttentionScratch } from '../../src/tensor/attention.ts';
import { multiHeadSelfAttentionFast } from '../../src/tensor/attention-fast.ts';
import type { SpawnLinearWorker } from '../../src/tensor/worker-spawn.ts';
import { spawnNodeLinearWorker } from '../../src/node/worker-spawn.ts';
import { firstDifference, maxRelativeError, randomArray } from '../helpers/random.ts';
import type { LinearBackend } from '../../src/tensor/backend.ts';



function expectIdentical(actual: Float32Array, expected: Float32Array, label: string): void {
  const i = firstDifference(actual, expected);
  if (i !== -1) expect.fail(`${label}: first difference at ${i}: threaded ${actual[i]} vs plain ${expected[i]}`);
}

interface Case {
  rows: number;
  inFeatures: number;
  outFeatures: number;
  withBias: boolean;
  activation: 'none' | 'gelu';
  seed: number;
}

/** Runs one case on `backend` and on plainBackend; returns nothing, fails on any difference. */
function checkAgainstPlain(backend: ThreadedBackend, c: Case): void {
  const { rows, inFeatures, outFeatures, withBias, activation, seed } = c;
  const weight = randomArray(outFeatures * inFeatures, seed, 0.5);
  const bias = withBias ? randomArray(outFeatures, seed + 1) : null;
  const xValues = randomArray(rows * inFeatures, seed + 2, 2);
  const expected = plainBackend.allocate(rows * outFeatures);
  plainBackend.linear(expected, xValues, plainBackend.prepare(weight, outFeatures, inFeatures), bias, rows, activation);

  const x = backend.allocate(rows * inFeatures);
  x.set(xValues);
  const out = backend.allocate(rows * outFeatures).fill(Number.NaN);
  backend.linear(out, x, backend.prepare(weight, outFeatures, inFeatures), bias, rows, activation);
  expectIdentical(out, expected, `${rows}×${inFeatures}→${outFeatures} bias=${withBias} ${activation}`);
}

describe('threaded backend, 2 threads', () => {
  let backend: ThreadedBackend;
  beforeAll(async () => {
    backend = await createThreadedBackend({ threads: 2, spawnWorker: spawnNodeLinearWorker });
  });
  afterAll(() => backend.dispose());

  it('uses weights already in a SharedArrayBuffer in place (several per buffer), bit for bit', () => {
    // Two weights side by side in one shared buffer, as in a checkpoint read into shared memory.
    const shapes = [[384, 96], [130, 384]] as const;
    const sizes = shapes.map(([n, k]) => n * k);
    const shared = new Float32Array(new SharedArrayBuffer((5 + sizes[0]! + sizes[1]!) * 4));
    let offset = 5; // an odd float offset: the views do not start at 0
    const rows = 41;
    shapes.forEach(([outFeatures, inFeatures], i) => {
      const weight = shared.subarray(offset, offset + sizes[i]!);
      weight.set(randomArray(sizes[i]!, 70 + i, 0.5));
      offset += sizes[i]!;
      const prepared = backend.prepare(weight, outFeatures, inFeatures) as unknown as { blocks: { data: Float32Array }[] };
      expect(prepared.blocks[0]!.data).toBe(weight); // not copied
      const xValues = randomArray(rows * inFeatures, 80 + i, 2);
      const expected = plainBackend.allocate(rows * outFeatures);
      plainBackend.linear(expected, xValues, plainBackend.prepare(weight.slice(), outFeatures, inFeatures), null, rows, 'gelu');
      const x = backend.allocate(rows * inFeatures);
      x.set(xValues);
      const out = backend.allocate(rows * outFeatures).fill(Number.NaN);
      backend.linear(out, x, prepared as never, null, rows, 'gelu');
      expectIdentical(out, expected, `in place ${rows}×${inFeatures}→${outFeatures}`);
    });
    expect(backend.rowsComputedByWorkers).toBeGreaterThan(0);
  });

  it('takes a weight as row blocks (the fused Q, K, V): in place when they share a SharedArrayBuffer, copied otherwise', () => {
    const [inFeatures, blockRows, rows] = [96, [64, 64, 40], 37];
    const outFeatures = blockRows.reduce((a, b) => a + b, 0);
    const blocksValues = blockRows.map((n, i) => randomArray(n * inFeatures, 200 + i, 0.5));
    const shared = new Float32Array(new SharedArrayBuffer((3 + outFeatures * inFeatures) * 4));
    let offset = 3;
    const sharedBlocks = blocksValues.map((values) => {
      const block = shared.subarray(offset, offset + values.length);
      block.set(values);
      offset += values.length;
      return block;
    });
    const xValues = randomArray(rows * inFeatures, 210, 2);
    const bias = randomArray(outFeatures, 211);
    const expected = plainBackend.allocate(rows * outFeatures);
    plainBackend.linear(expected, xValues, plainBackend.prepare(stackRows(blocksValues), outFeatures, inFeatures), bias, rows, 'none');
    for (const blocks of [sharedBlocks, blocksValues]) {
      const prepared = backend.prepareRowBlocks(blocks, outFeatures, inFeatures);
      const data = (prepared as unknown as { blocks: { data: Float32Array }[] }).blocks.map((block) => block.data);
      if (blocks === sharedBlocks) expect(data).toEqual(sharedBlocks); // the same views: no copy
      else expect(data.length).toBe(1); // copied once, stacked
      const x = backend.allocate(rows * inFeatures);
      x.set(xValues);
      const out = backend.allocate(rows * outFeatures).fill(Number.NaN);
      backend.linear(out, x, prepared, bias, rows, 'none');
      expectIdentical(out, expected, blocks === sharedBlocks ? 'shared blocks' : 'copied blocks');
    }
  });

  it('matches plainBackend bit for bit on calls large enough to be shared', () => {
    let seed = 1;
    // rows × K × N ≥ 2^17 multiply-adds, so the rows are split into chunks between the threads.
    for (const [rows, inFeatures, outFeatures] of [
      [2, 384, 384],
      [3, 384, 385],
      [17, 96, 130],
      [33, 37, 211],
      [64, 384, 1536],
      [101, 1536, 384],
    ] as const) {
      for (const withBias of [false, true]) {
        for (const activation of ['none', 'gelu'] as const) {
          checkAgainstPlain(backend, { rows, inFeatures, outFeatures, withBias, activation, seed: seed++ });
        }
      }
    }
  });

  it('matches plainBackend on small calls, which stay on the calling thread', () => {
    let seed = 100;
    for (const rows of [1, 2, 3, 5]) {
      for (const features of [1, 3, 5, 17]) {
        checkAgainstPlain(backend, { rows, inFeatures: features, outFeatures: features + 2, withBias: true, activation: 'gelu', seed: seed++ });
      }
    }
  });

  it('matches on random shapes, call after call (the job protocol under repetition)', () => {
    let state = 12345;
    const next = (limit: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return 1 + (state % limit);
    };
    for (let i = 0; i < 60; i++) {
      checkAgainstPlain(backend, {
        rows: next(80),
        inFeatures: next(200),
        outFeatures: next(200) + 50,
        withBias: i % 3 !== 0,
        activation: i % 2 === 0 ? 'gelu' : 'none',
        seed: 1000 + i,
      });
    }
  });

  it('stays correct over many short back-to-back calls (workers often arrive late)', () => {
    // Short calls end before a sleeping worker wakes, so the worker finds a finished or newer
    // job: the claim word must keep it from computing with the old job's fields.
    const inFeatures = 384;
    const shapes = [
      { outFeatures: 384, activation: 'none' as const },
      { outFeatures: 1536, activation: 'gelu' as const },
      { outFeatures: 100, activation: 'none' as const },
    ];
    const maxRows = 8;
    const xValues = randomArray(maxRows * inFeatures, 81);
    const x = backend.allocate(maxRows * inFeatures);
    x.set(xValues);
    const out = backend.allocate(maxRows * 1536);
    const jobs = shapes.map(({ outFeatures, activation }, i) => {
      const weightValues = randomArray(outFeatures * inFeatures, 82 + i);
      const bias = randomArray(outFeatures, 90 + i);
      const expected = new Float32Array(maxRows * outFeatures);
      plainBackend.linear(expected, xValues, plainBackend.prepare(weightValues, outFeatures, inFeatures), bias, maxRows, activation);
      return { outFeatures, activation, bias, expected, weight: backend.prepare(weightValues, outFeatures, inFeatures) };
    });
    for (let call = 0; call < 1000; call++) {
      const job = jobs[call % jobs.length]!;
      const rows = 2 + (call % (maxRows - 1)); // 2…8 rows: always shared
      out.fill(Number.NaN);
      backend.linear(out, x, job.weight, job.bias, rows, job.activation);
      const length = rows * job.outFeatures;
      expectIdentical(out.subarray(0, length), job.expected.subarray(0, length), `call ${call}`);
      if (length < out.length) expect(Number.isNaN(out[length]!), `call ${call} wrote past its rows`).toBe(true);
    }
  });

  it('cuts a shared call into chunksPerThread chunks per thread, on row-tile boundaries', async () => {
    const pool = await LinearWorkerPool.start(2, spawnNodeLinearWorker);
    try {
      const big = 1 << 30; // multiply-adds: always worth sharing
      // 448 rows (a batch of 32 short sentences) on 2 threads.
      expect(pool.chunkRows(448, big, 1 << 17, 2, 16)).toBe(14); // 32 chunks
      expect(pool.chunkRows(448, big, 1 << 17, 2, 4)).toBe(56); // 8 chunks
      expect(pool.chunkRows(100, big, 1 << 17, 2, 16)).toBe(4); // ⌈100 / 32⌉ = 4
      expect(pool.chunkRows(100, big, 1 << 17, 8, 16)).toBe(8); // rounded up to the row tile
      expect(pool.chunkRows(90, big, 1 << 17, 2, 16)).toBe(4); // ⌈90 / 32⌉ = 3, rounded up to 4
      // Too little work, or no more rows than a tile: not shared (one chunk of all the rows).
      expect(pool.chunkRows(448, (1 << 17) - 1, 1 << 17, 2, 16)).toBe(448);
      expect(pool.chunkRows(2, big, 1 << 17, 2, 16)).toBe(2);
      // Never more than MAX_CHUNKS chunks, however fine the setting.
      expect(Math.ceil(100_000 / pool.chunkRows(100_000, big, 1 << 17, 2, 1_000_000))).toBeLessThanOrEqual(4094);
    } finally {
      pool.dispose();
    }
  });

  it('shares rows with the worker on large calls', () => {
    const rows = 256, inFeatures = 384, outFeatures = 1536;
    const weight = backend.prepare(randomArray(outFeatures * inFeatures, 7), outFeatures, inFeatures);
    const x = backend.allocate(rows * inFeatures);
    x.set(randomArray(rows * inFeatures, 8));
    const out = backend.allocate(rows * outFeatures);
    const before = backend.rowsComputedByWorkers;
    // The worker may sleep through one call on a busy machine; it cannot through all of them.
    const deadline = performance.now() + 30_000;
    while (backend.rowsComputedByWorkers === before && performance.now() < deadline) {
      backend.linear(out, x, weight, null, rows);
    }
    expect(backend.rowsComputedByWorkers).toBeGreaterThan(before);
  });

  it('works on subarray views of allocated buffers and leaves the rest alone', () => {
    const rows = 9, inFeatures = 384, outFeatures = 100;
    const weightValues = randomArray(outFeatures * inFeatures, 21);
    const bias = randomArray(outFeatures, 22);
    const xValues = randomArray(rows * inFeatures, 23);
    const expected = new Float32Array(rows * outFeatures);
    packedBackend.linear(expected, xValues, packedBackend.prepare(weightValues, outFeatures, inFeatures), bias, rows, 'gelu');

    const xBuffer = backend.allocate(7 + rows * inFeatures);
    const x = xBuffer.subarray(7);
    x.set(xValues);
    const outBuffer = backend.allocate(5 + rows * outFeatures + 3).fill(-1);
    const out = outBuffer.subarray(5, 5 + rows * outFeatures);
    backend.linear(out, x, backend.prepare(weightValues, outFeatures, inFeatures), bias, rows, 'gelu');
    expectIdentical(out, expected, 'offset views');
    expect(Array.from(outBuffer.subarray(0, 5))).toEqual([-1, -1, -1, -1, -1]);
    expect(Array.from(outBuffer.subarray(5 + rows * outFeatures))).toEqual([-1, -1, -1]);
  });

  it('reuses a weight with different biases and activations (bias is copied per call)', () => {
    const rows = 12, inFeatures = 200, outFeatures = 120;
    const weightValues = randomArray(outFeatures * inFeatures, 31);
    const weight = backend.prepare(weightValues, outFeatures, inFeatures);
    const x = backend.allocate(rows * inFeatures);
    x.set(randomArray(rows * inFeatures, 32));
    const out = backend.allocate(rows * outFeatures);
    for (let i = 0; i < 4; i++) {
      const bias = i === 3 ? null : randomArray(outFeatures, 40 + i);
      const activation = i % 2 === 0 ? 'gelu' : 'none';
      const expected = new Float32Array(rows * outFeatures);
      plainBackend.linear(expected, x, plainBackend.prepare(weightValues, outFeatures, inFeatures), bias, rows, activation);
      backend.linear(out, x, weight, bias, rows, activation);
      expectIdentical(out, expected, `call ${i}`);
    }
  });

  it('rejects arrays it did not allocate and weights it did not prepare', () => {
    const weight = backend.prepare(randomArray(64 * 64, 51), 64, 64);
    const x = backend.allocate(4 * 64);
    const out = backend.allocate(4 * 64);
    expect(() => backend.linear(out, new Float32Array(4 * 64), weight, null, 4)).toThrow(/x was not allocated by this backend/);
    expect(() => backend.linear(new Float32Array(4 * 64), x, weight, null, 4)).toThrow(/out was not allocated by this backend/);
    // Prepared by packedBackend: the kernel accepts its kind, but its floats are not in shared memory.
    const foreignInPlace = packedBackend.prepare(randomArray(64 * 64, 52), 64, 64);
    expect(() => backend.linear(out, x, foreignInPlace, null, 4)).toThrow(/weight was not prepared by this backend/);
    const foreignPlain = plainBackend.prepare(randomArray(64 * 64, 52), 64, 64);
    expect(() => backend.linear(out, x, foreignPlain, null, 4)).toThrow(LinearShapeError);
    expect(() => backend.linear(out, x, weight, new Float32Array(3), 4)).toThrow(/bias has 3 floats/);
    expect(() => backend.allocate(-1)).toThrow(ThreadedBackendError);
    // The backend still works after refusing bad calls.
    checkAgainstPlain(backend, { rows: 4, inFeatures: 384, outFeatures: 384, withBias: true, activation: 'none', seed: 53 });
  });
});

describe('threaded backend weights', () => {
  it('copies each weight into shared memory as is ([outFeatures, inFeatures], no repacking)', async () => {
    const backend = await createThreadedBackend({ threads: 1 });
    try {
      const outFeatures = 7, inFeatures = 5, rows = 3;
      const weightValues = randomArray(outFeatures * inFeatures, 91);
      const prepared = backend.prepare(weightValues, outFeatures, inFeatures) as unknown as { blocks: { data: Float32Array }[] };
      const data = prepared.blocks[0]!.data;
      expect(data.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(data).not.toBe(weightValues);
      expect(Array.from(data)).toEqual(Array.from(weightValues));
      // A copy: changing the caller's floats afterwards does not change the results.
      const xValues = randomArray(rows * inFeatures, 92);
      const expected = new Float32Array(rows * outFeatures);
      plainBackend.linear(expected, xValues, plainBackend.prepare(weightValues.slice(), outFeatures, inFeatures), null, rows);
      weightValues.fill(0);
      const x = backend.allocate(rows * inFeatures);
      x.set(xValues);
      const out = backend.allocate(rows * outFeatures);
      backend.linear(out, x, prepared as never, null, rows);
      expectIdentical(out, expected, 'after the source changed');
    } finally {
      backend.dispose();
    }
  });

  it('rejects a weight of the wrong length, naming the sizes', async () => {
    const backend = await createThreadedBackend({ threads: 1 });
    try {
      expect(() => backend.prepare(new Float32Array(11), 3, 4)).toThrow(/weight has 11 floats, expected .* 12/);
      expect(() => backend.prepare(new Float32Array(0), 0, 4)).toThrow(/outFeatures must be a positive integer/);
    } finally {
      backend.dispose();
    }
  });
});

describe('threaded backend lifecycle', () => {
  it('runs with threads: 1 (no workers, no spawner needed)', async () => {
    const backend = await createThreadedBackend({ threads: 1 });
    try {
      checkAgainstPlain(backend, { rows: 20, inFeatures: 384, outFeatures: 384, withBias: true, activation: 'gelu', seed: 61 });
      expect(backend.rowsComputedByWorkers).toBe(0);
    } finally {
      backend.dispose();
    }
  });

  it('refuses to be used after dispose, and dispose twice is harmless', async () => {
    const backend = await createThreadedBackend({ threads: 2, spawnWorker: spawnNodeLinearWorker });
    const weight = backend.prepare(randomArray(16, 71), 4, 4);
    const x = backend.allocate(4);
    const out = backend.allocate(4);
    backend.dispose();
    backend.dispose();
    expect(() => backend.linear(out, x, weight, null, 1)).toThrow(/disposed/);
    expect(() => backend.allocate(4)).toThrow(/disposed/);
    expect(() => backend.prepare(randomArray(16, 72), 4, 4)).toThrow(/disposed/);
  });

  it.runIf(typeof Worker === 'undefined')('asks for a spawner where there is no Web Worker API', async () => {
    await expect(createThreadedBackend({ threads: 2 })).rejects.toThrow(/no Web Worker API here: pass spawnWorker/);
  });

  it('rejects bad thread counts', async () => {
    for (const threads of [0, -1, 1.5, Number.NaN, 1000]) {
      await expect(createThreadedBackend({ threads, spawnWorker: spawnNodeLinearWorker })).rejects.toThrow(/threads must be an integer/);
    }
  });

  it('rejects when a worker fails to start, and terminates the others', async () => {
    let terminated = 0;
    let spawned = 0;
    const failingSpawner: SpawnLinearWorker = () => {
      spawned++;
      const fails = spawned === 2;
      return {
        postMessage() {},
        onMessage() {},
        onError(listener) {
          if (fails) queueMicrotask(() => listener(new Error('entry module not found')));
        },
        unref() {},
        terminate() {
          terminated++;
        },
      };
    };
    await expect(createThreadedBackend({ threads: 3, spawnWorker: failingSpawner })).rejects.toThrow(
      /could not start linear workers: entry module not found/,
    );
    expect(terminated).toBe(2);
  });

  it('lets the process exit without dispose, and with it', () => {
    const directory = mkdtempSync(join(tmpdir(), 'minilm-threads-'));
    try {
      const script = join(directory, 'exit-check.mts');
      const backendUrl = new URL('../../src/tensor/threaded-backend.ts', import.meta.url).href;
      const spawnUrl = new URL('../../src/node/worker-spawn.ts', import.meta.url).href;
      writeFileSync(
        script,
        `import { createThreadedBackend } from ${JSON.stringify(backendUrl)};
import { spawnNodeLinearWorker } from ${JSON.stringify(spawnUrl)};
const backend = await createThreadedBackend({ threads: 2, spawnWorker: spawnNodeLinearWorker });
const rows = 64, k = 384, n = 384;
const weight = backend.prepare(new Float32Array(n * k).fill(0.5), n, k);
const x = backend.allocate(rows * k).fill(2);
const out = backend.allocate(rows * n);
backend.linear(out, x, weight, null, rows);
console.log('sum ' + out[0] + ' ' + out[rows * n - 1]);
if (process.argv[2] === 'dispose') backend.dispose();
`,
      );
      const tsx = import.meta.resolve('tsx');
      for (const mode of ['keep', 'dispose']) {
        const started = performance.now();
        const result = spawnSync(process.execPath, ['--import', tsx, script, mode], { encoding: 'utf8', timeout: 30_000 });
        expect(result.error, `${mode}: ${result.error?.message}`).toBeUndefined();
        expect(result.stderr).toBe('');
        expect(result.status, `${mode}: exit status`).toBe(0);
        expect(result.stdout.trim()).toBe(`sum ${0.5 * 2 * 384} ${0.5 * 2 * 384}`);
        expect(performance.now() - started).toBeLessThan(30_000);
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('threaded SIMD backend, 2 threads (one shared WebAssembly.Memory, a kernel instance per thread)', () => {
  let threaded: SimdBackend;
  let single: SimdBackend;
  beforeAll(async () => {
    threaded = await createThreadedSimdBackend({ threads: 2, spawnWorker: spawnNodeLinearWorker });
    single = await createSimdBackend();
  });
  afterAll(() => {
    threaded.dispose();
    single.dispose();
  });

  /** One call on both backends; the threaded one must give the single-thread bits exactly. */
  function checkAgainstSingleThread(c: Case): void {
    const { rows, inFeatures, outFeatures, withBias, activation, seed } = c;
    const weight = randomArray(outFeatures * inFeatures, seed, 0.5);
    const bias = withBias ? randomArray(outFeatures, seed + 1) : null;
    const xValues = randomArray(rows * inFeatures, seed + 2, 2);
    const results = [single, threaded].map((backend) => {
      const prepared = backend.prepare(weight, outFeatures, inFeatures);
      // One allocation sliced in two: a second allocate may grow (and detach) an unshared memory.
      const block = backend.allocate(rows * (inFeatures + outFeatures));
      const x = block.subarray(0, rows * inFeatures);
      x.set(xValues);
      const out = block.subarray(rows * inFeatures).fill(Number.NaN);
      backend.linear(out, x, prepared, bias, rows, activation);
      return out;
    });
    expectIdentical(results[1]!, results[0]!, `${rows}×${inFeatures}→${outFeatures} bias=${withBias} ${activation}`);
  }

  it('gives the single-thread SIMD result bit for bit, on shared and unshared calls of many shapes', () => {
    let seed = 500;
    const before = threaded.rowsComputedByWorkers;
    // Row counts around the kernel's 4-row tile; the larger calls are split between the threads.
    for (const [rows, inFeatures, outFeatures] of [
      [1, 384, 384], [5, 384, 384], [9, 384, 1536], [30, 384, 384], [33, 1536, 384], [64, 384, 1152], [127, 37, 211], [256, 384, 1536],
    ] as const) {
      for (const activation of ['none', 'gelu'] as const) {
        checkAgainstSingleThread({ rows, inFeatures, outFeatures, withBias: activation === 'gelu', activation, seed: seed++ });
      }
    }
    expect(threaded.threads).toBe(2);
    expect(threaded.rowsComputedByWorkers).toBeGreaterThan(before);
  });

  it('stays correct over many back-to-back calls, and after the shared memory grew', () => {
    for (let call = 0; call < 40; call++) {
      checkAgainstSingleThread({ rows: 48 + (call % 5), inFeatures: 384, outFeatures: 384, withBias: true, activation: 'none', seed: 900 + call });
    }
    const pagesBefore = threaded.memory.buffer.byteLength;
    threaded.allocate(16 << 20); // 64 MB more: the memory grows; the workers must see it
    expect(threaded.memory.buffer.byteLength).toBeGreaterThan(pagesBefore);
    checkAgainstSingleThread({ rows: 200, inFeatures: 384, outFeatures: 1536, withBias: true, activation: 'gelu', seed: 999 });
  });

  it('refuses a pool on an unshared memory, and use after dispose', async () => {
    const backend = await createThreadedSimdBackend({ threads: 2, spawnWorker: spawnNodeLinearWorker });
    const weight = backend.prepare(randomArray(64 * 64, 3), 64, 64);
    const x = backend.allocate(64 * 64);
    const out = backend.allocate(64 * 64);
    backend.dispose();
    expect(() => backend.linear(out, x, weight, null, 64)).toThrow(/disposed/);
    const pool = await LinearWorkerPool.start(1, undefined);
    await expect(createSimdBackend({ pool })).rejects.toThrow(/a worker pool needs sharedMemory: true/);
    pool.dispose();
  });
});

describe('attention shared between threads (the threaded backends\' optional attention step)', () => {
  const shape = { numHeads: 12, headSize: 32 };
  const H = shape.numHeads * shape.headSize;
  // Sequences of very different lengths, so that (sequence, head) pairs differ in cost.
  const lengths = [1, 7, 128, 3, 64, 17, 200, 2];
  const sequenceStarts = new Int32Array(lengths.length + 1);
  lengths.forEach((length, b) => (sequenceStarts[b + 1] = sequenceStarts[b]! + length));
  const T = sequenceStarts[lengths.length]!;
  const qkvValues = randomArray(T * 3 * H, 4242, 3);

  /** The model's attention without threads: attention-fast.ts sequence by sequence. */
  function expectedContext(): Float32Array {
    const context = new Float32Array(T * H);
    const scratch = createAttentionScratch(Math.max(...lengths), shape.headSize);
    for (let b = 0; b < lengths.length; b++) {
      multiHeadSelfAttentionFast(context, qkvValues, sequenceStarts[b]!, lengths[b]!, shape, scratch);
    }
    return context;
  }

  /** Runs `backend.attention` 5 times over the batch; checks each result with `check`. */
  async function runAttention(backend: LinearBackend, check: (context: Float32Array, call: number) => void): Promise<void> {
    const block = backend.allocate(T * 4 * H); // qkv [T, 3H] then context [T, H], one allocation
    const qkv = block.subarray(0, T * 3 * H);
    const context = block.subarray(T * 3 * H);
    qkv.set(qkvValues);
    for (let call = 0; call < 5; call++) {
      context.fill(Number.NaN);
      backend.attention!(context, qkv, sequenceStarts, shape, createAttentionScratch(256, shape.headSize));
      check(context, call);
    }
    // A scratch too small for the longest sequence is refused before any work starts.
    expect(() => backend.attention!(context, qkv, sequenceStarts, shape, createAttentionScratch(100, shape.headSize))).toThrow(
      /attention scratch was made for ≤ 100 tokens/,
    );
  }

  it('threaded JS: bit-identical to attention-fast.ts, with pairs computed by the worker', async () => {
    const backend = await createThreadedBackend({ threads: 2, spawnWorker: spawnNodeLinearWorker });
    try {
      const expected = expectedContext();
      const before = backend.rowsComputedByWorkers;
      await runAttention(backend, (context, call) => expectIdentical(context, expected, `threaded JS attention, call ${call}`));
      expect(backend.rowsComputedByWorkers).toBeGreaterThan(before);
    } finally {
      backend.dispose();
    }
  });

  it('SIMD (simd-attention.ts): within float32 rounding of attention-fast.ts; 2 threads give the 1-thread bits', async () => {
    const single = await createSimdBackend();
    const threaded = await createThreadedSimdBackend({ threads: 2, spawnWorker: spawnNodeLinearWorker });
    try {
      const expected = expectedContext();
      let oneThread: Float32Array | null = null;
      await runAttention(single, (context) => {
        // float32 scores: with values up to 3, |score| reaches ~50 after 1/√d, and its float32
        // rounding (~50 · 6e-8) moves probabilities by a few 1e-6 relative; measured 3.1e-6.
        expect(maxRelativeError(context, expected)).toBeLessThan(1e-5);
        oneThread ??= context.slice();
      });
      const before = threaded.rowsComputedByWorkers;
      await runAttention(threaded, (context, call) => expectIdentical(context, oneThread!, `threaded SIMD attention, call ${call}`));
      expect(threaded.rowsComputedByWorkers).toBeGreaterThan(before);
    } finally {
      single.dispose();
      threaded.dispose();
    }
  });

  it('the one-thread JS backends leave attention to the model; threads: 1 runs it on the calling thread', async () => {
    expect(packedBackend.attention).toBeUndefined();
    expect(plainBackend.attention).toBeUndefined();
    const oneThread = await createThreadedBackend({ threads: 1 });
    try {
      const expected = expectedContext();
      await runAttention(oneThread, (context, call) => expectIdentical(context, expected, `threads: 1 attention, call ${call}`));
    } finally {
      oneThread.dispose();
    }
  });
});

describe('workers that start on demand and join later (waitForWorkers: false)', () => {
  type LateBackend = LinearBackend & { readonly rowsComputedByWorkers: number };
  const factories: [string, (spawnWorker: SpawnLinearWorker) => Promise<LateBackend>][] = [
    ['threaded JS', (spawnWorker) => createThreadedBackend({ threads: 2, spawnWorker, waitForWorkers: false })],
    ['threaded SIMD', (spawnWorker) => createThreadedSimdBackend({ threads: 2, spawnWorker, waitForWorkers: false })],
  ];
  // One call: 2.2 M multiply-adds, worth sharing for both backends; the workers start after
  // `callsToStart` of them.
  const [rows, inFeatures, outFeatures] = [64, 256, 136];
  const callsToStart = Math.ceil(START_WORKERS_AFTER_MULTIPLY_ADDS / (rows * inFeatures * outFeatures));

  /** A weight, an input and an output for the call above. */
  function callBuffers(backend: LateBackend, seed: number) {
    const prepared = backend.prepare(randomArray(outFeatures * inFeatures, seed, 0.5), outFeatures, inFeatures);
    const bias = randomArray(outFeatures, seed + 1);
    const x = backend.allocate(rows * inFeatures);
    x.set(randomArray(rows * inFeatures, seed + 2, 2));
    return { prepared, bias, x, out: backend.allocate(rows * outFeatures) };
  }

  it('starts no worker until the calls have asked for START_WORKERS_AFTER_MULTIPLY_ADDS', async () => {
    for (const [label, create] of factories) {
      let spawned = 0;
      const countingSpawner: SpawnLinearWorker = () => {
        spawned++;
        return spawnNodeLinearWorker();
      };
      const backend = await create(countingSpawner);
      const { prepared, bias, x, out } = callBuffers(backend, 521);
      for (let call = 1; call < callsToStart; call++) backend.linear(out, x, prepared, bias, rows);
      expect(spawned, `${label}: after ${callsToStart - 1} calls`).toBe(0);
      backend.linear(out, x, prepared, bias, rows);
      expect(spawned, `${label}: after ${callsToStart} calls`).toBe(1);
      for (let call = 0; call < 3; call++) backend.linear(out, x, prepared, bias, rows);
      expect(spawned, `${label}: started once`).toBe(1);
      backend.dispose();
    }
  });

  it('computes on the calling thread until the worker is ready, then shares rows with it, bit for bit', async () => {
    for (const [label, create] of factories) {
      // Node workers that get no message (their 'init' first) and send none (their 'ready')
      // until released: the backend must be usable before that.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // Messages to the worker: held, then posted in order at release and directly after it (the
      // caller may block right after posting, so nothing may wait for a microtask then).
      const held: (() => void)[] = [];
      let isReleased = false;
      void released.then(() => {
        isReleased = true;
        for (const post of held.splice(0)) post();
      });
      const heldSpawner: SpawnLinearWorker = () => {
        const worker = spawnNodeLinearWorker();
        return {
          postMessage: (message) => (isReleased ? worker.postMessage(message) : held.push(() => worker.postMessage(message))),
          onMessage: (listener) => worker.onMessage((message) => void released.then(() => listener(message))),
          onError: (listener) => worker.onError(listener),
          unref: () => worker.unref(),
          terminate: () => worker.terminate(),
        };
      };
      const backend = await create(heldSpawner);
      // The weight is registered before the worker exists: the worker must still get it.
      const { prepared, bias, x, out: alone } = callBuffers(backend, 501);
      for (let call = 0; call <= callsToStart; call++) backend.linear(alone, x, prepared, bias, rows);
      expect(backend.rowsComputedByWorkers, `${label}: no worker before it is ready`).toBe(0);

      release();
      await released;
      const shared = backend.allocate(rows * outFeatures);
      const deadline = performance.now() + 20_000;
      while (backend.rowsComputedByWorkers === 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        backend.linear(shared, x, prepared, bias, rows);
      }
      expect(backend.rowsComputedByWorkers, `${label}: the worker joined`).toBeGreaterThan(0);
      expectIdentical(shared, alone, `${label}: rows shared with the worker vs computed alone`);
      backend.dispose();
    }
  });

  it('lets the workers join while the caller computes without returning to its event loop', async () => {
    // A caller that embeds batch after batch may never let its event loop turn, so the workers'
    // 'ready' messages stay undelivered: the workers must join through the control block.
    for (const [label, create] of factories) {
      const backend = await create(spawnNodeLinearWorker);
      const { prepared, x, out } = callBuffers(backend, 511);
      const deadline = performance.now() + 20_000;
      while (backend.rowsComputedByWorkers === 0 && performance.now() < deadline) {
        backend.linear(out, x, prepared, null, rows); // synchronous: no message is delivered meanwhile
      }
      expect(backend.rowsComputedByWorkers, `${label}: the worker joined without a turn of the event loop`).toBeGreaterThan(0);
      backend.dispose();
    }
  });

  it('reports a worker that cannot start at a call after it was started, not at creation', async () => {
    const failingSpawner: SpawnLinearWorker = () => ({
      postMessage() {},
      onMessage() {},
      onError(listener) {
        queueMicrotask(() => listener(new Error('entry module not found')));
      },
      unref() {},
      terminate() {},
    });
    for (const [label, create] of factories) {
      const backend = await create(failingSpawner);
      await new Promise((resolve) => setTimeout(resolve, 0));
      const { prepared, x, out } = callBuffers(backend, 531);
      const use = (): void => backend.linear(out, x, prepared, null, rows);
      for (let call = 0; call < callsToStart; call++) use(); // the last one starts the worker
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(use, label).toThrow(/linear worker 1 failed: entry module not found/);
      backend.dispose();
    }
  });
});
