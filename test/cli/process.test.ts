/**
 * The CLI as a real child process, for what only a process shows: exit codes, stdin piping,
 * and the bin/minilm.js launcher. Runs `npx tsx src/cli/main.ts` offline on the tiny folder.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
let work: string;
let tiny: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'minilm-cli-process-'));
  tiny = await writeSyntheticModelFolder('tiny', join(work, 'tiny'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function minilm(args: string[], input?: string, launcher: 'tsx' | 'bin' = 'tsx') {
  const command = launcher === 'tsx' ? ['npx', ['--no-install', 'tsx', 'src/cli/main.ts', ...args]] as const : ['node', ['bin/minilm.js', ...args]] as const;
  const result = spawnSync(command[0], [...command[1]], {
    cwd: root,
    input: input ?? '',
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, MINILM_CACHE: join(work, 'cache'), HF_HOME: join(work, 'hf'), HF_HUB_OFFLINE: '1' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('minilm as a process', () => {
  it('exits 0 with the result on stdout', () => {
    const result = minilm(['similarity', '--model', tiny, 'A man is eating food.', 'A man is eating a piece of bread.']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^-?\d\.\d{4}\n$/);
  });

  it('reads lines piped on stdin', () => {
    const result = minilm(['embed', '--model', tiny], 'one\ntwo\n');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).text)).toEqual(['one', 'two']);
  });

  it('exits 1 with one error line and no stack trace for a user mistake', () => {
    const result = minilm(['embed', '--model', tiny, '--bogus']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^minilm: error: Unknown option '--bogus'/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('bin/minilm.js runs the same CLI; offline, the default model fails with exit code 1', () => {
    expect(minilm(['--version'], undefined, 'bin').stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const result = minilm(['similarity', 'A man is eating food.', 'A man is eating a piece of bread.'], undefined, 'bin');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^minilm: error: sentence-transformers\/all-MiniLM-L6-v2 is not in the cache/);
    expect(result.stderr).toContain('model.safetensors');
  });
});
