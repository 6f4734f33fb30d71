/**
 * loadSentenceEncoder's loading order: the backend starts before the folder is read (so that
 * workers and WebAssembly compilation overlap the 91 MB read), the weights are read while the
 * small files are, and a folder that fails to load leaves no backend running.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSentenceEncoder } from '../../src/node.ts';
import { writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';
import { packedBackend } from '../../src/tensor/packed-backend.ts';
import type { LinearBackend } from '../../src/tensor/backend.ts';

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
});
