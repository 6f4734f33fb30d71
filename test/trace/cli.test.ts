/**
 * `minilm trace`, driven in-process with in-memory streams: on a tiny synthetic model folder
 * (fast), and once on the full synthetic checkpoint with a full-size reference fixture.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceCommand } from '../../src/cli/commands/trace.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';
import { fixturePath, readFixtureJson, type ReferenceCase } from '../helpers/checkpoints.ts';

interface Captured {
  code: number | 'threw';
  stdout: string;
  stderr: string;
  error?: Error;
}

let workDir = '';
let tinyModel = '';

function memoryIO(): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIO = {
    stdout: { write: (chunk) => void (out += String(chunk)) },
    stderr: { write: (chunk) => void (err += String(chunk)) },
    stdin: (async function* () {})(),
    env: { MINILM_CACHE: join(workDir, 'cache'), HF_HUB_CACHE: join(workDir, 'hf') },
    cwd: workDir,
  };
  return { io, out: () => out, err: () => err };
}

async function trace(...args: string[]): Promise<Captured> {
  const { io, out, err } = memoryIO();
  try {
    const code = await traceCommand.run(args, io);
    return { code, stdout: out(), stderr: err() };
  } catch (error) {
    return { code: 'threw', stdout: out(), stderr: err(), error: error as Error };
  }
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'minilm-trace-'));
  tinyModel = await writeSyntheticModelFolder('tiny', join(workDir, 'tiny'));
  // The folder carries the real model's 1_Pooling/config.json (384 wide); the tiny model is 32 wide.
  const poolingConfig = join(tinyModel, '1_Pooling', 'config.json');
  const pooling = JSON.parse(await readFile(poolingConfig, 'utf8'));
  if (pooling.word_embedding_dimension !== 32) await writeFile(poolingConfig, JSON.stringify({ ...pooling, word_embedding_dimension: 32 }));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('minilm trace', () => {
  it('prints tokens, one row per stage, one attention line per layer and the first values', async () => {
    const result = await trace('--model', tinyModel, '--values', '4', 'Hello world!');
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(result.stdout).toContain('tokens (5): [CLS] hello world ! [SEP]');
    expect(result.stdout).toContain('ids: 101 7592 2088 999 102');
    for (const stage of ['embeddings', 'layer 1', 'layer 2', 'mean pooling', 'L2 normalise']) {
      expect(lines.some((l) => l.startsWith(`${stage} `)), stage).toBe(true);
    }
    expect(lines.filter((l) => /^ {2}layer \d: /.test(l)).length).toBe(2);
    expect(result.stdout).toMatch(/sentence embedding \[32\], first 4: (-?\d\.\d{4} ){4}…/);
    expect(result.stderr).toContain('synthetic weights');
  });

  it('--ids bypasses the tokenizer and gives the same trace as the text', async () => {
    const byText = await trace('--model', tinyModel, '--json', 'Hello world!');
    const byIds = await trace('--model', tinyModel, '--json', '--ids', '101, 7592,2088,999,102');
    const a = JSON.parse(byText.stdout);
    const b = JSON.parse(byIds.stdout);
    expect(b.text).toBeNull();
    expect(b.input_ids).toEqual(a.input_ids);
    expect(b.hidden_states).toEqual(a.hidden_states);
    expect(b.sentence_embedding).toEqual(a.sentence_embedding);
  });

  it('--json writes a reference dump that --reference accepts: no divergence', async () => {
    const dump = await trace('--model', tinyModel, '--json', 'Reading is believing.');
    const path = join(workDir, 'mine.json');
    await writeFile(path, dump.stdout);
    const again = await trace('--model', tinyModel, '--reference', 'mine.json', 'Reading is believing.');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('compared with mine.json:');
    expect(again.stdout).toMatch(/no divergence: all 6 compared stages agree within tolerance\n$/);
  });

  it('--reference on a fixture case, with its own ids, reports no divergence', async () => {
    const result = await trace('--model', tinyModel, '--reference', fixturePath('reference/tiny/token_type_1.json'));
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('token types: 1 1 1 1 1 1 1 1 1 1');
    expect(result.stdout).toMatch(/no divergence/);
  });

  it('--row picks a row of a batched reference', async () => {
    const c = readFixtureJson<ReferenceCase>('reference/tiny/padded_batch4.json');
    const result = await trace('--model', tinyModel, '--reference', fixturePath('reference/tiny/padded_batch4.json'), '--row', '2');
    expect(result.code).toBe(0);
    const realIds = c.input_ids[2]!.filter((_, p) => c.attention_mask[2]![p] === 1);
    expect(result.stdout).toContain(`ids: ${realIds.join(' ')}`);
    expect(result.stdout).toContain(', row 2:');
  });

  it('reports the layer where a perturbed reference diverges, and exits with 1', async () => {
    const c = readFixtureJson<ReferenceCase>('reference/tiny/hello_world.json');
    for (let s = 2; s < c.hidden_states!.length; s++) c.hidden_states![s]![0]![1]![5]! += 0.01; // from layer 2 on
    await writeFile(join(workDir, 'perturbed.json'), JSON.stringify(c));
    const result = await trace('--model', tinyModel, '--ids', '101,7592,2088,102', '--reference', 'perturbed.json');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^layer 1 .* ok$/m);
    expect(result.stdout).toMatch(/^layer 2 .*DIVERGES at token 1 \(hello\), dim 5/m);
    expect(result.stdout).toMatch(/first divergence: layer 2 \(max abs diff 1\.00e-2 > tolerance 1e-4\)\n$/);
    const loose = await trace('--model', tinyModel, '--ids', '101,7592,2088,102', '--reference', 'perturbed.json', '--tolerance', '0.02');
    expect(loose.code).toBe(0);
  });

  it('--json with --reference adds the comparison to the dump', async () => {
    const result = await trace('--model', tinyModel, '--json', '--reference', fixturePath('reference/tiny/cls_sep.json'));
    const parsed = JSON.parse(result.stdout);
    expect(parsed.comparison.firstDivergence).toBeNull();
    expect(parsed.comparison.stages.map((s: { id: string }) => s.id)).toEqual(['tokens', 'embeddings', 'layer.1', 'layer.2', 'pooled', 'normalized']);
  });

  it('refuses bad usage with messages that name the problem', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /nothing to trace/],
      [['a', 'b'], /one text \(quote it\), got 2/],
      [['text', '--ids', '101,102'], /not both/],
      [['--ids', '101,x,102'], /--ids: item 2 is "x"/],
      [['--row', '1', 'text'], /--row selects a row of --reference/],
      [['--tolerance', 'tight', 'text'], /--tolerance must be a number/],
      [['--reference', fixturePath('reference/tiny/hello_world.json'), '--row', '3'], /row 3 does not exist/],
      [['--reference', fixturePath('reference/full/hello_world.json')], /--reference: .*hidden states .*same checkpoint/],
      [['--reference', fixturePath('reference/README.md')], /is not valid JSON/],
      [['--reference', 'missing.json'], /--reference .*missing\.json: no such file/],
      [['--reference', fixturePath('reference')], /is a folder/],
    ];
    for (const [args, message] of cases) {
      const result = await trace('--model', tinyModel, ...args);
      expect(result.code, args.join(' ')).toBe('threw');
      expect(result.error!.name, args.join(' ')).toBe('UsageError');
      expect(result.error!.message).toMatch(message);
    }
    const badId = await trace('--model', tinyModel, '--ids', '101,40000,102');
    expect(badId.error?.name).toBe('InputError');
    expect(badId.error?.message).toMatch(/token id 40000 at position 1/);
  });

  it('prints its help', async () => {
    const result = await trace('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(traceCommand.help);
  });

  it('--synthetic: the full-size checkpoint agrees with the full hello_world fixture at every layer', async () => {
    const result = await trace('--synthetic', '--reference', fixturePath('reference/full/hello_world.json'));
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('minilm-synth-v1 (synthetic weights): H 384, 6 layers, 12 heads of 32, feed-forward 1536');
    expect(result.stdout).toMatch(/^layer 6 +\S+ +1e-4 +ok$/m);
    expect(result.stdout).toMatch(/no divergence: all 10 compared stages agree within tolerance/);
  });
});
