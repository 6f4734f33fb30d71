/**
 * examples/cloudflare-worker.ts, run two ways with an in-memory R2 bucket holding the tiny
 * synthetic model:
 *   - imported directly: the HTTP contract (405, 400, 413, 503 then recovery, 200) and the
 *     embeddings, which must equal Node's to the bit after the JSON round trip;
 *   - bundled by esbuild (as wrangler would) and run in a V8 context with code generation from
 *     strings and WebAssembly disabled and SharedArrayBuffer removed: the Workers runtime's rules.
 */

import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import worker from '../../examples/cloudflare-worker.ts';
import { generateSyntheticCheckpoint, SentenceEncoder, SYNTHETIC_TINY } from '../../src/index.ts';
import { realVocab } from '../helpers/checkpoints.ts';
import { ROOT } from '../../scripts/bundle.ts';

const weights = generateSyntheticCheckpoint(SYNTHETIC_TINY);
const vocab = realVocab();
const config = JSON.stringify(SYNTHETIC_TINY.config);
const TEXTS = ['Cloudflare Workers take the weights as bytes.', 'Ünïcödé text, too', ''];

/** A bucket of named objects; `bytes` makes each ArrayBuffer (in whichever realm runs the worker). */
function bucket(files: Record<string, string | Uint8Array>, bytes: (data: Uint8Array) => ArrayBuffer = (d) => d.slice().buffer) {
  return {
    async get(key: string) {
      const file = files[key];
      if (file === undefined) return null;
      const data = typeof file === 'string' ? new TextEncoder().encode(file) : file;
      return { arrayBuffer: async () => bytes(data), text: async () => new TextDecoder().decode(data) };
    },
  };
}

const modelFiles = {
  'all-MiniLM-L6-v2/model.safetensors': weights,
  'all-MiniLM-L6-v2/config.json': config,
  'all-MiniLM-L6-v2/vocab.txt': vocab,
};

const post = (body: string): Request => new Request('https://worker.test/', { method: 'POST', body, headers: { 'content-type': 'application/json' } });

async function expectedEmbeddings(texts: string[]): Promise<number[][]> {
  const encoder = SentenceEncoder.fromParts({ config, weights, vocab });
  return (await encoder.embed(texts)).map((row) => Array.from(row));
}

describe('examples/cloudflare-worker.ts', () => {
  it('answers the HTTP contract, recovers from a missing model, and embeds like Node', async () => {
    const empty = { MODEL: bucket({}) };
    expect((await worker.fetch(new Request('https://worker.test/'), empty)).status).toBe(405);
    expect((await worker.fetch(post('{not json'), empty)).status).toBe(400);
    expect((await worker.fetch(post('{"texts": [1, 2]}'), empty)).status).toBe(400);
    expect((await worker.fetch(post(JSON.stringify({ texts: new Array(65).fill('x') })), empty)).status).toBe(413);
    const missing = await worker.fetch(post('{"texts": ["a"]}'), empty);
    expect(missing.status).toBe(503);
    expect(((await missing.json()) as { error: string }).error).toMatch(/no all-MiniLM-L6-v2\/model\.safetensors/);

    const response = await worker.fetch(post(JSON.stringify({ texts: TEXTS })), { MODEL: bucket(modelFiles) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { dimension: number; embeddings: number[][] };
    expect(body.dimension).toBe(32);
    expect(body.embeddings).toEqual(await expectedEmbeddings(TEXTS));
  });

  it('runs bundled in a V8 context without eval, WebAssembly or SharedArrayBuffer', async () => {
    const built = await esbuild.build({
      entryPoints: [`${ROOT}examples/cloudflare-worker.ts`],
      bundle: true,
      format: 'iife',
      globalName: 'workerModule',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      write: false,
      logLevel: 'silent',
    });
    const context = vm.createContext(
      { TextEncoder, TextDecoder, Request, Response, console },
      { codeGeneration: { strings: false, wasm: false } },
    );
    vm.runInContext('delete globalThis.SharedArrayBuffer; delete globalThis.Atomics; delete globalThis.WebAssembly;', context);
    vm.runInContext(built.outputFiles[0]!.text, context);
    const fetchHandler = vm.runInContext('workerModule.default', context) as typeof worker;
    // ArrayBuffers from the context's own realm, as the platform would hand them over.
    const innerBytes = (data: Uint8Array): ArrayBuffer => {
      const inner = vm.runInContext(`new Uint8Array(${data.length})`, context) as Uint8Array;
      inner.set(data);
      return inner.buffer as ArrayBuffer;
    };
    const response = await fetchHandler.fetch(post(JSON.stringify({ texts: TEXTS })), { MODEL: bucket(modelFiles, innerBytes) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { embeddings: number[][] };
    expect(body.embeddings).toEqual(await expectedEmbeddings(TEXTS));
  });
});
