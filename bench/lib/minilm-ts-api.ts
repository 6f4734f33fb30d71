/**
 * The part of minilm-ts the benchmark uses, and how it reaches it.
 *
 * The runner imports the engine by a computed URL: the compiled package (`dist/node.js`) when the
 * harness names it in MINILM_BENCH_ENTRY (it builds dist/ first), else the sources (`src/node.ts`,
 * when the runner itself runs through tsx),
 * so the bench still type-checks and runs its other engines while the engine is missing or
 * half-built; the interfaces below say what it expects to find:
 *   - `loadSentenceEncoder(dir, { threads, backend })` from `src/node.ts`: reads config.json,
 *     model.safetensors and vocab.txt from a model folder;
 *   - `encoder.embedTokenIds([{ inputIds, attentionMask? }])`: pooled, normalised embeddings;
 *   - `writeSyntheticModelFolder('full', dir)` from `src/node/synthetic-folder.ts`: writes the
 *     synthetic full-size checkpoint (the weights the ONNX export holds) as a model folder, by
 *     default in `weights/synthetic/full` (git-ignored; files already right are left alone).
 *     A runner has it written by a child process (`scripts/make-synthetic.ts`), so that the
 *     engine's modules are not loaded before its import is timed.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './paths.ts';
import type { BenchEngine } from './protocol.ts';

export interface MinilmEncoder {
  embedTokenIds(batch: { inputIds: number[]; attentionMask?: number[] }[]): Promise<Float32Array[]>;
  embed(texts: string[]): Promise<Float32Array[]>;
  /** Resolves once the backend is running (workers started, WebAssembly compiled). */
  ready?(): Promise<void>;
  dispose(): void | Promise<void>;
}

export interface MinilmNodeModule {
  loadSentenceEncoder(dir: string, options?: { threads?: number; backend?: string }): Promise<MinilmEncoder>;
}

interface SyntheticFolderModule {
  writeSyntheticModelFolder(variant: 'full' | 'tiny', outDir: string): unknown;
}

export const minilmNodeEntry = path.join(repoRoot, 'src', 'node.ts');
const syntheticFolderEntry = path.join(repoRoot, 'src', 'node', 'synthetic-folder.ts');
const makeSyntheticScript = path.join(repoRoot, 'scripts', 'make-synthetic.ts');
export const syntheticFullDir = path.join(repoRoot, 'weights', 'synthetic', 'full');

/** Why minilm-ts cannot be benchmarked yet, or null when its entry points exist. */
export function minilmUnavailableReason(): string | null {
  for (const file of [minilmNodeEntry, syntheticFolderEntry, makeSyntheticScript]) {
    if (!fs.existsSync(file)) return `${path.relative(repoRoot, file)} does not exist yet`;
  }
  return null;
}

/** The environment variable through which the harness names the compiled entry (dist/node.js). */
export const MINILM_ENTRY_VARIABLE = 'MINILM_BENCH_ENTRY';
export const minilmCompiledEntry = path.join(repoRoot, 'dist', 'node.js');

/** The entry the runner imports: the compiled package when named, else the sources. */
export function minilmEntry(): string {
  return process.env[MINILM_ENTRY_VARIABLE] ?? minilmNodeEntry;
}

export function importMinilmNode(): Promise<MinilmNodeModule> {
  return import(pathToFileURL(minilmEntry()).href) as Promise<MinilmNodeModule>;
}

/** A loaded encoder as the benchmarks measure it: token ids in, one vector per sequence out (no tokenizer). */
export function minilmBenchEngine(encoder: MinilmEncoder): BenchEngine {
  return {
    embed: (batch) => encoder.embedTokenIds(batch.map((s) => ({ inputIds: s.ids }))),
    dispose: () => encoder.dispose(),
  };
}

/** Writes (or refreshes) the synthetic full-size checkpoint folder `outDir`, in this process. */
export async function writeSyntheticFullModel(outDir: string): Promise<void> {
  const module = (await import(pathToFileURL(syntheticFolderEntry).href)) as SyntheticFolderModule;
  await module.writeSyntheticModelFolder('full', outDir);
}

/** Same, in a child process; its output goes to this process's stderr. */
export function writeSyntheticFullModelInChild(outDir: string): void {
  const child = spawnSync(process.execPath, ['--import', 'tsx', makeSyntheticScript, 'full', outDir], {
    cwd: repoRoot,
    stdio: ['ignore', 2, 2],
  });
  if (child.status !== 0) throw new Error(`scripts/make-synthetic.ts failed (exit ${child.status ?? child.signal})`);
}

/** The version in the root package.json. */
export function minilmVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/**
 * The git commit the engine's sources are at, "+ changes" when src/ differs from it; null
 * outside a git checkout.
 */
export function minilmRevision(): string | null {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--', 'src') === '' ? commit : `${commit} + uncommitted changes in src/`;
  } catch {
    return null;
  }
}
