/**
 * MicroBatcher on its own, with a fake model whose "embedding" of a sequence is its ids, so each
 * result shows which sequence it came from: merging across requests, the size and token limits,
 * first-come-first-served order, splitting large requests, the bounded queue, withdrawal by
 * AbortSignal, failure isolation, and idle notification. Plus random schedules checked against
 * the plain rule "every request gets its own sequences back, in order".
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TokenSequence } from '../../src/model/token-batch.ts';
import { MicroBatcher, QueueFullError } from '../../src/server/micro-batcher.ts';
import { waitFor } from './helpers.ts';

/** A fake model that records batches and can be held open. */
class FakeModel {
  readonly batches: number[][][] = [];
  private gates: Array<() => void> = [];
  held = false;
  failOn?: (batch: number[][]) => boolean;

  readonly embed = async (batch: TokenSequence[]): Promise<Float32Array[]> => {
    const ids = batch.map((sequence) => Array.from(sequence.inputIds));
    this.batches.push(ids);
    if (this.held) await new Promise<void>((resolve) => this.gates.push(resolve));
    if (this.failOn?.(ids)) throw new Error('fake model failure');
    return ids.map((sequence) => Float32Array.from(sequence));
  };

  releaseAll(): void {
    this.held = false;
    for (const open of this.gates.splice(0)) open();
  }
}

const seq = (...ids: number[]): number[] => ids;
const values = (vectors: Float32Array[]): number[][] => vectors.map((v) => Array.from(v));
/** Not a fixed tick: the batcher starts with setImmediate, which a setTimeout(0) may run before or after. */
const firstBatchStarted = (model: FakeModel): Promise<void> => waitFor(() => model.batches.length === 1, 5000, 'the first batch');
const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('MicroBatcher', () => {
  it('merges requests that arrive within maxWaitMs into one batch', async () => {
    const model = new FakeModel();
    const batcher = new MicroBatcher(model.embed, { maxWaitMs: 20 });
    const a = batcher.submit([seq(1), seq(2)]);
    const b = batcher.submit([seq(3)]);
    const c = batcher.submit([seq(4), seq(5)]);
    expect(values(await a)).toEqual([[1], [2]]);
    expect(values(await b)).toEqual([[3]]);
    expect(values(await c)).toEqual([[4], [5]]);
    expect(model.batches).toEqual([[[1], [2], [3], [4], [5]]]);
  });

  it('starts at once when maxBatchSize sequences wait, without waiting out maxWaitMs', async () => {
    const model = new FakeModel();
    const batcher = new MicroBatcher(model.embed, { maxWaitMs: 10_000, maxBatchSize: 3 });
    const started = Date.now();
    await Promise.all([batcher.submit([seq(1), seq(2)]), batcher.submit([seq(3), seq(4)])]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(model.batches.map((b) => b.length)).toEqual([3, 1]);
  });

  it('cuts a large request across batches of maxBatchSize, first come first served', async () => {
    const model = new FakeModel();
    const batcher = new MicroBatcher(model.embed, { maxWaitMs: 0, maxBatchSize: 4 });
    model.held = true;
    const first = batcher.submit([seq(0)]);
    await firstBatchStarted(model);
    const big = batcher.submit(Array.from({ length: 10 }, (_, i) => seq(10 + i)));
    const small = batcher.submit([seq(99)]);
    model.releaseAll();
    await first;
    expect(values(await big)).toEqual(Array.from({ length: 10 }, (_, i) => [10 + i]));
    expect(values(await small)).toEqual([[99]]);
    expect(model.batches.map((b) => b.map((s) => s[0]))).toEqual([[0], [10, 11, 12, 13], [14, 15, 16, 17], [18, 19, 99]]);
  });

  it('keeps batches within maxBatchTokens; a longer sequence runs alone', async () => {
    const model = new FakeModel();
    const batcher = new MicroBatcher(model.embed, { maxWaitMs: 5, maxBatchTokens: 6 });
    const long = Array.from({ length: 10 }, (_, i) => i);
    await Promise.all([batcher.submit([seq(1, 1, 1), seq(2, 2, 2), seq(3, 3)]), batcher.submit([long, seq(4)])]);
    expect(model.batches.map((b) => b.map((s) => s.length))).toEqual([[3, 3], [2], [10], [1]]);
  });

  it('with mergeRequests false, never mixes two requests in a batch', async () => {
    const model = new FakeModel();
    const batcher = new MicroBatcher(model.embed, { mergeRequests: false, maxBatchSize: 2 });
    model.held = true;
    const jobs = [batcher.submit([seq(1), seq(2), seq(3)]), batcher.submit([seq(4)]), batcher.submit([seq(5)])];
    await firstBatchStarted(model);
    model.releaseAll();
    await Promise.all(jobs);
    expect(model.batches.map((b) => b.map((s) => s[0]))).toEqual([[1, 2], [3], [4], [5]]);
  });

  it('refuses a request that would overfill the queue, at once, and accepts again once it drains', async () => {
    const model = new FakeModel();
    const batcher = new MicroBatcher(model.embed, { maxWaitMs: 0, maxBatchSize: 2, maxQueuedSequences: 3 });
    model.held = true;
    const running = batcher.submit([seq(1), seq(2)]); // taken into the batch: the queue is empty again
    await firstBatchStarted(model);
    const queued = batcher.submit([seq(3), seq(4), seq(5)]);
    expect(batcher.queuedSequences).toBe(3);
    expect(() => batcher.submit([seq(6)])).toThrow(QueueFullError);
    model.releaseAll();
    await Promise.all([running, queued]);
    expect(values(await batcher.submit([seq(6)]))).toEqual([[6]]);
  });

  it('an aborted request leaves the queue at once and rejects with the abort reason', async () => {
    const model = new FakeModel();
    const batcher = new MicroBatcher(model.embed, { maxWaitMs: 0, maxBatchSize: 1 });
    model.held = true;
    const running = batcher.submit([seq(1)]);
    await firstBatchStarted(model);
    const controller = new AbortController();
    const withdrawn = batcher.submit([seq(2), seq(3)], controller.signal);
    const kept = batcher.submit([seq(4)]);
    expect(batcher.queuedSequences).toBe(3);
    controller.abort(new Error('gave up'));
    await expect(withdrawn).rejects.toThrow('gave up');
    expect(batcher.queuedSequences).toBe(1);
    model.releaseAll();
    await Promise.all([running, kept]);
    expect(model.batches.map((b) => b[0]![0])).toEqual([1, 4]);
  });

  it('an already aborted signal is refused before queueing', () => {
    const batcher = new MicroBatcher(new FakeModel().embed);
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    expect(() => batcher.submit([seq(1)], controller.signal)).toThrow('too late');
    expect(batcher.queuedSequences).toBe(0);
  });

  it('a failing batch rejects the requests in it only', async () => {
    const model = new FakeModel();
    model.failOn = (batch) => batch.some((s) => s[0] === 13);
    const batcher = new MicroBatcher(model.embed, { maxWaitMs: 0, maxBatchSize: 2, mergeRequests: false });
    const results = await Promise.allSettled([batcher.submit([seq(1)]), batcher.submit([seq(13)]), batcher.submit([seq(2)])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('whenIdle resolves once everything queued has run', async () => {
    const model = new FakeModel();
    const batcher = new MicroBatcher(model.embed, { maxWaitMs: 1 });
    await batcher.whenIdle(); // idle from the start
    model.held = true;
    const job = batcher.submit([seq(1)]);
    let idle = false;
    const whenIdle = batcher.whenIdle().then(() => {
      idle = true;
    });
    await tick(20);
    expect(idle).toBe(false);
    model.releaseAll();
    await Promise.all([job, whenIdle]);
    expect(idle).toBe(true);
    expect(batcher.busy).toBe(false);
  });

  it('rejects nonsense options', () => {
    const embed = new FakeModel().embed;
    expect(() => new MicroBatcher(embed, { maxBatchSize: 0 })).toThrow(RangeError);
    expect(() => new MicroBatcher(embed, { maxBatchTokens: 1.5 })).toThrow(RangeError);
    expect(() => new MicroBatcher(embed, { maxQueuedSequences: -1 })).toThrow(RangeError);
    expect(() => new MicroBatcher(embed, { maxWaitMs: Number.NaN })).toThrow(RangeError);
  });

  it('random schedules: every request gets exactly its own sequences back, batches within limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ lengths: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }), gap: fc.integer({ min: 0, max: 2 }), abort: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 4, max: 20 }),
        fc.boolean(),
        async (requests, maxBatchSize, maxBatchTokens, mergeRequests) => {
          const model = new FakeModel();
          const batcher = new MicroBatcher(model.embed, { maxWaitMs: 1, maxBatchSize, maxBatchTokens, mergeRequests, maxQueuedSequences: 1000 });
          let next = 0;
          const pending = requests.map(async ({ lengths, gap, abort }) => {
            await tick(gap);
            const sequences = lengths.map((length) => Array.from({ length }, () => next++));
            const controller = new AbortController();
            const result = batcher.submit(sequences, controller.signal);
            if (abort) controller.abort(new Error('aborted'));
            try {
              expect(values(await result)).toEqual(sequences);
              return 'ok';
            } catch (error) {
              expect(abort).toBe(true);
              expect((error as Error).message).toBe('aborted');
              return 'aborted';
            }
          });
          await Promise.all(pending);
          await batcher.whenIdle();
          expect(batcher.queuedSequences).toBe(0);
          for (const batch of model.batches) {
            expect(batch.length).toBeLessThanOrEqual(maxBatchSize);
            const tokens = batch.reduce((sum, s) => sum + s.length, 0);
            if (batch.length > 1) expect(tokens).toBeLessThanOrEqual(maxBatchTokens);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
