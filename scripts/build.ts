/**
 * Builds the published package into dist/:
 *   - JavaScript: the package's entry modules bundled by esbuild (ES2022, ES modules, not
 *     minified), with the code they share split into dist/chunks/;
 *   - declarations: tsc (tsconfig.build.json), one .d.ts per source file, same folder tree.
 *
 * Run:   npm run build          (also run by `npm pack` / `npm publish`, through prepack)
 *
 * Why bundles and not one .js per source file (what this build wrote before): Node loads every
 * ES module with its own resolve, file read and compile, and the adapter's ~120 files took
 * 67-93 ms to import, against 19-23 ms for the same code in a few files (measured here, Node 20,
 * warm disk cache). The backends' modules, which a load also waits for, come with it. Entries
 * keep the paths the package exports (dist/node.js, dist/browser/client.js, ...) and share one
 * copy of each module through the chunks, so `minilm-ts` and `minilm-ts/node` hand out the same
 * classes.
 *
 * Steps:
 *   1. remove the previous build (dist/<each entry of src/> and dist/chunks; the browser bundles
 *      that scripts/bundle.ts writes into dist/ are left alone);
 *   2. tsc -p tsconfig.build.json: the declaration files, whose relative `./x.ts` specifiers then
 *      become `./x.js` (TypeScript reads either, other tools only the second);
 *   3. esbuild: ENTRY_POINTS, bundled with code splitting. A module finds files of the package
 *      with `new URL('<relative path>', import.meta.url)` (a worker's entry module, the shipped
 *      manifest, package.json). Bundled, the module's code lands in another file, maybe in
 *      another folder, so each such path is rewritten for the file it lands in (MovedUrls below);
 *   4. check that no relative `.ts` reference is left, and that every rewritten URL names a file
 *      that exists.
 *
 * Why dist/ and not a subfolder: dist/ is one folder below the package root, as src/ is, so the
 * Node adapters' relative paths to the package's data files read the same in both.
 *
 * Left out: a CommonJS build, source maps and declaration maps (the TypeScript sources are not
 * in the package, so maps would point at nothing), minification (the code stays readable, though
 * esbuild drops the comments: the sources hold them).
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SOURCE_DIR = join(ROOT, 'src');
export const OUT_DIR = join(ROOT, 'dist');
const TSCONFIG = join(ROOT, 'tsconfig.build.json');
/** Where esbuild puts the code that several entries share. */
const CHUNK_DIR = 'chunks';

/** `to` relative to `from`, with forward slashes whatever the platform (the form paths take in code and in BuildResult). */
function posixRelative(from: string, to: string): string {
  return relative(from, to).split(sep).join('/');
}

/** Thrown when the build fails or leaves something unfinished; the message names the file. */
export class BuildError extends Error {
  override readonly name = 'BuildError';
}

/** The modules package.json exports, relative to src/: `"import": "./dist/x/y.js"` → 'x/y.ts'. */
function exportedModules(): string[] {
  const { exports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const modules: string[] = [];
  for (const [subpath, target] of Object.entries(exports)) {
    if (typeof target === 'string') continue; // "./package.json": a file, not a module
    const file = (target as { import?: unknown }).import;
    const match = typeof file === 'string' ? /^\.\/dist\/(.+)\.js$/.exec(file) : null;
    if (match === null) throw new BuildError(`package.json: exports["${subpath}"].import must be ./dist/<module>.js, got ${JSON.stringify(file)}`);
    modules.push(`${match[1]}.ts`);
  }
  return modules;
}

/**
 * The modules loaded by path, relative to src/: the package's exports, the CLI (bin/minilm.js
 * imports dist/cli/main.js), and the workers' entries (started from a URL). A
 * `new URL('./x.ts', import.meta.url)` naming any other module fails the build.
 */
export const ENTRY_POINTS: readonly string[] = [...exportedModules(), 'cli/main.ts', 'node/linear-worker-entry.ts', 'tensor/linear-worker-web.ts'];

export interface BuildResult {
  /** Paths relative to the package root (dist/…), sorted. */
  files: string[];
  bytes: number;
  /** Step 3's URL rewrites, as "file: path → path". */
  rewrites: string[];
}

// ---------------------------------------------------------------------------------------------
// 1. Clean
// ---------------------------------------------------------------------------------------------

/**
 * What a previous build wrote: dist/<dir> for each folder of src/, dist/<name>.js and .d.ts for
 * each file, and dist/chunks. Derived from src/ so that a new source folder needs no change here.
 */
async function previousBuildPaths(): Promise<string[]> {
  const paths: string[] = [join(OUT_DIR, CHUNK_DIR)];
  for (const entry of await readdir(SOURCE_DIR, { withFileTypes: true })) {
    if (entry.isDirectory()) paths.push(join(OUT_DIR, entry.name));
    else if (entry.name.endsWith('.ts')) {
      const stem = entry.name.slice(0, -'.ts'.length);
      paths.push(join(OUT_DIR, `${stem}.js`), join(OUT_DIR, `${stem}.d.ts`));
    }
  }
  return paths;
}

async function clean(): Promise<void> {
  for (const path of await previousBuildPaths()) await rm(path, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// 2. Declarations
// ---------------------------------------------------------------------------------------------

function emitDeclarations(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', TSCONFIG], { cwd: ROOT, encoding: 'utf8' });
  if (result.error !== undefined) throw new BuildError(`cannot run tsc: ${result.error.message}`);
  if (result.status !== 0) {
    throw new BuildError(`tsc -p tsconfig.build.json failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
}

/** Relative specifiers ending in .ts in a declaration file: from '…', import('…'), import '…'. */
const DECLARATION_SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g;

/** Declarations: relative `.ts` specifiers → `.js` (what a consumer's resolver looks for). */
function rewriteDeclarationSpecifiers(text: string): string {
  return text.replace(DECLARATION_SPECIFIER, (_match, head: string, quote: string, stem: string) => `${head}${quote}${stem}.js${quote}`);
}

// ---------------------------------------------------------------------------------------------
// 3. Bundle
// ---------------------------------------------------------------------------------------------

/**
 * `new URL(<arguments>, import.meta.url)`: the arguments may hold one level of parentheses, as in
 * `new URL(import.meta.url.endsWith('.ts') ? './x.ts' : './x.js', import.meta.url)`.
 */
const MODULE_RELATIVE_URL = /new URL\(((?:[^()]|\([^()]*\))*?),(\s*)import\.meta\.url(,?\s*)\)/g;
/** A relative path in quotes. */
const RELATIVE_LITERAL = /(['"])(\.{1,2}\/[^'"\n]*)\1/g;
/** Stands for the package root in a path, until the file the path lands in is known. */
const ROOT_MARKER = '<minilm-ts package root>';

/**
 * Module-relative URLs, through the bundling. Before (an esbuild plugin, on each source file):
 * each relative path in a `new URL(…, import.meta.url)` becomes a path from the package root,
 * where the path points once built: a `.ts` module is its entry's `.js` in dist/, anything else
 * keeps its place. After (on each output file): that path becomes relative to the output file.
 */
class MovedUrls {
  readonly rewrites: string[] = [];

  readonly plugin: esbuild.Plugin = {
    name: 'moved-urls',
    setup: (build) => {
      build.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
        const text = await readFile(path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined; // esbuild reads it as usual
        return { contents: this.markPaths(path, text), loader: 'ts' };
      });
    },
  };

  private markPaths(sourceFile: string, text: string): string {
    // Where the module would sit in dist/, had it a file of its own: its paths are relative to that.
    const builtDir = join(OUT_DIR, relative(SOURCE_DIR, dirname(sourceFile)));
    return text.replace(MODULE_RELATIVE_URL, (call: string, args: string, space: string, end: string, at: number) => {
      if (inComment(text, at)) return call; // an example in a doc comment (esbuild drops comments)
      const marked = args.replace(RELATIVE_LITERAL, (_literal, quote: string, path: string) => {
        let target = resolve(builtDir, path);
        if (target.endsWith('.ts')) {
          const entry = posixRelative(OUT_DIR, target);
          if (!ENTRY_POINTS.includes(entry)) {
            throw new BuildError(`${relative(ROOT, sourceFile)}: ${path} is not one of ENTRY_POINTS, so the build writes no file for it`);
          }
          target = `${target.slice(0, -'.ts'.length)}.js`;
        }
        const fromRoot = posixRelative(ROOT, target);
        this.rewrites.push(`${relative(ROOT, sourceFile)}: ${path} → <package>/${fromRoot}`);
        return `${quote}${ROOT_MARKER}/${fromRoot}${path.endsWith('/') ? '/' : ''}${quote}`;
      });
      return `new URL(${marked},${space}import.meta.url${end})`;
    });
  }

  /** The marked paths in `text`, an output file's, made relative to it; each must exist. */
  resolveIn(outputFile: string, text: string): string {
    return text.replaceAll(new RegExp(`(['"])${ROOT_MARKER}/([^'"]*)\\1`, 'g'), (_literal, quote: string, fromRoot: string) => {
      const target = join(ROOT, fromRoot);
      if (!existsSync(target)) {
        throw new BuildError(`${relative(ROOT, outputFile)} refers to ${fromRoot}, which does not exist`);
      }
      let path = posixRelative(dirname(outputFile), target);
      if (!path.startsWith('.')) path = `./${path}`;
      return `${quote}${path}${fromRoot.endsWith('/') ? '/' : ''}${quote}`;
    });
  }
}

/** True when the line holding text[at] starts a comment or continues a block comment. */
function inComment(text: string, at: number): boolean {
  const line = text.slice(text.lastIndexOf('\n', at) + 1, at).trimStart();
  return line.startsWith('//') || line.startsWith('*') || line.startsWith('/*');
}

async function bundle(urls: MovedUrls): Promise<void> {
  try {
    await esbuild.build({
      entryPoints: ENTRY_POINTS.map((entry) => join(SOURCE_DIR, entry)),
      outbase: SOURCE_DIR,
      outdir: OUT_DIR,
      bundle: true,
      splitting: true,
      chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
      format: 'esm',
      platform: 'node', // Node built-ins stay imports; the browser bundles are scripts/bundle.ts's job
      target: 'es2022',
      charset: 'utf8',
      legalComments: 'none',
      plugins: [urls.plugin],
      logLevel: 'silent',
    });
  } catch (error) {
    if (error instanceof BuildError) throw error;
    const cause = (error as { errors?: { detail?: unknown }[] }).errors?.map((e) => e.detail).find((d) => d instanceof BuildError);
    if (cause instanceof BuildError) throw cause;
    throw new BuildError(`esbuild failed: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Finish and check
// ---------------------------------------------------------------------------------------------

/** Anything relative ending in .ts inside quotes (comments excluded by the caller). */
const LEFTOVER = /(['"])\.{1,2}\/[^'"\n]+\.ts\1/g;

/** Code without its comments, near enough for the leftover check (strings with // are rare here). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"\\])\/\/[^\n]*/g, '$1');
}

async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) files.push(join(entry.parentPath, entry.name));
  }
  return files;
}

async function finish(urls: MovedUrls): Promise<BuildResult> {
  const emitted = new Set<string>();
  for (const path of await previousBuildPaths()) {
    if (!existsSync(path)) continue;
    if ((await stat(path)).isDirectory()) for (const file of await listFiles(path)) emitted.add(file);
    else emitted.add(path);
  }
  const files = [...emitted].sort();
  let bytes = 0;
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    let finished = text;
    if (file.endsWith('.d.ts')) finished = rewriteDeclarationSpecifiers(text);
    else if (file.endsWith('.js')) finished = urls.resolveIn(file, text);
    const leftover = withoutComments(finished).match(LEFTOVER);
    // A conditional choosing between './x.ts' and './x.js' by the module's own extension is fine.
    const unexplained = leftover?.filter((specifier) => !finished.includes(`${specifier.slice(0, -4)}.js${specifier.at(-1)}`));
    if (unexplained !== undefined && unexplained.length > 0) {
      throw new BuildError(`${relative(ROOT, file)} still refers to ${unexplained.join(', ')}: the compiled package has no .ts files`);
    }
    if (finished !== text) await writeFile(file, finished);
    bytes += Buffer.byteLength(finished);
  }
  return { files: files.map((file) => posixRelative(ROOT, file)), bytes, rewrites: urls.rewrites };
}

// ---------------------------------------------------------------------------------------------
// The build
// ---------------------------------------------------------------------------------------------

export async function buildLibrary(): Promise<BuildResult> {
  await clean();
  emitDeclarations();
  const urls = new MovedUrls();
  await bundle(urls);
  return finish(urls);
}

async function main(): Promise<void> {
  const started = performance.now();
  const result = await buildLibrary();
  const scripts = result.files.filter((file) => file.endsWith('.js')).length;
  console.log(
    `built dist/ in ${Math.round(performance.now() - started)} ms: ${scripts} JavaScript files, ` +
      `${result.files.length - scripts} declaration files, ${(result.bytes / 1024).toFixed(0)} KiB`,
  );
  for (const line of result.rewrites) console.log(`  rewrote ${line}`);
}

// Run only when executed, not when imported.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`build: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
