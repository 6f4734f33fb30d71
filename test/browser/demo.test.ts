/**
 * The demo page in a real browser (Debian's Chromium, driven by playwright-core), served on
 * 127.0.0.1 by scripts/serve-demo.ts from a fresh build:
 *   - the synthetic checkpoint generated in the Web Worker embeds with exactly the float32 bits
 *     the engine gives in Node (same V8 engine, same code, same float64 arithmetic order);
 *   - tokens and every attention map of "look inside" match Node's forward-pass observer;
 *   - weights downloaded from a URL report progress, land in Cache Storage, and the next load
 *     reads them from there; a file chosen in the file picker loads too; a transferred weights
 *     buffer is detached on the page; a bad file fails with the engine's own error name;
 *   - the page with the full-size synthetic model fills every panel without a console error,
 *     and its screenshot is saved as test/artifacts/demo.png (git-ignored).
 *
 * Without Chromium these tests skip with a loud message; with CI set they fail instead.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAll } from '../../scripts/bundle.ts';
import { startDemoServer, type DemoServer } from '../../scripts/serve-demo.ts';
import { generateSyntheticCheckpoint, SentenceEncoder, SYNTHETIC_TINY } from '../../src/index.ts';
import type { ForwardObserver } from '../../src/model/bert.ts';
import { realVocab } from '../helpers/checkpoints.ts';
import { browserRequired, findChromium, launchChromium, MISSING_CHROMIUM_MESSAGE, type LaunchedBrowser } from './chromium.ts';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const chromiumPath = findChromium();
const runBrowserTests = chromiumPath !== null || browserRequired();
if (!runBrowserTests) console.warn(MISSING_CHROMIUM_MESSAGE);

const TEXTS = [
  'A man is playing a guitar.',
  'Héllo, naïve café! 日本語のテキスト',
  'emoji 🙂 and symbols ∑ ≠ ∞',
  '',
  'word '.repeat(300),
];
const INSPECT_TEXT = 'Tokenizers split unfamiliar words into pieces.';

const tinyWeights = generateSyntheticCheckpoint(SYNTHETIC_TINY);
const tinyConfig = JSON.stringify(SYNTHETIC_TINY.config);

function bitsOf(rows: Float32Array[]): number[][] {
  return rows.map((row) => Array.from(new Uint32Array(row.buffer, row.byteOffset, row.length)));
}

/** The same work in Node: embeddings, ids and attention maps of the tiny synthetic model. */
async function nodeReference(): Promise<{ embeddings: number[][]; ids: number[]; attention: number[] }> {
  const encoder = SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights: tinyWeights, vocab: realVocab() });
  const embeddings = bitsOf(await encoder.embed(TEXTS));
  const { ids } = encoder.tokenizer.encode(INSPECT_TEXT, { maxLength: encoder.maxSeqLength });
  const L = ids.length;
  const { numLayers, numHeads } = encoder.config;
  const attention = new Float32Array(numLayers * numHeads * L * L); // [layers, heads, L, L]
  const observer: ForwardObserver = {
    attention(layer, _sequence, head, query, probs, length) {
      for (let key = 0; key < length; key++) attention[((layer * numHeads + head) * L + query) * L + key] = probs[key]!;
    },
  };
  await encoder.embedTokenIds([{ inputIds: ids }], observer);
  return { embeddings, ids, attention: Array.from(new Uint32Array(attention.buffer)) };
}

/** In the page: the demo's EncoderClient, exposed as `minilm` for the console. */
interface PageClient {
  load(options: unknown, onProgress?: (progress: unknown) => void): Promise<{ origin: string; backend: string; cached?: { stored: boolean; reason?: string } }>;
  embed(texts: string[]): Promise<Float32Array[]>;
  inspect(text: string): Promise<{ ids: number[]; tokens: string[]; attention: Float32Array; layers: number; heads: number }>;
}
declare const minilm: PageClient;

async function embedInPage(page: Page, texts: string[]): Promise<number[][]> {
  return page.evaluate(async (texts) => {
    const rows = await minilm.embed(texts);
    return rows.map((row) => Array.from(new Uint32Array(row.buffer, row.byteOffset, row.length)));
  }, texts);
}

async function waitForModel(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const state = document.getElementById('status')?.dataset.state;
    return state === 'ready' || state === 'synthetic' || state === 'error';
  }, undefined, { timeout: 120_000 });
  expect(await page.getAttribute('#status', 'data-state')).not.toBe('error');
}

describe.skipIf(!runBrowserTests)('the demo page in Chromium', () => {
  let outDir = '';
  let server: DemoServer;
  let browser: LaunchedBrowser;
  let reference: Awaited<ReturnType<typeof nodeReference>>;
  const problems: string[] = [];

  async function openPage(query = ''): Promise<Page> {
    const page = await browser.context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    await page.goto(`${server.url}${query}`);
    return page;
  }

  beforeAll(async () => {
    if (chromiumPath === null) {
      throw new Error('CI is set but no Chromium was found: install it with `apt-get update && apt-get install -y chromium`');
    }
    outDir = mkdtempSync(join(tmpdir(), 'minilm-demo-'));
    await buildAll(outDir);
    server = await startDemoServer({
      root: join(outDir, 'demo'),
      port: 0,
      extraFiles: { '/fixtures/tiny.safetensors': tinyWeights, '/fixtures/tiny-config.json': tinyConfig },
    });
    browser = await launchChromium(chromiumPath);
    reference = await nodeReference();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('embeds in the Web Worker with the same float32 bits as Node, and looks inside identically', async () => {
    const page = await openPage('?weights=synthetic-tiny');
    await waitForModel(page);
    expect(await embedInPage(page, TEXTS)).toEqual(reference.embeddings);

    const inside = await page.evaluate(async (text) => {
      const view = await minilm.inspect(text);
      return { ids: view.ids, layers: view.layers, heads: view.heads, attention: Array.from(new Uint32Array(view.attention.buffer)) };
    }, INSPECT_TEXT);
    expect(inside.ids).toEqual(reference.ids);
    expect([inside.layers, inside.heads]).toEqual([SYNTHETIC_TINY.config.num_hidden_layers, SYNTHETIC_TINY.config.num_attention_heads]);
    expect(inside.attention).toEqual(reference.attention);
    // Every attention row is a probability distribution.
    const values = new Float32Array(new Uint32Array(inside.attention).buffer);
    const L = inside.ids.length;
    for (let row = 0; row < values.length / L; row++) {
      const sum = values.subarray(row * L, (row + 1) * L).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    }
    await page.close();
  });

  it('downloads weights with progress, keeps them in Cache Storage, and reads them from there next time', async () => {
    const page = await openPage();
    const outcome = await page.evaluate(async (config) => {
      const options = { weights: { kind: 'url', url: '/fixtures/tiny.safetensors' }, config, vocabUrl: 'model/vocab.txt' };
      const first: Array<{ phase: string; loaded: number; total: number | null }> = [];
      const second: typeof first = [];
      const a = await minilm.load(options, (p) => first.push(p as (typeof first)[number]));
      const b = await minilm.load(options, (p) => second.push(p as (typeof first)[number]));
      const cached = await (await caches.open('minilm-ts-weights-v1')).match(new URL('/fixtures/tiny.safetensors', location.href).href);
      return { a, b, first, second, cachedBytes: cached ? (await cached.arrayBuffer()).byteLength : null };
    }, tinyConfig);
    expect(outcome.a.origin).toBe('network');
    expect(outcome.a.cached).toEqual({ stored: true });
    expect(outcome.b.origin).toBe('cache');
    expect(outcome.cachedBytes).toBe(tinyWeights.length);
    const downloads = outcome.first.filter((p) => p.phase === 'download');
    expect(downloads.length).toBeGreaterThan(1);
    expect(downloads.every((p) => p.total === tinyWeights.length)).toBe(true);
    expect(downloads.at(-1)!.loaded).toBe(tinyWeights.length);
    expect(outcome.second.some((p) => p.phase === 'download')).toBe(false);
    expect(outcome.second.some((p) => p.phase === 'cache')).toBe(true);
    expect(await embedInPage(page, TEXTS)).toEqual(reference.embeddings);
    await page.close();
  });

  it('loads weights from the file picker, and a transferred buffer leaves the page', async () => {
    const page = await openPage();
    await page.setInputFiles('#file-input', [
      { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(tinyWeights) },
      { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(tinyConfig) },
    ]);
    await waitForModel(page);
    expect(await page.textContent('#model-card')).toContain('your file');
    expect(await embedInPage(page, TEXTS)).toEqual(reference.embeddings);

    const transfer = await page.evaluate(async (config) => {
      const buffer = await (await fetch('/fixtures/tiny.safetensors')).arrayBuffer();
      const before = buffer.byteLength;
      const info = await minilm.load({ weights: { kind: 'buffer', buffer }, config, vocabUrl: 'model/vocab.txt' });
      const [row] = await minilm.embed(['one']);
      return { before, after: buffer.byteLength, origin: info.origin, rowBuffer: row!.buffer.byteLength, rowLength: row!.length };
    }, tinyConfig);
    expect(transfer.before).toBe(tinyWeights.length);
    expect(transfer.after).toBe(0); // detached: the bytes moved to the worker, not copied
    expect(transfer.origin).toBe('buffer');
    expect(transfer.rowBuffer).toBe(transfer.rowLength * 4); // the embedding's own buffer, transferred whole
    await page.close();
  });

  it('loads the opt-in SIMD kernel from its own file, with the same bits as Node’s SIMD backend', async () => {
    const page = await openPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(new URL(request.url()).pathname));
    const info = await page.evaluate(
      (config) => minilm.load({ weights: { kind: 'url', url: '/fixtures/tiny.safetensors' }, config, vocabUrl: 'model/vocab.txt', backend: 'simd' }),
      tinyConfig,
    );
    expect(info.backend).toBe('simd');
    expect(requested).toContain('/minilm.simd.js');
    const encoder = SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights: tinyWeights, vocab: realVocab(), backend: 'simd' });
    expect(await embedInPage(page, TEXTS)).toEqual(bitsOf(await encoder.embed(TEXTS)));
    await page.close();
  });

  it('reports a bad file with the engine’s error and keeps the model it had', async () => {
    const page = await openPage('?weights=synthetic-tiny');
    await waitForModel(page);
    const failure = await page.evaluate(async (config) => {
      try {
        const buffer = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]).buffer;
        await minilm.load({ weights: { kind: 'buffer', buffer }, config, vocabUrl: 'model/vocab.txt' });
        return null;
      } catch (error) {
        return { name: (error as Error).name, message: (error as Error).message };
      }
    }, tinyConfig);
    expect(failure).not.toBeNull();
    expect(failure!.name).toBe('SafetensorsError');
    expect(await embedInPage(page, TEXTS)).toEqual(reference.embeddings);
    await page.close();
  });

  it('shows the full-size synthetic model in every panel (screenshot: test/artifacts/demo.png)', async () => {
    const page = await openPage('?weights=synthetic-full');
    await waitForModel(page);
    await page.waitForFunction(() => {
      const canvas = document.getElementById('attention-canvas') as HTMLCanvasElement | null;
      return canvas !== null && canvas.style.width !== '' && document.querySelectorAll('#results li').length > 0 &&
        document.querySelectorAll('#similarity-matrix td').length > 0;
    }, undefined, { timeout: 240_000 });
    expect(await page.locator('#similarity-matrix td').count()).toBe(36);
    expect(await page.locator('#results li').count()).toBe(5);
    expect(await page.locator('#tokens .token').count()).toBeGreaterThan(5);
    expect(await page.textContent('#layer-out')).toBe('1 of 6');
    expect(await page.textContent('#head-out')).toBe('1 of 12');
    expect(await page.isVisible('#load-progress')).toBe(false);
    expect(await page.locator('.synthetic-badge:visible').count()).toBe(3);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true });
    await page.setViewportSize({ width: 420, height: 900 });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-narrow.png'), fullPage: true });
    await page.close();
  }, 300_000);

  it('logged no page or console error', () => {
    expect(problems).toEqual([]);
  });
});
