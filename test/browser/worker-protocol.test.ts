/**
 * The worker's request handling (src/browser/worker-host.ts) and the page's client
 * (src/browser/client.ts), in Node without a browser: the client talks to the host through a
 * fake worker that structured-clones every message and honours transfer lists, as a real
 * worker does. Downloads use a fake fetch that serves bytes in chunks.
 */

import { describe, expect, it } from 'vitest';
import { EncoderClient, WorkerFailedError, WorkerRequestError, type WorkerLike } from '../../src/browser/client.ts';
import { DownloadError, downloadBytes } from '../../src/browser/download.ts';
import type { LoadProgress, WorkerRequest, WorkerResponse } from '../../src/browser/protocol.ts';
import { createWorkerHost, ownBuffer } from '../../src/browser/worker-host.ts';
import { generateSyntheticCheckpoint, SentenceEncoder, SYNTHETIC_TINY } from '../../src/index.ts';
import { realVocab } from '../helpers/checkpoints.ts';

const vocab = realVocab();
const tinyWeights = generateSyntheticCheckpoint(SYNTHETIC_TINY);
const TEXTS = ['first sentence', 'Zweiter Satz, mit Ümlauten', ''];

/** A fetch that serves `files` by URL, `chunk` bytes at a time, with Content-Length unless told not to. */
function fakeFetch(files: Record<string, Uint8Array>, options: { chunk?: number; lie?: number; noLength?: boolean } = {}): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = String(input);
    const bytes = files[url];
    if (bytes === undefined) return new Response('missing', { status: 404, statusText: 'Not Found' });
    const chunk = options.chunk ?? 4096;
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + chunk));
        offset += chunk;
      },
    });
    const headers: Record<string, string> = options.noLength ? {} : { 'content-length': String(options.lie ?? bytes.length) };
    return new Response(body, { headers });
  }) as typeof fetch;
}

/** A worker stand-in: messages are structured-cloned both ways, transferred buffers are detached. */
function fakeWorker(fetchImpl?: typeof fetch): { worker: WorkerLike; transfers: Transferable[][]; crash(message: string): void } {
  const listeners: Record<string, Array<(event: never) => void>> = { message: [], error: [], messageerror: [] };
  const transfers: Transferable[][] = [];
  const host = createWorkerHost((message: WorkerResponse, transfer) => {
    transfers.push(transfer);
    const copy = structuredClone(message, { transfer });
    queueMicrotask(() => listeners.message!.forEach((listener) => listener({ data: copy } as never)));
  }, fetchImpl);
  const worker: WorkerLike = {
    postMessage(message: WorkerRequest, transfer: Transferable[]) {
      const copy = structuredClone(message, { transfer });
      queueMicrotask(() => void host.handle(copy));
    },
    addEventListener(type: string, listener: (event: never) => void) {
      listeners[type]!.push(listener);
    },
  } as WorkerLike;
  return {
    worker,
    transfers,
    crash: (message) => listeners.error!.forEach((listener) => listener({ message } as never)),
  };
}

async function nodeBits(texts: string[]): Promise<number[][]> {
  const encoder = SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights: tinyWeights, vocab });
  return (await encoder.embed(texts)).map((row) => Array.from(new Uint32Array(row.buffer, row.byteOffset, row.length)));
}

const bits = (rows: Float32Array[]): number[][] => rows.map((row) => Array.from(new Uint32Array(row.buffer, row.byteOffset, row.length)));

describe('EncoderClient ⇄ worker host', () => {
  it('loads the synthetic model, reports progress, and embeds with the engine’s bits', async () => {
    const { worker, transfers } = fakeWorker();
    const client = EncoderClient.fromWorker(worker);
    const progress: LoadProgress[] = [];
    const info = await client.load({ weights: { kind: 'synthetic', variant: 'tiny' }, vocab }, (p) => progress.push(p));
    expect(info).toMatchObject({ origin: 'synthetic', synthetic: true, layers: 2, heads: 4, hiddenSize: 32, vocabSize: 30522, maxSeqLength: 256 });
    expect(info.weightBytes).toBe(tinyWeights.length);
    expect(progress.map((p) => p.phase)).toEqual(['generate', 'prepare']);

    const rows = await client.embed(TEXTS);
    expect(bits(rows)).toEqual(await nodeBits(TEXTS));
    // The [B, H] result crossed as one transferred buffer, and the rows are views of it.
    const embedTransfer = transfers.at(-1)!;
    expect(embedTransfer).toHaveLength(1);
    expect(rows.every((row) => row.buffer === rows[0]!.buffer)).toBe(true);
    expect(rows[0]!.buffer.byteLength).toBe(TEXTS.length * 32 * 4);
  });

  it('transfers a weights buffer into the worker (detached on the sending side)', async () => {
    const { worker } = fakeWorker();
    const client = EncoderClient.fromWorker(worker);
    const buffer = tinyWeights.slice().buffer;
    const info = await client.load({ weights: { kind: 'buffer', buffer }, config: SYNTHETIC_TINY.config, vocab });
    expect(info.origin).toBe('buffer');
    expect(buffer.byteLength).toBe(0);
    expect(bits(await client.embed(TEXTS))).toEqual(await nodeBits(TEXTS));
  });

  it('reads a Blob in the worker', async () => {
    const { worker } = fakeWorker();
    const client = EncoderClient.fromWorker(worker);
    const info = await client.load({ weights: { kind: 'blob', blob: new Blob([tinyWeights as Uint8Array<ArrayBuffer>]) }, config: JSON.stringify(SYNTHETIC_TINY.config), vocab });
    expect(info.origin).toBe('blob');
    expect(bits(await client.embed(['blob']))).toEqual(await nodeBits(['blob']));
  });

  it('downloads weights, config and vocab with throttled, monotonic progress', async () => {
    const files = {
      'https://models.test/model.safetensors': tinyWeights,
      'https://models.test/config.json': new TextEncoder().encode(JSON.stringify(SYNTHETIC_TINY.config)),
      'https://models.test/vocab.txt': new TextEncoder().encode(vocab),
    };
    const { worker } = fakeWorker(fakeFetch(files, { chunk: 1000 }));
    const client = EncoderClient.fromWorker(worker);
    const progress: LoadProgress[] = [];
    const info = await client.load(
      { weights: { kind: 'url', url: 'https://models.test/model.safetensors' }, configUrl: 'https://models.test/config.json', vocabUrl: 'https://models.test/vocab.txt' },
      (p) => progress.push(p),
    );
    expect(info.origin).toBe('network');
    // Node has no Cache Storage: the load still works, and says why nothing was kept.
    expect(info.cached).toEqual({ stored: false, reason: expect.stringMatching(/no Cache Storage/) });
    const downloads = progress.filter((p) => p.phase === 'download');
    // 4054 chunks of 1000 bytes, reported at most every 1/200 of the total (plus the start and the end).
    expect(downloads.length).toBeGreaterThan(100);
    expect(downloads.length).toBeLessThanOrEqual(203);
    for (let i = 1; i < downloads.length; i++) expect(downloads[i]!.loaded).toBeGreaterThanOrEqual(downloads[i - 1]!.loaded);
    expect(downloads.at(-1)).toEqual({ phase: 'download', loaded: tinyWeights.length, total: tinyWeights.length });
    expect(bits(await client.embed(TEXTS))).toEqual(await nodeBits(TEXTS));
  });

  it('requests sent before the load finishes wait for it', async () => {
    const { worker } = fakeWorker();
    const client = EncoderClient.fromWorker(worker);
    const loading = client.load({ weights: { kind: 'synthetic', variant: 'tiny' }, vocab });
    const embedding = client.embed(['early']);
    const tokens = client.tokenize('Early bird');
    await loading;
    expect(bits(await embedding)).toEqual(await nodeBits(['early']));
    expect((await tokens).tokens).toEqual(['[CLS]', 'early', 'bird', '[SEP]']);
  });

  it('a model replaced while a request runs on it is disposed only after that request', async () => {
    const { worker } = fakeWorker();
    const client = EncoderClient.fromWorker(worker);
    // The SIMD backend frees its WebAssembly memory on dispose, so using it afterwards would fail.
    await client.load({ weights: { kind: 'synthetic', variant: 'tiny' }, vocab, backend: 'simd' });
    const texts = Array.from({ length: 12 }, (_, i) => `sentence ${i}`);
    const running = client.embed(texts, { batchSize: 1 }); // yields to the event loop between batches
    const replacing = client.load({ weights: { kind: 'synthetic', variant: 'tiny' }, vocab });
    const [rows, info] = await Promise.all([running, replacing]);
    expect(rows).toHaveLength(12);
    expect(info.backend).toBe('packed'); // the default 'js' backend
    await client.dispose();
    await expect(client.embed(['after'])).rejects.toThrow(/no model is loaded/);
  });

  it('errors keep their class name; a failed load keeps the previous model', async () => {
    const { worker } = fakeWorker(fakeFetch({}));
    const client = EncoderClient.fromWorker(worker);
    await expect(client.embed(['x'])).rejects.toMatchObject({ name: 'WorkerProtocolError', message: expect.stringMatching(/no model is loaded/) });
    await client.load({ weights: { kind: 'synthetic', variant: 'tiny' }, vocab });

    const bad = client.load({ weights: { kind: 'buffer', buffer: new Uint8Array(16).buffer }, config: SYNTHETIC_TINY.config, vocab });
    await expect(bad).rejects.toBeInstanceOf(WorkerRequestError);
    await expect(bad).rejects.toMatchObject({ name: 'SafetensorsError', request: 'load' });
    const wrongShape = client.load({ weights: { kind: 'synthetic', variant: 'tiny' }, vocab: 'just\nthree\nlines' });
    await expect(wrongShape).rejects.toThrow(/\[UNK\]|unknown-word/);
    const missing = client.load({ weights: { kind: 'url', url: 'https://models.test/absent.safetensors' }, config: SYNTHETIC_TINY.config, vocab });
    await expect(missing).rejects.toMatchObject({ name: 'DownloadError', message: expect.stringMatching(/absent\.safetensors: HTTP 404/) });
    await expect(client.load({ weights: { kind: 'synthetic', variant: 'huge' as 'tiny' }, vocab })).rejects.toThrow(/unknown synthetic variant "huge"/);
    await expect(client.load({ weights: { kind: 'url', url: 'https://x.test/m' }, vocab })).rejects.toThrow(/give config/);
    await expect(client.load({ weights: { kind: 'synthetic', variant: 'tiny' } })).rejects.toThrow(/give vocab/);

    expect(bits(await client.embed(TEXTS))).toEqual(await nodeBits(TEXTS));
  });

  it('passes embed options through and reports progress per batch', async () => {
    const { worker } = fakeWorker();
    const client = EncoderClient.fromWorker(worker);
    await client.load({ weights: { kind: 'synthetic', variant: 'tiny' }, vocab });
    const encoder = SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights: tinyWeights, vocab });
    const texts = ['one', 'two words', 'three words here', 'four', 'five'];

    const progress: Array<{ done: number; total: number }> = [];
    const truncated = await client.embed(texts, { batchSize: 2, truncateDim: 8, onProgress: (p) => progress.push(p) });
    expect(progress).toEqual([{ done: 2, total: 5 }, { done: 4, total: 5 }, { done: 5, total: 5 }]);
    const expected = await encoder.embedMatrix(texts, { truncateDim: 8 });
    expect(bits(truncated)).toEqual(bits(expected.rowViews()));

    const quantized = await client.embed(texts, { precision: 'int8' });
    expect(quantized[0]).toBeInstanceOf(Int8Array);
    expect(quantized.map((row) => Array.from(row))).toEqual((await encoder.embedMatrix(texts, { precision: 'int8' })).toArray());

    await expect(client.embed(texts, { batchsize: 2 } as never)).rejects.toThrow(/unknown option "batchsize"/);
    await expect(client.embed(texts, { batchSize: 0 })).rejects.toMatchObject({ name: 'InputError' });
  });

  it('inspect returns every attention map as probability rows, and the embedding', async () => {
    const { worker } = fakeWorker();
    const client = EncoderClient.fromWorker(worker);
    await client.load({ weights: { kind: 'synthetic', variant: 'tiny' }, vocab });
    const view = await client.inspect('look inside this');
    const L = view.ids.length;
    expect(view.tokens[0]).toBe('[CLS]');
    expect(view.attention.length).toBe(view.layers * view.heads * L * L);
    for (let row = 0; row < view.attention.length / L; row++) {
      const values = view.attention.subarray(row * L, (row + 1) * L);
      expect(values.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Math.abs(values.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    }
    expect(bits([view.embedding])).toEqual(await nodeBits(['look inside this']));
  });

  it('a crashed worker rejects pending and later requests', async () => {
    const { worker, crash } = fakeWorker();
    const client = EncoderClient.fromWorker(worker);
    const pending = client.load({ weights: { kind: 'synthetic', variant: 'tiny' }, vocab });
    crash('script failed');
    await expect(pending).rejects.toBeInstanceOf(WorkerFailedError);
    await expect(client.embed(['x'])).rejects.toThrow(/the model worker failed: script failed/);
  });

  it('the host answers an unknown request with an error, not silence', async () => {
    const answers: WorkerResponse[] = [];
    const host = createWorkerHost((message) => answers.push(message));
    await host.handle({ id: 7, type: 'explode' } as unknown as WorkerRequest);
    expect(answers).toEqual([{ id: 7, type: 'error', error: { name: 'WorkerProtocolError', message: 'unknown request type "explode"' } }]);
  });
});

describe('downloadBytes', () => {
  it('fails on a body shorter than its Content-Length', async () => {
    const fetchImpl = fakeFetch({ 'https://x.test/a': new Uint8Array(100) }, { lie: 200 });
    await expect(downloadBytes('https://x.test/a', undefined, fetchImpl)).rejects.toThrow(DownloadError);
    await expect(downloadBytes('https://x.test/a', undefined, fetchImpl)).rejects.toThrow(/ended after 100 of 200 bytes/);
  });

  it('grows its buffer when the size is unknown', async () => {
    const bytes = new Uint8Array(3_000_000); // past the first 1 MiB guess, twice
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
    const seen: Array<number | null> = [];
    const got = await downloadBytes('https://x.test/b', (_, total) => seen.push(total), fakeFetch({ 'https://x.test/b': bytes }, { noLength: true, chunk: 65536 }));
    expect(got.length).toBe(bytes.length);
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
    expect(seen.every((total) => total === null)).toBe(true);
  });

  it('names the URL when the network fails', async () => {
    const failing = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    await expect(downloadBytes('https://x.test/c', undefined, failing)).rejects.toThrow(/cannot download https:\/\/x\.test\/c: Failed to fetch/);
  });
});

describe('ownBuffer', () => {
  it('keeps a buffer the data owns whole, and copies a view into a larger one', () => {
    const whole = Float32Array.from({ length: 6 }, (_, i) => i);
    expect(ownBuffer({ data: whole, count: 2, dimension: 3 }).data).toBe(whole);
    const view = whole.subarray(3, 6);
    const owned = ownBuffer({ data: view, count: 1, dimension: 3 });
    expect(Array.from(owned.data)).toEqual([3, 4, 5]);
    expect(owned.data.buffer.byteLength).toBe(12);
  });
});
