/**
 * The published package, as a user gets it: `npm pack` (which builds dist/ through prepack), then
 * `npm install <tarball>` into a fresh project outside the repository, then plain Node with no
 * TypeScript loader:
 *   - the tarball holds the compiled library (the entries' bundles, their shared chunks and every
 *     module's declarations), the launcher and the small model files, and not the weights, the
 *     sources, the tests or the browser bundles (its size and files are printed);
 *   - the installed package has no dependencies of any kind;
 *   - `import('minilm-ts')` builds an encoder from the synthetic checkpoint and the vocabulary
 *     shipped in the package, and its embedding has the same float32 bits as the sources give;
 *   - `minilm-ts/node` and `minilm-ts/browser/client` load, and the Node adapter finds the
 *     manifest shipped in the package;
 *   - `npx minilm --help`, `--version` and `similarity --synthetic` exit 0 (the last prints what
 *     the CLI gives from the sources);
 *   - the declaration files type-check in a strict NodeNext project without the DOM library;
 *   - the threaded backends' workers start from the compiled entries, and give the one-thread
 *     bits: Node's worker_threads (JS and SIMD, through loadSentenceEncoder), and the Web Worker
 *     API in Deno (skipped when the Deno binary, a dev dependency, is missing, unless CI is set).
 *
 * npm runs offline (nothing to download: the package has no dependencies) with a cache of its own
 * in the temporary folder. Left out: publishing, CommonJS `require` (the package is ES modules).
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { generateSyntheticCheckpoint, SentenceEncoder, SYNTHETIC_TINY } from '../../src/index.ts';
import { COPIED_MODEL_FILES, writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';
import { memoryIO } from '../cli/memory-io.ts';
import { realVocab } from '../helpers/checkpoints.ts';
import { ENTRY_POINTS } from '../../scripts/build.ts';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_DIR = join(ROOT, 'src');
const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Well above the package (~0.6 MB), far below the weights (87 MiB): an accidental checkpoint fails. */
const MAX_TARBALL_BYTES = 2 * 1024 * 1024;
const SENTENCE = 'The compiled package embeds this sentence.';

const ci = process.env['CI'];
const onCi = ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';

interface PackedFile {
  path: string;
  size: number;
}
interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: PackedFile[];
}

let work: string;
let app: string;
let packed: PackResult;
let env: NodeJS.ProcessEnv;

async function run(command: string, args: string[], cwd: string, timeout = 60_000): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(command, args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' });
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed (exit ${String(failed.code)}):\n${failed.stdout ?? ''}${failed.stderr ?? failed.message}`);
  }
}

/** Runs an ES module written into the consumer project (so bare imports resolve from its node_modules). */
async function runModule(name: string, source: string, command = process.execPath, args: string[] = []): Promise<string> {
  const file = join(app, name);
  await writeFile(file, source);
  return (await run(command, [...args, file], app)).stdout;
}

/** Every .ts file under src/, relative to src/. */
async function sourceFiles(): Promise<string[]> {
  const entries = await readdir(SOURCE_DIR, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(SOURCE_DIR, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The tarball's files, one line per folder: `folder/ (n files, size): names`. */
function listing(files: PackedFile[]): string {
  const byFolder = new Map<string, PackedFile[]>();
  for (const file of files) {
    const cut = file.path.lastIndexOf('/');
    const folder = cut < 0 ? '.' : file.path.slice(0, cut);
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), file]);
  }
  return [...byFolder.keys()]
    .sort()
    .map((folder) => {
      const group = byFolder.get(folder)!;
      const names = group.map((f) => f.path.slice(folder === '.' ? 0 : folder.length + 1)).sort();
      return `  ${folder}/ (${group.length} files, ${kib(group.reduce((n, f) => n + f.size, 0))}): ${names.join(' ')}`;
    })
    .join('\n');
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'minilm-pack-'));
  app = join(work, 'app');
  env = {
    ...process.env,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    MINILM_CACHE: join(work, 'minilm-cache'),
    HF_HOME: join(work, 'hf'),
    HF_HUB_OFFLINE: '1',
  };
  // prepack runs the build, whose log comes first on stdout; the JSON report follows.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], ROOT, 120_000);
  const start = stdout.search(/^\[\s*$/m);
  if (start < 0) throw new Error(`npm pack printed no JSON report:\n${stdout}`);
  [packed] = JSON.parse(stdout.slice(start)) as PackResult[];

  mkdirSync(app);
  await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'minilm-consumer', private: true, type: 'module' }, null, 2)}\n`);
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, packed.filename)], app);
}, 180_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the compiled library, the launcher and the small model files, and nothing else', async () => {
    console.log(
      `${packed.filename}: ${kib(packed.size)} packed, ${kib(packed.unpackedSize)} unpacked, ${packed.entryCount} files\n` +
        listing(packed.files),
    );
    const paths = new Set(packed.files.map((f) => f.path));
    expect(packed.size).toBeLessThan(MAX_TARBALL_BYTES);
    expect(packed.entryCount).toBe(packed.files.length);

    const unwanted = [...paths].filter(
      (p) =>
        /(^|\/)model\.safetensors$/.test(p) ||
        /^(test|test-real|src|scripts|bench|demo|examples|docs|node_modules)\//.test(p) ||
        /^dist\/(minilm\.|demo\/|sizes\.json)/.test(p),
    );
    expect(unwanted).toEqual([]);

    // Every source module's declarations; the JavaScript of each entry (bundled, see scripts/build.ts).
    const missing: string[] = [];
    for (const source of await sourceFiles()) {
      const declarations = `dist/${source.slice(0, -'.ts'.length)}.d.ts`;
      if (!paths.has(declarations)) missing.push(declarations);
    }
    for (const entry of ENTRY_POINTS) {
      const script = `dist/${entry.slice(0, -'.ts'.length)}.js`;
      if (!paths.has(script)) missing.push(script);
    }
    expect(missing).toEqual([]);
    // Nothing but the entries and their shared chunks: one module per source file is what made imports slow.
    const scripts = [...paths].filter((p) => p.startsWith('dist/') && p.endsWith('.js'));
    expect(scripts.filter((p) => !p.startsWith('dist/chunks/') && !ENTRY_POINTS.includes(`${p.slice('dist/'.length, -'.js'.length)}.ts`))).toEqual([]);

    // What the Node adapters read at run time.
    const modelFiles = [...COPIED_MODEL_FILES, 'config.json', '1_Pooling/config.json', 'NOTICE'].map((f) => `weights/all-MiniLM-L6-v2/${f}`);
    for (const file of ['package.json', 'bin/minilm.js', 'weights/manifest.json', ...modelFiles]) expect(paths, file).toContain(file);
  });

  it('installs with no dependencies of any kind', async () => {
    const manifest = JSON.parse(await readFile(join(app, 'node_modules', 'minilm-ts', 'package.json'), 'utf8')) as Record<string, unknown>;
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'bundledDependencies']) {
      const value = manifest[field];
      expect(value === undefined || Object.keys(value as object).length === 0, `${field}: ${JSON.stringify(value)}`).toBe(true);
    }
    // Nothing else was installed, at the top or nested.
    expect((await readdir(join(app, 'node_modules'))).filter((name) => !name.startsWith('.'))).toEqual(['minilm-ts']);
    expect(existsSync(join(app, 'node_modules', 'minilm-ts', 'node_modules'))).toBe(false);
  });

  it('embeds a sentence from plain Node, with the bits the sources give', async () => {
    const output = await runModule(
      'embed.mjs',
      `import { readFile } from 'node:fs/promises';
const m = await import('minilm-ts');
const vocab = await readFile(new URL('weights/all-MiniLM-L6-v2/vocab.txt', import.meta.resolve('minilm-ts/package.json')), 'utf8');
const encoder = m.SentenceEncoder.fromParts({ config: m.SYNTHETIC_TINY.config, weights: m.generateSyntheticCheckpoint(m.SYNTHETIC_TINY), vocab });
const embedding = await encoder.embed(${JSON.stringify(SENTENCE)});
console.log(JSON.stringify({ type: embedding.constructor.name, bits: Array.from(new Uint32Array(embedding.buffer, embedding.byteOffset, embedding.length)) }));
`,
    );
    const fromPackage = JSON.parse(output) as { type: string; bits: number[] };
    const encoder = SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights: generateSyntheticCheckpoint(SYNTHETIC_TINY), vocab: realVocab() });
    const fromSource = (await encoder.embed(SENTENCE)) as Float32Array;
    expect(fromPackage.type).toBe('Float32Array');
    expect(fromPackage.bits).toEqual(Array.from(new Uint32Array(fromSource.buffer, fromSource.byteOffset, fromSource.length)));
  });

  it('loads minilm-ts/node (which finds its shipped manifest) and minilm-ts/browser/client', async () => {
    const output = await runModule(
      'subpaths.mjs',
      `const node = await import('minilm-ts/node');
const client = await import('minilm-ts/browser/client');
const core = await import('minilm-ts');
console.log(JSON.stringify({
  load: typeof node.loadSentenceEncoder,
  sameCore: node.SentenceEncoder === core.SentenceEncoder,
  models: Object.keys(node.defaultManifest().models),
  client: typeof client.EncoderClient,
}));
`,
    );
    const shipped = JSON.parse(await readFile(join(ROOT, 'weights', 'manifest.json'), 'utf8')) as { models: Record<string, unknown> };
    expect(JSON.parse(output)).toEqual({ load: 'function', sameCore: true, models: Object.keys(shipped.models), client: 'function' });
  });

  it('runs `npx minilm` with plain Node: --help, --version, similarity --synthetic', async () => {
    const help = await run('npx', ['--no-install', 'minilm', '--help'], app);
    expect(help.stdout).toContain('Usage: minilm <command>');

    const version = await run('npx', ['--no-install', 'minilm', '--version'], app);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout).toBe(`${pkg.version}\n`);

    const similarity = await run('npx', ['--no-install', 'minilm', 'similarity', '--synthetic', 'a', 'b'], app);
    expect(similarity.stdout).toMatch(/^-?\d\.\d{4}\n$/);
    // The same command from the sources, in-process, on the synthetic folder the package wrote.
    const fromSource = memoryIO({ env: { MINILM_CACHE: env['MINILM_CACHE']!, HF_HUB_OFFLINE: '1' } });
    expect(await main(['similarity', '--synthetic', 'a', 'b'], fromSource.io)).toBe(0);
    expect(similarity.stdout).toBe(fromSource.stdout());
  });

  it('type-checks a strict NodeNext consumer without the DOM library', async () => {
    await writeFile(
      join(app, 'consumer.ts'),
      `import { SentenceEncoder, SYNTHETIC_TINY, generateSyntheticCheckpoint, cosSim, type EmbedOptions } from 'minilm-ts';
import { loadSentenceEncoder, type LoadOptions } from 'minilm-ts/node';
const options: EmbedOptions & LoadOptions = { batchSize: 8 };
export async function similarity(vocab: string): Promise<number> {
  const encoder: SentenceEncoder = SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights: generateSyntheticCheckpoint(SYNTHETIC_TINY), vocab });
  const [a, b] = (await encoder.embed(['a', 'b'], options)) as Float32Array[];
  return cosSim([a!], [b!]).data[0]!;
}
export const load: typeof loadSentenceEncoder = loadSentenceEncoder;
`,
    );
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext',
          lib: ['ES2022'], types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], app);
  });

  it("starts the threaded backend's workers from the compiled entries (Node worker_threads)", async () => {
    const folder = join(work, 'tiny-model');
    await writeSyntheticModelFolder('tiny', folder);
    const output = await runModule(
      'threads.mjs',
      `const m = await import('minilm-ts/node');
const texts = Array.from({ length: 24 }, (_, i) => 'sentence ' + i + ' shared between threads');
const embed = async (options) => {
  // waitForWorkers: ready() rejects when a worker cannot start its entry (by default the adapter
  // computes on the calling thread until the workers join, and a failed start shows later).
  const encoder = await m.loadSentenceEncoder(${JSON.stringify(folder)}, { ...options, waitForWorkers: true });
  await encoder.ready();
  const embeddings = await encoder.embed(texts);
  encoder.dispose();
  return embeddings;
};
const single = await embed({ threads: 1 });
const threaded = await embed({ threads: 2 });
const simd = await embed({ threads: 2, backend: 'simd' });
const same = (a, b) => a.every((row, i) => row.every((v, j) => Object.is(v, b[i][j])));
console.log(JSON.stringify({ threaded: same(single, threaded), simdRows: simd.length }));
`,
    );
    expect(JSON.parse(output)).toEqual({ threaded: true, simdRows: 24 });
  });

  it.skipIf(!existsSync(DENO) && !onCi)("starts the threaded backend's Web Workers from the compiled entry (Deno)", async () => {
    const output = await runModule(
      'web-workers.mjs',
      `const base = new URL('./node_modules/minilm-ts/', import.meta.url);
const m = await import(new URL('dist/index.js', base).href);
const vocab = await Deno.readTextFile(new URL('weights/all-MiniLM-L6-v2/vocab.txt', base));
const weights = m.generateSyntheticCheckpoint(m.SYNTHETIC_TINY);
const texts = Array.from({ length: 24 }, (_, i) => 'sentence ' + i + ' shared between threads');
const embed = async (threads) => {
  const encoder = m.SentenceEncoder.fromParts({ config: m.SYNTHETIC_TINY.config, weights, vocab, threads });
  await encoder.ready(); // rejects when a worker cannot start its entry
  const embeddings = await encoder.embed(texts);
  encoder.dispose();
  return embeddings;
};
const single = await embed(1);
const threaded = await embed(2);
console.log(JSON.stringify(single.every((row, i) => row.every((v, j) => Object.is(v, threaded[i][j])))));
`,
      DENO,
      ['run', '--allow-read', '--quiet'],
    );
    expect(JSON.parse(output)).toBe(true);
  });
});
