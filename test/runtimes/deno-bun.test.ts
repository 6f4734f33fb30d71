/**
 * Deno and Bun smoke tests: each runtime runs test/runtimes/embed-script.ts, which loads the
 * tiny synthetic checkpoint from files with the runtime's own file API, embeds a few texts and
 * prints the float32 bits; the bits must equal Node's for the same texts.
 *
 * Both runtimes come from npm as dev dependencies (`deno`, `bun`: packages that ship the binary),
 * started through node_modules/.bin. Each runs the TypeScript source (its own TS support) and
 * the browser bundle dist/minilm.browser.min.js (built here into a temporary folder).
 *
 * A runtime whose binary is missing is skipped with the reason, unless CI is set: then the
 * missing binary is a broken install and fails.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAll } from '../../scripts/bundle.ts';
import { generateSyntheticCheckpoint, SentenceEncoder, SYNTHETIC_TINY } from '../../src/index.ts';
import { realVocab } from '../helpers/checkpoints.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'test', 'runtimes', 'embed-script.ts');
const VOCAB = join(ROOT, 'weights', 'all-MiniLM-L6-v2', 'vocab.txt');

/** Hard strings: accents stripped, CJK split per character, emoji unknown, empty, long (truncated). */
const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'Héllo, naïve café! 日本語のテキスト',
  'emoji 🙂 and symbols ∑ ≠ ∞',
  '',
  'word '.repeat(400),
];

const ci = process.env.CI;
const onCi = ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';

interface Runtime {
  name: string;
  binary: string;
  /**
   * Deno runs V8, like Node, whose Math.exp and friends are the same fdlibm port: the bits must
   * be identical. Bun runs JavaScriptCore, whose math library may round a float64 differently in
   * the last place; those differences could flip a float32 bit, so Bun is held to 1e-6 (it has
   * been bit-identical on every run so far, which the test reports).
   */
  tolerance: number;
  command(script: string, args: string[]): string[];
}

const RUNTIMES: Runtime[] = [
  {
    name: 'deno',
    binary: join(ROOT, 'node_modules', '.bin', 'deno'),
    tolerance: 0,
    // --allow-read only: no network, no environment, no writes.
    command: (script, args) => ['run', '--allow-read', '--no-prompt', script, ...args],
  },
  {
    name: 'bun',
    binary: join(ROOT, 'node_modules', '.bin', 'bun'),
    tolerance: 1e-6,
    command: (script, args) => ['run', script, ...args],
  },
];

let folder = '';
let nodeBits: number[][] = [];
let args: string[] = [];
let bundlePath = '';

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'minilm-runtimes-'));
  const weights = generateSyntheticCheckpoint(SYNTHETIC_TINY);
  writeFileSync(join(folder, 'model.safetensors'), weights);
  writeFileSync(join(folder, 'config.json'), JSON.stringify(SYNTHETIC_TINY.config));
  args = [
    '--weights', join(folder, 'model.safetensors'),
    '--config', join(folder, 'config.json'),
    '--vocab', VOCAB,
    '--texts', JSON.stringify(TEXTS),
  ];
  const encoder = SentenceEncoder.fromParts({ config: SYNTHETIC_TINY.config, weights, vocab: realVocab() });
  nodeBits = (await encoder.embed(TEXTS)).map((row) => Array.from(new Uint32Array(row.buffer, row.byteOffset, row.length)));
  await buildAll(join(folder, 'dist'));
  bundlePath = join(folder, 'dist', 'minilm.browser.min.js');
});

afterAll(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
});

for (const runtime of RUNTIMES) {
  const present = existsSync(runtime.binary);
  const reason = `${runtime.name} is not installed (${runtime.binary} missing): run npm ci at the repository root`;
  if (!present && !onCi) console.warn(`\n  SKIPPING the ${runtime.name} smoke tests: ${reason}\n`);

  describe.skipIf(!present && !onCi)(`${runtime.name}`, () => {
    for (const entry of ['source', 'bundle'] as const) {
      it(`embeds like Node from the ${entry === "source" ? "TypeScript source" : "browser bundle"} (${runtime.tolerance === 0 ? "identical float32 bits" : `within ${runtime.tolerance}`})`, async () => {
        if (!present) throw new Error(reason);
        const extra = entry === 'bundle' ? ['--entry', 'bundle', '--bundle', bundlePath] : ['--entry', 'source'];
        const { stdout } = await run(runtime.binary, runtime.command(SCRIPT, [...args, ...extra]), {
          cwd: ROOT,
          timeout: 60_000,
          maxBuffer: 16 << 20,
          env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', DO_NOT_TRACK: '1' },
        });
        const result = JSON.parse(stdout.trim().split('\n').pop()!) as { runtime: string; entry: string; bits: number[][] };
        expect(result.runtime.startsWith(runtime.name)).toBe(true);
        expect(result.entry).toBe(entry);
        expect(result.bits.length).toBe(TEXTS.length);
        if (runtime.tolerance === 0) {
          expect(result.bits).toEqual(nodeBits);
        } else {
          const difference = maxDifference(result.bits, nodeBits);
          if (difference !== 0) console.info(`${result.runtime}: not bit-identical to Node, largest difference ${difference}`);
          expect(difference).toBeLessThanOrEqual(runtime.tolerance);
        }
      });
    }
  });
}

function maxDifference(a: number[][], b: number[][]): number {
  expect(a.map((row) => row.length)).toEqual(b.map((row) => row.length));
  let max = 0;
  a.forEach((row, i) => {
    const x = new Float32Array(new Uint32Array(row).buffer);
    const y = new Float32Array(new Uint32Array(b[i]!).buffer);
    for (let k = 0; k < x.length; k++) max = Math.max(max, Math.abs(x[k]! - y[k]!));
  });
  return Number.isNaN(max) ? Infinity : max;
}
