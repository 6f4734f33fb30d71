/**
 * loadSentenceEncoder's loading order: the backend starts before the folder is read (so that
 * workers and WebAssembly compilation overlap the 91 MB read), the tokenizer is built while the
 * weights are read, the word-embedding table arrives after the encoder is built (without
 * changing a bit of its output), and a folder that fails to load leaves no backend running.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadSentenceEncoder, readModelFolder, SentenceEncoder } from '../../src/node.ts';
import { writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';
import { packedBackend } from '../../src/tensor/packed-backend.ts';
import type { LinearBackend } from '../../src/tensor/backend.ts';
import type { SimdBackend } from '../../src/tensor/simd/simd-backend.ts';

const work = mkdtempSync(join(tmpdir(), 'minilm-load-'));
let tiny: string;
beforeAll(async () => {
  tiny = await writeSyntheticModelFolder('tiny', join(work, 'tiny'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A backend (the packed one underneath) that records whether it was disposed, handed over as a promise. */
function trackedBackend(): { backend: Promise<LinearBackend>; disposed: () => boolean } {
  let disposed = false;
  const backend: LinearBackend = { ...packedBackend, name: 'tracked', dispose: () => void (disposed = true) };
  return { backend: Promise.resolve(backend), disposed: () => disposed };
}

describe('loadSentenceEncoder', () => {
  it('accepts a backend that is still starting (a promise), and embeds like the default one', async () => {
    const tracked = trackedBackend();
    const encoder = await loadSentenceEncoder(tiny, { backend: tracked.backend });
    const reference = await loadSentenceEncoder(tiny, { threads: 1 });
    const [a] = await encoder.embed(['a sentence to embed']);
    const [b] = await reference.embed(['a sentence to embed']);
    expect([...a!]).toEqual([...b!]);
    encoder.dispose();
    reference.dispose();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(tracked.disposed()).toBe(true);
  });

  it('disposes the backend it started when the folder fails to load, and names the missing file', async () => {
    const broken = join(work, 'no-weights');
    cpSync(tiny, broken, { recursive: true });
    rmSync(join(broken, 'model.safetensors'));
    writeFileSync(join(broken, 'pytorch_model.bin'), 'not read');
    const tracked = trackedBackend();
    await expect(loadSentenceEncoder(broken, { backend: tracked.backend })).rejects.toThrow(
      /has no model\.safetensors \(only pytorch_model\.bin, which this engine does not read/,
    );
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(tracked.disposed()).toBe(true);
  });

  it('reports a missing config.json before the weights, with a threaded backend started early (threads: 2)', async () => {
    const broken = join(work, 'no-config');
    cpSync(tiny, broken, { recursive: true });
    rmSync(join(broken, 'config.json'));
    await expect(loadSentenceEncoder(broken, { threads: 2 })).rejects.toThrow(/has no config\.json/);
  });

  it('builds the encoder before the word-embedding table is read, with the same output as from the whole file', async () => {
    const deferredParts = await readModelFolder(tiny, { deferWordEmbeddings: true, sharedWeights: true });
    expect(deferredParts.deferredWeights).toBeDefined(); // the tiny table (3.9 MB) is deferred too
    expect(deferredParts.weights!.buffer).toBeInstanceOf(SharedArrayBuffer);
    await deferredParts.deferredWeights!.complete;
    const wholeParts = await readModelFolder(tiny);
    expect(wholeParts.deferredWeights).toBeUndefined();
    expect(Buffer.compare(Buffer.from(deferredParts.weights!), Buffer.from(wholeParts.weights!))).toBe(0);

    const texts = ['A man is eating food.', 'Someone is playing a guitar on the street at night.', 'naïve café'];
    const reference = SentenceEncoder.fromParts({ ...wholeParts, weights: wholeParts.weights!, threads: 1 });
    const want = (await reference.embed(texts)).map((v) => [...v]);
    for (const threads of [1, 2]) {
      const encoder = await loadSentenceEncoder(tiny, { threads }); // embeds at once, table still being read
      expect((await encoder.embed(texts)).map((v) => [...v])).toEqual(want);
      encoder.dispose();
    }
  });
});

describe('loadSentenceEncoder on the SIMD backend', () => {
  it('reads the checkpoint into the backend memory and computes on the weights where they lie (1 and 2 threads)', async () => {
    const texts = ['A man is eating food.', 'Someone is playing a guitar on the street at night.', 'naïve café'];
    const reference = await loadSentenceEncoder(tiny, { threads: 1 });
    const want = await reference.embed(texts);
    reference.dispose();
    for (const threads of [1, 2]) {
      const encoder = await loadSentenceEncoder(tiny, { backend: 'simd', threads });
      const got = await encoder.embed(texts);
      got.forEach((vector, i) => {
        const difference = Math.max(...vector.map((value, j) => Math.abs(value - want[i]![j]!)));
        expect(difference, `threads ${threads}, text ${i}`).toBeLessThanOrEqual(1e-6);
      });
      expect((await simdBackendOf(encoder)).copiedWeightBytes, `threads ${threads}: weights copied`).toBe(0);
      encoder.dispose();
    }
    // The same weights handed to fromParts in a buffer outside the backend's memory are copied in: the check above can fail.
    const parts = await readModelFolder(tiny);
    const fromParts = SentenceEncoder.fromParts({ ...parts, weights: parts.weights!, backend: 'simd', threads: 1 });
    await fromParts.ready();
    expect((await simdBackendOf(fromParts)).copiedWeightBytes).toBeGreaterThan(0);
    fromParts.dispose();
  });
});

describe('loadSentenceEncoder where SIMD does not compile', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("'auto' falls back to JS over the weights already read into a WebAssembly memory; 'simd' is a clear error", async () => {
    const reference = await loadSentenceEncoder(tiny, { threads: 1 });
    const want = await reference.embed(['A man is eating food.']);
    reference.dispose();
    vi.stubGlobal('WebAssembly', Object.assign(Object.create(WebAssembly) as typeof WebAssembly, { validate: () => false })); // the SIMD probe is refused
    for (const threads of [1, 2]) {
      const encoder = await loadSentenceEncoder(tiny, { backend: 'auto', threads });
      expect(await encoder.embed(['A man is eating food.']), `threads ${threads}`).toEqual(want);
      expect((await simdBackendOf(encoder)).name, `threads ${threads}`).not.toMatch(/simd/i);
      encoder.dispose();
    }
    const refused = await loadSentenceEncoder(tiny, { backend: 'simd', threads: 1 }); // the backend is asynchronous: ready() reports it
    await expect(refused.ready()).rejects.toThrow(/'simd' is unavailable here: this runtime cannot compile WebAssembly SIMD/);
    refused.dispose();
  });
});

/** The encoder's backend (through a private field: this test looks at how the weights were placed). */
async function simdBackendOf(encoder: SentenceEncoder): Promise<SimdBackend> {
  const model = (encoder as unknown as { model: Promise<{ backend: SimdBackend }> | { backend: SimdBackend } }).model;
  return (await model).backend;
}
