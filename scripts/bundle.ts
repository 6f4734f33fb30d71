/**
 * Builds the browser files with esbuild, and measures them.
 *
 * Run:   npm run bundle                 (build, print the sizes)
 *        npm run bundle -- --peers      (also measure what Transformers.js downloads, from bench/peers)
 *
 * Writes, under dist/ (git-ignored):
 *   minilm.browser.js        the runtime-neutral core (src/index.ts) as one ES module, readable
 *   minilm.browser.min.js    the same, minified
 *   minilm.worker.js         the Web Worker entry (src/browser/worker.ts), minified
 *   minilm.client.js         the page's promise API for that worker (src/browser/client.ts)
 *   demo/                    the demo site: index.html, style.css, demo.js, minilm.worker.js and
 *                            model/ (config.json and vocab.txt of all-MiniLM-L6-v2; the weights
 *                            are picked, downloaded or generated on the page)
 *   sizes.json               raw, minified and gzipped byte counts of the above
 *
 * Guards (the build fails, naming the importing file):
 *   - no Node built-in may be reached (`node:fs`, `fs`, `path`, ...): these files run in
 *     browsers, workers and edge runtimes;
 *   - the WebAssembly SIMD backend (src/tensor/simd/) stays out of these bundles: a static import
 *     of it is an error; a dynamic `import()` of its entry is left as a separate file
 *     (`./minilm.simd.js`, built only when that entry exists), fetched only by code that asks for it.
 *   - the threaded backend (src/tensor/threaded-backend.ts: SharedArrayBuffer, Atomics, workers
 *     started from a URL of their own) is not in these bundles either: its dynamic import is
 *     replaced by a stub whose createThreadedBackend rejects with an explanation, so `threads`
 *     above 1 fails clearly in a browser build instead of pulling worker plumbing into every page.
 * The forbidden constructs (eval, new Function, WebAssembly, required SharedArrayBuffer) are
 * checked on the output by test/runtimes/edge-constraints.test.ts.
 *
 * Left out: source maps, legacy targets (ES2022 is what every current browser, Deno, Bun and
 * Cloudflare Workers run), and a CommonJS build.
 */

import { builtinModules } from 'node:module';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIMD_DIR = join(ROOT, 'src', 'tensor', 'simd') + sep;
/** The entry of the optional WebAssembly backend, bundled on its own when it exists. */
const SIMD_ENTRY = join(ROOT, 'src', 'tensor', 'simd', 'simd-backend.ts');
const SIMD_OUTPUT_NAME = 'minilm.simd.js';
/** The threaded backend, replaced by THREADS_STUB in the browser bundles. */
const THREADED_ENTRY = join(ROOT, 'src', 'tensor', 'threaded-backend.ts');
const THREADS_STUB = `export async function createThreadedBackend() {
  throw new Error("threads > 1 are not available in the browser bundle of minilm-ts: use threads: 1 (or the 'simd' backend)");
}
`;

/** Files copied into the demo site, relative to the repository. */
const DEMO_STATIC = ['demo/index.html', 'demo/style.css'];
const DEMO_MODEL_FILES = ['weights/all-MiniLM-L6-v2/config.json', 'weights/all-MiniLM-L6-v2/vocab.txt'];

export interface FileSize {
  file: string;
  raw: number;
  gzip: number;
}

export interface BuildReport {
  outDir: string;
  files: FileSize[];
}

// ---------------------------------------------------------------------------------------------
// Guards, as esbuild plugins
// ---------------------------------------------------------------------------------------------

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** Fails the build when a Node built-in is imported anywhere in the graph. */
const noNodeBuiltins: esbuild.Plugin = {
  name: 'no-node-builtins',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      const bare = args.path.split('/')[0]!;
      if (!NODE_BUILTINS.has(args.path) && !NODE_BUILTINS.has(bare) && !args.path.startsWith('node:')) return undefined;
      return {
        errors: [{
          text: `"${args.path}" is a Node built-in, imported by ${relative(ROOT, args.importer)}: ` +
            'the browser bundles must run without Node (move that code to an adapter: src/node.ts, src/node/*)',
        }],
      };
    });
  },
};

/** Keeps the WebAssembly backend out: static imports fail, a dynamic import of its entry stays a separate file. */
const noWasmBackend: esbuild.Plugin = {
  name: 'no-wasm-backend',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (!args.path.startsWith('.') && !args.path.startsWith('/')) return undefined; // packages: none in the core
      const target = resolve(args.resolveDir, args.path);
      if (!target.startsWith(SIMD_DIR)) return undefined;
      if (args.kind === 'dynamic-import' && target === SIMD_ENTRY) {
        return { path: `./${SIMD_OUTPUT_NAME}`, external: true };
      }
      return {
        errors: [{
          text: `${relative(ROOT, args.importer)} imports ${relative(ROOT, target)} (${args.kind}): the default bundle ` +
            'holds the pure-TypeScript engine only; load the WebAssembly backend with a dynamic import() of ' +
            `${relative(ROOT, SIMD_ENTRY)}, which is bundled on its own as ${SIMD_OUTPUT_NAME}`,
        }],
      };
    });
  },
};

/** Replaces the threaded backend with a stub that explains why it is not there. */
const noThreadedBackend: esbuild.Plugin = {
  name: 'no-threaded-backend',
  setup(build) {
    build.onResolve({ filter: /threaded-backend\.ts$/ }, (args) => {
      const target = resolve(args.resolveDir, args.path);
      if (target !== THREADED_ENTRY) return undefined;
      if (args.kind !== 'dynamic-import') {
        return { errors: [{ text: `${relative(ROOT, args.importer)} imports the threaded backend statically: use a dynamic import()` }] };
      }
      return { path: 'threads-stub', namespace: 'threads-stub' };
    });
    build.onLoad({ filter: /.*/, namespace: 'threads-stub' }, () => ({ contents: THREADS_STUB, loader: 'js' }));
  },
};

const COMMON: esbuild.BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  mainFields: ['module', 'main'],
  logLevel: 'silent',
  legalComments: 'none',
  charset: 'utf8',
};

async function bundle(entry: string, outfile: string, minify: boolean, guards = true): Promise<void> {
  await esbuild.build({
    ...COMMON,
    entryPoints: [resolve(ROOT, entry)],
    outfile,
    minify,
    plugins: guards ? [noNodeBuiltins, noWasmBackend, noThreadedBackend] : [noNodeBuiltins],
  });
}

/** One default-bundle build of any entry, with both guards (the tests use it on bad inputs). */
export async function guardedBuild(entry: string, outfile: string): Promise<void> {
  await bundle(entry, outfile, false);
}

// ---------------------------------------------------------------------------------------------
// The build
// ---------------------------------------------------------------------------------------------

/** Builds everything into `outDir` (default dist/) and returns the sizes. */
export async function buildAll(outDir: string = join(ROOT, 'dist')): Promise<BuildReport> {
  const demoDir = join(outDir, 'demo');
  await rm(demoDir, { recursive: true, force: true });
  await mkdir(join(demoDir, 'model'), { recursive: true });

  const withSimd = existsSync(SIMD_ENTRY);
  await Promise.all([
    bundle('src/index.ts', join(outDir, 'minilm.browser.js'), false),
    bundle('src/index.ts', join(outDir, 'minilm.browser.min.js'), true),
    bundle('src/browser/worker.ts', join(outDir, 'minilm.worker.js'), true),
    bundle('src/browser/client.ts', join(outDir, 'minilm.client.js'), false),
    bundle('demo/main.ts', join(demoDir, 'demo.js'), true),
    bundle('src/browser/worker.ts', join(demoDir, 'minilm.worker.js'), true),
    ...(withSimd
      ? [
          bundle(relative(ROOT, SIMD_ENTRY), join(outDir, SIMD_OUTPUT_NAME), true, false),
          bundle(relative(ROOT, SIMD_ENTRY), join(demoDir, SIMD_OUTPUT_NAME), true, false),
        ]
      : []),
    ...DEMO_STATIC.map((file) => copyFile(join(ROOT, file), join(demoDir, file.slice('demo/'.length)))),
    ...DEMO_MODEL_FILES.map((file) => copyFile(join(ROOT, file), join(demoDir, 'model', file.split('/').pop()!))),
  ]);

  const measured = [
    'minilm.browser.js',
    'minilm.browser.min.js',
    'minilm.worker.js',
    'minilm.client.js',
    ...(withSimd ? [SIMD_OUTPUT_NAME] : []),
    'demo/demo.js',
  ];
  const files = await Promise.all(measured.map(async (file) => measure(join(outDir, file), file)));
  const report: BuildReport = { outDir, files };
  await writeFile(join(outDir, 'sizes.json'), JSON.stringify(report.files, null, 2) + '\n');
  return report;
}

/** Raw and gzipped (level 9, what a static host typically serves) size of one file. */
export async function measure(path: string, label: string = path): Promise<FileSize> {
  const bytes = await readFile(path);
  return { file: label, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

// ---------------------------------------------------------------------------------------------
// Peers: what a page using Transformers.js downloads before its first embedding
// ---------------------------------------------------------------------------------------------

/**
 * Transformers.js (browser build `transformers.web.js`) imports `onnxruntime-web/webgpu`
 * (ort.webgpu.bundle.min.mjs), then fetches at run time, from a CDN by default, the ONNX Runtime
 * WebAssembly build: ort-wasm-simd-threaded.asyncify.{mjs,wasm}. Safari before 26 without WebGPU
 * gets the plain ort-wasm-simd-threaded.{mjs,wasm} instead (listed apart, not added).
 */
const PEER_FILES = {
  download: [
    '@huggingface/transformers/dist/transformers.web.min.js',
    'onnxruntime-web/dist/ort.webgpu.bundle.min.mjs',
    'onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs',
    'onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm',
  ],
  alternative: ['onnxruntime-web/dist/ort-wasm-simd-threaded.mjs', 'onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'],
};

export async function measurePeers(): Promise<{ download: FileSize[]; alternative: FileSize[] } | null> {
  const modules = join(ROOT, 'bench', 'peers', 'node_modules');
  if (!existsSync(modules)) return null;
  const one = (file: string): Promise<FileSize> => measure(join(modules, file), file);
  return {
    download: await Promise.all(PEER_FILES.download.map(one)),
    alternative: await Promise.all(PEER_FILES.alternative.map(one)),
  };
}

function kib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function table(rows: FileSize[]): string {
  const lines = ['| file | raw | gzip -9 |', '| --- | ---: | ---: |'];
  for (const row of rows) lines.push(`| ${row.file} | ${kib(row.raw)} | ${kib(row.gzip)} |`);
  return lines.join('\n');
}

async function main(args: string[]): Promise<void> {
  const started = performance.now();
  const report = await buildAll();
  console.log(`built ${relative(process.cwd(), report.outDir) || '.'}/ in ${Math.round(performance.now() - started)} ms\n`);
  console.log(table(report.files));
  if (args.includes('--peers')) {
    const peers = await measurePeers();
    if (peers === null) {
      console.log('\nbench/peers/node_modules is missing: install the peers first (see bench/peers/package.json)');
      return;
    }
    const sum = (rows: FileSize[]): FileSize => ({
      file: '**total**',
      raw: rows.reduce((n, r) => n + r.raw, 0),
      gzip: rows.reduce((n, r) => n + r.gzip, 0),
    });
    console.log('\nTransformers.js + ONNX Runtime Web (what a page downloads)\n');
    console.log(table([...peers.download, sum(peers.download)]));
    console.log('\nthe non-asyncify ONNX Runtime build (Safari < 26 without WebGPU)\n');
    console.log(table(peers.alternative));
  }
}

// Run only when executed, not when imported by the tests.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    const failure = error as { errors?: { text: string }[]; message?: string };
    if (failure.errors?.length) for (const e of failure.errors) console.error(`bundle: ${e.text}`);
    else console.error(`bundle: ${failure.message ?? String(error)}`);
    process.exitCode = 1;
  });
}
