/**
 * Edge constraints of the browser files built by scripts/bundle.ts:
 *   - none of them contains eval, new Function, WebAssembly, require(...) or a Node import, and
 *     SharedArrayBuffer appears only behind a typeof guard (a syntax-tree scan, scan-bundle.ts);
 *   - the scanner itself finds each construct when it is there (so these tests can fail);
 *   - the default bundle runs where an edge runtime would put it: a V8 context in which code
 *     generation from strings and WebAssembly compilation are disabled (what Cloudflare Workers
 *     enforce), with SharedArrayBuffer, Atomics and WebAssembly deleted and no Node globals,
 *     and it embeds with the same bits as the engine imported directly in Node;
 *   - the build refuses a Node built-in and a static import of the WebAssembly backend.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAll, ROOT } from '../../scripts/bundle.ts';
import { generateSyntheticCheckpoint, SentenceEncoder, SYNTHETIC_TINY } from '../../src/index.ts';
import { realVocab } from '../helpers/checkpoints.ts';
import { scanBundle } from './scan-bundle.ts';

const DEFAULT_FILES = ['minilm.browser.js', 'minilm.browser.min.js', 'minilm.worker.js', 'minilm.client.js', 'demo/demo.js', 'demo/minilm.worker.js'];

let outDir = '';

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'minilm-edge-'));
  await buildAll(outDir);
});

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('the browser files contain no construct an edge runtime forbids', () => {
  for (const file of DEFAULT_FILES) {
    it(file, () => {
      const code = readFileSync(join(outDir, file), 'utf8');
      expect(code.length).toBeGreaterThan(1000);
      expect(scanBundle(code, file)).toEqual([]);
    });
  }

  it('the optional SIMD backend, built apart, is where the WebAssembly is', () => {
    const code = readFileSync(join(outDir, 'minilm.simd.js'), 'utf8');
    expect(scanBundle(code).some((finding) => finding.rule === 'WebAssembly')).toBe(true);
    for (const file of DEFAULT_FILES) expect(readFileSync(join(outDir, file), 'utf8')).not.toContain('AGFzbQ'); // "\0asm" in base64
  });
});

describe('the scanner finds each forbidden construct', () => {
  const cases: Array<[string, string]> = [
    ['eval', 'const x = eval("1 + 1");'],
    ['Function', 'const f = new Function("a", "return a");'],
    ['Function', 'const f = Function("return this")();'],
    ['WebAssembly', 'const m = WebAssembly.compile(bytes);'],
    ['WebAssembly', 'const w = globalThis.x ?? WebAssembly;'],
    ['require', 'const fs = require("fs");'],
    ['node-import', 'import { readFile } from "node:fs/promises";'],
    ['node-import', 'const m = await import("node:crypto");'],
    ['node-import', 'export { join } from "path";'],
    ['SharedArrayBuffer', 'const b = new SharedArrayBuffer(8);'],
    ['SharedArrayBuffer', 'if (x instanceof SharedArrayBuffer) f();'],
  ];
  for (const [rule, code] of cases) {
    it(`${rule}: ${code}`, () => {
      expect(scanBundle(code).map((finding) => finding.rule)).toContain(rule);
    });
  }

  it('and not their harmless look-alikes', () => {
    const harmless = [
      'class V { require(token) { return token; } } new V().require("[UNK]");',
      '// WebAssembly and eval( in a comment',
      'const s = "new Function and require(";',
      'const o = { eval: 1, WebAssembly: 2 }; o.eval; o.WebAssembly;',
      'if (typeof SharedArrayBuffer !== "undefined" && b instanceof SharedArrayBuffer) f();',
      'typeof SharedArrayBuffer<"u"&&b instanceof SharedArrayBuffer&&f();',
    ];
    for (const code of harmless) expect(scanBundle(code), code).toEqual([]);
  });
});

describe('the default bundle in a locked-down V8 context', () => {
  it('loads and embeds without eval, WebAssembly, SharedArrayBuffer or Node globals, with Node’s bits', async () => {
    // The ES module bundle, wrapped as a script exposing its exports as `minilm` (vm runs scripts).
    const wrapped = await esbuild.build({
      entryPoints: [join(outDir, 'minilm.browser.min.js')],
      bundle: true,
      format: 'iife',
      globalName: 'minilm',
      // The opt-in SIMD backend stays a separate module, as in the bundle itself.
      external: ['./minilm.simd.js'],
      write: false,
      logLevel: 'silent',
    });
    const script = wrapped.outputFiles[0]!.text;

    const context = vm.createContext(
      { TextEncoder, TextDecoder, console },
      { codeGeneration: { strings: false, wasm: false } },
    );
    vm.runInContext('delete globalThis.SharedArrayBuffer; delete globalThis.Atomics; delete globalThis.WebAssembly;', context);
    // The lock works: code from strings is refused, the removed globals are gone, Node's are absent.
    expect(() => vm.runInContext('eval("1")', context)).toThrow(/Code generation from strings disallowed/);
    expect(() => vm.runInContext('new Function("return 1")', context)).toThrow(/Code generation from strings disallowed/);
    expect(vm.runInContext('[typeof SharedArrayBuffer, typeof WebAssembly, typeof require, typeof process, typeof Buffer].join()', context))
      .toBe('undefined,undefined,undefined,undefined,undefined');

    vm.runInContext(script, context);
    const weights = generateSyntheticCheckpoint(SYNTHETIC_TINY);
    // Typed arrays are per realm (`instanceof` fails across realms): copy the bytes into one of the context's own.
    const inner = vm.runInContext(`new Uint8Array(${weights.length})`, context) as Uint8Array;
    inner.set(weights);
    Object.assign(context, { weights: inner, vocab: realVocab(), config: JSON.stringify(SYNTHETIC_TINY.config) });
    const texts = ['edge runtimes run this', 'Ünïcödé and 中文', ''];
    const bits = (await vm.runInContext(
      `(async () => {
        const encoder = minilm.SentenceEncoder.fromParts({ config: JSON.parse(config), weights, vocab });
        const rows = await encoder.embed(${JSON.stringify(texts)});
        return JSON.stringify(rows.map((row) => Array.from(new Uint32Array(row.buffer, row.byteOffset, row.length))));
      })()`,
      context,
    )) as string;

    const encoder = SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights, vocab: realVocab() });
    const expected = (await encoder.embed(texts)).map((row) => Array.from(new Uint32Array(row.buffer, row.byteOffset, row.length)));
    expect(JSON.parse(bits)).toEqual(expected);
  });
});

describe('the build guards', () => {
  const scratch = (name: string, code: string): string => {
    const path = join(outDir, name);
    writeFileSync(path, code);
    return path;
  };

  it('refuses a Node built-in, naming the importer', async () => {
    const entry = join(ROOT, 'src', 'index.ts');
    const file = scratch('uses-fs.ts', `import { readFileSync } from 'node:fs';\nimport '${entry}';\nexport const x = readFileSync;\n`);
    const { guardedBuild } = await import('../../scripts/bundle.ts');
    await expect(guardedBuild(file, join(outDir, 'bad.js'))).rejects.toThrow(/"node:fs" is a Node built-in, imported by .*uses-fs\.ts/);
  });

  it('refuses a static import of the WebAssembly backend, and keeps a dynamic one apart', async () => {
    const simd = join(ROOT, 'src', 'tensor', 'simd', 'simd-backend.ts');
    const { guardedBuild } = await import('../../scripts/bundle.ts');
    const staticImport = scratch('static-simd.ts', `export * from '${simd}';\n`);
    await expect(guardedBuild(staticImport, join(outDir, 'bad2.js'))).rejects.toThrow(/default bundle holds the pure-TypeScript engine only/);
    const dynamicImport = scratch('dynamic-simd.ts', `export const load = () => import('${simd}');\n`);
    await guardedBuild(dynamicImport, join(outDir, 'ok.js'));
    const code = readFileSync(join(outDir, 'ok.js'), 'utf8');
    expect(code).toContain('./minilm.simd.js');
    expect(scanBundle(code)).toEqual([]);
  });
});
