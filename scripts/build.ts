/**
 * Builds the published package: src/ compiled by tsc (tsconfig.build.json) to ES2022 JavaScript
 * and declaration files in dist/, one file per source file, same folder tree.
 *
 * Run:   npm run build          (also run by `npm pack` / `npm publish`, through prepack)
 *
 * Steps:
 *   1. remove the previous build (only what tsc writes: dist/<each entry of src/>; the browser
 *      bundles that scripts/bundle.ts writes into dist/ are left alone);
 *   2. tsc -p tsconfig.build.json, which also turns relative `./x.ts` import specifiers into
 *      `./x.js` in the JavaScript (rewriteRelativeImportExtensions);
 *   3. finish what tsc leaves as `.ts`:
 *      - in JavaScript, `new URL('./x.ts', import.meta.url)` (how a Web Worker finds its entry
 *        module, in a form bundlers recognise) becomes `new URL('./x.js', import.meta.url)`;
 *      - in declaration files, relative `./x.ts` specifiers become `./x.js` (tsc keeps them as
 *        written; TypeScript reads either, other tools only the second);
 *   4. check that no relative `.ts` reference is left, and that every URL rewritten in step 3
 *      names a file that exists.
 *
 * Why dist/ and not a subfolder: the Node adapters find the package's data files relative to
 * their own module (`new URL('../../weights/manifest.json', import.meta.url)` and alike). dist/
 * is one folder below the package root, as src/ is, so the same relative paths hold in both.
 *
 * Left out: a CommonJS build, source maps and declaration maps (the TypeScript sources are not
 * in the package, so maps would point at nothing), minification (the code is meant to be read).
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SOURCE_DIR = join(ROOT, 'src');
export const OUT_DIR = join(ROOT, 'dist');
const TSCONFIG = join(ROOT, 'tsconfig.build.json');

/** Thrown when the build fails or leaves something unfinished; the message names the file. */
export class BuildError extends Error {
  override readonly name = 'BuildError';
}

export interface BuildResult {
  /** Paths relative to the package root (dist/…), sorted. */
  files: string[];
  bytes: number;
  /** Step 3's rewrites, as "file: before → after". */
  rewrites: string[];
}

// ---------------------------------------------------------------------------------------------
// 1. Clean
// ---------------------------------------------------------------------------------------------

/**
 * What a previous build wrote: dist/<dir> for each folder of src/, dist/<name>.js and .d.ts for
 * each file. Derived from src/ so that a new source folder needs no change here.
 */
async function previousBuildPaths(): Promise<string[]> {
  const paths: string[] = [];
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
// 2. Compile
// ---------------------------------------------------------------------------------------------

function compile(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', TSCONFIG], { cwd: ROOT, encoding: 'utf8' });
  if (result.error !== undefined) throw new BuildError(`cannot run tsc: ${result.error.message}`);
  if (result.status !== 0) {
    throw new BuildError(`tsc -p tsconfig.build.json failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Finish the .ts references tsc leaves, 4. check
// ---------------------------------------------------------------------------------------------

/** `new URL('./x.ts', import.meta.url)` with a relative, literal first argument. */
const WORKER_URL = /new URL\((['"])(\.{1,2}\/[^'"]+)\.ts\1,(\s*)import\.meta\.url\)/g;

/** Relative specifiers ending in .ts in a declaration file: from '…', import('…'), import '…'. */
const DECLARATION_SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g;

/** Anything relative ending in .ts inside quotes, for the final check (comments excluded). */
const LEFTOVER = /(['"])\.{1,2}\/[^'"\n]+\.ts\1/g;

/** JavaScript: worker entry URLs. Each target must exist in dist/ once renamed. */
function rewriteWorkerUrls(file: string, text: string, rewrites: string[]): string {
  return text.replace(WORKER_URL, (match, quote: string, stem: string, space: string) => {
    const target = resolve(dirname(file), `${stem}.js`);
    if (!existsSync(target)) {
      throw new BuildError(`${relative(ROOT, file)}: ${match} points at ${relative(ROOT, target)}, which the build did not write`);
    }
    const rewritten = `new URL(${quote}${stem}.js${quote},${space}import.meta.url)`;
    rewrites.push(`${relative(ROOT, file)}: ${match} → ${rewritten}`);
    return rewritten;
  });
}

/** Declarations: relative `.ts` specifiers → `.js` (what a consumer's resolver looks for). */
function rewriteDeclarationSpecifiers(text: string): string {
  return text.replace(DECLARATION_SPECIFIER, (_match, head: string, quote: string, stem: string) => `${head}${quote}${stem}.js${quote}`);
}

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

async function finish(): Promise<BuildResult> {
  const emitted = new Set<string>();
  for (const path of await previousBuildPaths()) {
    if (!existsSync(path)) continue;
    if ((await stat(path)).isDirectory()) for (const file of await listFiles(path)) emitted.add(file);
    else emitted.add(path);
  }
  const files = [...emitted].sort();
  const rewrites: string[] = [];
  let bytes = 0;
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    let finished = text;
    if (file.endsWith('.d.ts')) finished = rewriteDeclarationSpecifiers(text);
    else if (file.endsWith('.js')) finished = rewriteWorkerUrls(file, text, rewrites);
    const leftover = withoutComments(finished).match(LEFTOVER);
    // A conditional choosing between './x.ts' and './x.js' by the module's own extension is fine.
    const unexplained = leftover?.filter((specifier) => !finished.includes(`${specifier.slice(0, -4)}.js${specifier.at(-1)}`));
    if (unexplained !== undefined && unexplained.length > 0) {
      throw new BuildError(`${relative(ROOT, file)} still refers to ${unexplained.join(', ')}: the compiled package has no .ts files`);
    }
    if (finished !== text) await writeFile(file, finished);
    bytes += Buffer.byteLength(finished);
  }
  return { files: files.map((file) => relative(ROOT, file).split('\\').join('/')), bytes, rewrites };
}

// ---------------------------------------------------------------------------------------------
// The build
// ---------------------------------------------------------------------------------------------

export async function buildLibrary(): Promise<BuildResult> {
  await clean();
  compile();
  return finish();
}

async function main(): Promise<void> {
  const started = performance.now();
  const result = await buildLibrary();
  const scripts = result.files.filter((file) => file.endsWith('.js')).length;
  console.log(
    `built dist/ in ${Math.round(performance.now() - started)} ms: ${scripts} modules, ` +
      `${result.files.length - scripts} other files, ${(result.bytes / 1024).toFixed(0)} KiB`,
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
