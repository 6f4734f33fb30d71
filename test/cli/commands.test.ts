/**
 * The CLI driven in-process through main(argv, io), on the tiny synthetic model folder.
 * Every run has HF_HUB_OFFLINE=1 and private cache folders, so nothing reaches the network.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantizeEmbeddings } from '../../src/api/quantize.ts';
import { semanticSearch } from '../../src/api/semantic-search.ts';
import { cosSim } from '../../src/api/similarity.ts';
import { COMMANDS, main } from '../../src/cli/main.ts';
import { loadSentenceEncoder, type SentenceEncoder } from '../../src/node.ts';
import { writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';
import { startHubServer } from '../hub/hub-server.ts';
import { memoryIO, readNpy } from './memory-io.ts';

let work: string;
let tiny: string;
let encoder: SentenceEncoder;
let env: Record<string, string>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'minilm-cli-test-'));
  tiny = await writeSyntheticModelFolder('tiny', join(work, 'tiny'));
  encoder = await loadSentenceEncoder(tiny);
  env = { MINILM_CACHE: join(work, 'cache'), HF_HOME: join(work, 'hf'), HF_HUB_OFFLINE: '1' };
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(args: string[], options: Parameters<typeof memoryIO>[0] = {}) {
  const memory = memoryIO({ env, cwd: work, ...options });
  const code = await main(args, memory.io);
  return { code, stdout: memory.stdout(), stderr: memory.stderr(), bytes: memory.stdoutBytes() };
}

/** A user mistake: exit 1, one `minilm: error:` message, no stack trace. */
function expectUserError(result: { code: number; stderr: string }, message: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/minilm: error: /);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('help and dispatch', () => {
  it('--help lists every command; each command has --help', async () => {
    const global = await run(['--help']);
    expect(global.code).toBe(0);
    for (const command of COMMANDS) {
      expect(global.stdout).toContain(`  ${command.name}`);
      const help = await run([command.name, '--help']);
      expect(help.code, command.name).toBe(0);
      expect(help.stdout, command.name).toContain(`Usage: minilm ${command.name}`);
    }
    expect((await run(['help', 'search'])).stdout).toContain('Usage: minilm search');
    expect((await run(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('unknown commands and options are errors with exit code 1', async () => {
    expectUserError(await run(['frobnicate']), /unknown command "frobnicate"; commands: embed, similarity/);
    expectUserError(await run(['--model', 'x']), /expected a command before --model/);
    expectUserError(await run(['embed', '--bogus', 'x']), /Unknown option '--bogus'/);
    expectUserError(await run(['similarity', '--model', tiny, 'only one']), /exactly two texts, got 1/);
    expectUserError(await run(['embed', '--model', tiny, '--batch-size', '0', 'x']), /--batch-size must be a positive integer, got "0"/);
    expectUserError(await run(['embed', '--model', tiny, '--batch-size=-2', 'x']), /--batch-size must be a positive integer, got "-2"/);
    expectUserError(await run(['embed', '--model', tiny, '--precision', 'int4', 'x']), /--precision must be one of/);
    expectUserError(await run(['embed', '--synthetic', '--model', tiny, 'x']), /--synthetic and --model cannot be used together/);
  });
});

describe('similarity', () => {
  it('prints the cosine similarity of the two embeddings, and labels synthetic weights on stderr', async () => {
    const a = 'A man is eating food.';
    const b = 'A man is eating a piece of bread.';
    const result = await run(['similarity', '--model', tiny, a, b]);
    expect(result.code).toBe(0);
    const [ea, eb] = await encoder.embed([a, b]);
    expect(result.stdout).toBe(`${cosSim(ea!, eb!).data[0]!.toFixed(4)}\n`);
    expect(result.stderr).toMatch(/synthetic weights: the numbers below are meaningless/);
  });

  it('runs on --synthetic (the full-size synthetic checkpoint, written once to the cache)', async () => {
    const result = await run(['similarity', '--synthetic', 'one', 'two']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^-?\d\.\d{4}\n$/);
    expect(existsSync(join(env.MINILM_CACHE!, 'synthetic', 'minilm-synth-v1', 'SYNTHETIC.md'))).toBe(true);
  });

  it('without network, the default model fails with the missing files and the --synthetic hint', async () => {
    const result = await run(['similarity', 'A', 'B']);
    expectUserError(result, /sentence-transformers\/all-MiniLM-L6-v2 is not in the cache/);
    expect(result.stderr).toContain('model.safetensors (90868376 bytes, sha256 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db)');
    expect(result.stderr).toContain(join(env.MINILM_CACHE!, 'models--sentence-transformers--all-MiniLM-L6-v2'));
    expect(result.stderr).toContain('add --synthetic');
  });
});

describe('embed', () => {
  const texts = ['first line', '', 'the third line is the longest of them all', 'é ü 中文'];

  async function expectRowsMatch(rows: { index: number; text: string; embedding: number[] }[], expected: string[]): Promise<void> {
    const vectors = await encoder.embed(expected);
    expect(rows.map((r) => r.index)).toEqual(expected.map((_, i) => i));
    expect(rows.map((r) => r.text)).toEqual(expected);
    // 9 significant digits give back the exact float32
    rows.forEach((r, i) => expect(Float32Array.from(r.embedding)).toEqual(vectors[i]));
  }

  it('writes JSONL for texts given as arguments', async () => {
    const result = await run(['embed', '--model', tiny, ...texts]);
    expect(result.code).toBe(0);
    await expectRowsMatch(result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)), texts);
  });

  it('reads lines from stdin (empty lines are texts, CRLF and a missing final newline are fine)', async () => {
    const result = await run(['embed', '--model', tiny, '--batch-size', '2'], { stdin: texts.join('\r\n'), stdinTTY: false });
    expect(result.code).toBe(0);
    await expectRowsMatch(result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)), texts);
  });

  it('reads a JSONL file (strings or {"text"} objects, blank lines skipped)', async () => {
    writeFileSync(join(work, 'in.jsonl'), `"first line"\n\n{"text": "", "id": 7}\n${JSON.stringify({ text: texts[2] })}\n"é ü 中文"\n`);
    const result = await run(['embed', '--model', tiny, '--input', 'in.jsonl']);
    expect(result.code).toBe(0);
    await expectRowsMatch(result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)), texts);
  });

  it('writes .npy (float32 and int8) and raw f32 files equal to the API results, leaving no .part', async () => {
    writeFileSync(join(work, 'in.txt'), `${texts.join('\n')}\n`);
    const matrix = await encoder.embedMatrix(texts);

    const npy = await run(['embed', '--model', tiny, '--input', 'in.txt', '--output', 'out.npy']);
    expect(npy.code, npy.stderr).toBe(0);
    expect(npy.stdout).toBe('');
    expect(npy.stderr).toContain('wrote 4 embeddings to out.npy (npy, float32)');
    const parsed = readNpy(new Uint8Array(readFileSync(join(work, 'out.npy'))));
    expect(parsed.descr).toBe('<f4');
    expect(parsed.shape).toEqual([4, 32]);
    expect(new Float32Array(parsed.data.slice().buffer)).toEqual(matrix.data);
    expect(existsSync(join(work, 'out.npy.part'))).toBe(false);

    const int8 = await run(['embed', '--model', tiny, '--input', 'in.txt', '--output', 'q.npy', '--precision', 'int8']);
    expect(int8.code, int8.stderr).toBe(0);
    const q = readNpy(new Uint8Array(readFileSync(join(work, 'q.npy'))));
    expect(q.descr).toBe('|i1');
    expect(new Int8Array(q.data.slice().buffer)).toEqual(quantizeEmbeddings(matrix, 'int8').data);

    const f32 = await run(['embed', '--model', tiny, '--input', 'in.txt', '--output', 'out.f32']);
    expect(f32.code).toBe(0);
    expect(new Float32Array(new Uint8Array(readFileSync(join(work, 'out.f32'))).buffer)).toEqual(matrix.data);

    const piped = await run(['embed', '--model', tiny, '--format', 'f32', ...texts]);
    expect(new Float32Array(piped.bytes.slice().buffer)).toEqual(matrix.data);
  });

  it('--truncate-dim and --no-normalize reach the encoder', async () => {
    const result = await run(['embed', '--model', tiny, '--truncate-dim', '8', '--no-normalize', 'hello']);
    const row = JSON.parse(result.stdout) as { embedding: number[] };
    expect(Float32Array.from(row.embedding)).toEqual(await encoder.embed('hello', { truncateDim: 8, normalize: false }));
  });

  it('names the line of invalid UTF-8, and leaves no output file behind', async () => {
    writeFileSync(join(work, 'bad.txt'), Buffer.concat([Buffer.from('good line\nbad '), Buffer.from([0xc3, 0x28]), Buffer.from('\nthird\n')]));
    const result = await run(['embed', '--model', tiny, '--input', 'bad.txt', '--output', 'bad.npy']);
    expectUserError(result, /bad.txt: line 2 is not valid UTF-8/);
    expect(existsSync(join(work, 'bad.npy'))).toBe(false);
    expect(existsSync(join(work, 'bad.npy.part'))).toBe(false);
  });

  it('rejects empty input, missing input and impossible output choices', async () => {
    writeFileSync(join(work, 'empty.txt'), '');
    expectUserError(await run(['embed', '--model', tiny, '--input', 'empty.txt']), /the input holds no texts/);
    expectUserError(await run(['embed', '--model', tiny, '--input', 'nope.txt']), /cannot read nope.txt: no such file/);
    expectUserError(await run(['embed', '--model', tiny], { stdinTTY: true }), /no input: give the texts as arguments, with --input FILE, or as lines on stdin/);
    expectUserError(await run(['embed', '--model', tiny, '--format', 'npy', 'x']), /--format npy needs --output FILE/);
    expectUserError(await run(['embed', '--model', tiny, '--format', 'f32', '--precision', 'int8', 'x']), /f32 holds float32 embeddings only/);
    expectUserError(await run(['embed', '--model', tiny, '--input', 'in.txt', 'and an argument']), /as arguments or with --input, not both/);
  });
});

describe('bad model folders', () => {
  it('names what is wrong: no folder, a missing file, a non-BERT config', async () => {
    expectUserError(await run(['embed', '--model', './no-such-dir/', 'x']), /there is no model folder ".\/no-such-dir\/"/);
    const broken = join(work, 'broken');
    cpSync(tiny, broken, { recursive: true });
    rmSync(join(broken, 'vocab.txt'));
    expectUserError(await run(['embed', '--model', broken, 'x']), /model folder ".*broken" has no vocab.txt/);
    const roberta = join(work, 'roberta');
    cpSync(tiny, roberta, { recursive: true });
    const config = JSON.parse(readFileSync(join(roberta, 'config.json'), 'utf8'));
    writeFileSync(join(roberta, 'config.json'), JSON.stringify({ ...config, model_type: 'roberta' }));
    expectUserError(await run(['embed', '--model', roberta, 'x']), /model_type is "roberta", but this engine runs BERT models only/);
    const dense = join(work, 'dense');
    cpSync(tiny, dense, { recursive: true });
    const modules = JSON.parse(readFileSync(join(dense, 'modules.json'), 'utf8'));
    writeFileSync(join(dense, 'modules.json'), JSON.stringify([...modules, { idx: 3, name: '3', path: '3_Dense', type: 'sentence_transformers.models.Dense' }]));
    expectUserError(await run(['similarity', '--model', dense, 'a', 'b']), /Dense.*is not supported/);
  });
});

describe('tokenize, search, info', () => {
  it('tokenize shows ids, tokens and offsets; --json gives what the encoder sees', async () => {
    const text = 'Hello world!';
    const human = await run(['tokenize', '--model', tiny, text]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/7592 {2}hello {2}0-5 {2}"Hello"/);
    expect(human.stdout).toContain('[CLS]');
    const json = JSON.parse((await run(['tokenize', '--model', tiny, '--json', text])).stdout) as { ids: number[]; tokens: string[] };
    expect(json.ids).toEqual(encoder.tokenize(text));
    expect(json.tokens[0]).toBe('[CLS]');
    const long = await run(['tokenize', '--model', tiny, '--max-seq-length', '4', text]);
    expect(long.stdout).toContain('4 tokens, truncated from 5 to max_seq_length 4');
  });

  it('search prints the top-k corpus lines per query, equal to semanticSearch', async () => {
    const corpus = ['A man is eating food.', 'A man is riding a horse.', 'A woman is playing violin.', 'Two men pushed carts.', 'A monkey is playing drums.', 'A cheetah is running.'];
    writeFileSync(join(work, 'corpus.txt'), `${corpus.join('\n')}\n`);
    const queries = ['A man is eating pasta.', 'Someone plays an instrument.'];
    const result = await run(['search', '--model', tiny, '--corpus', 'corpus.txt', '--top-k', '3', '--json', ...queries]);
    expect(result.code, result.stderr).toBe(0);
    const expected = semanticSearch(await encoder.embedMatrix(queries), await encoder.embedMatrix(corpus), { topK: 3 });
    const lines = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    lines.forEach((line, q) => {
      expect(line.query).toBe(queries[q]);
      expect(line.hits.map((h: { corpusId: number }) => h.corpusId)).toEqual(expected[q]!.map((h) => h.corpusId));
      for (const hit of line.hits) {
        expect(hit.text).toBe(corpus[hit.corpusId]);
        expect(hit.line).toBe(hit.corpusId + 1);
      }
    });
    const human = await run(['search', '--model', tiny, '--corpus', 'corpus.txt', queries[0]!]);
    expect(human.stdout.split('\n')[0]).toBe(`query: ${queries[0]}`);
    expect(human.stdout.trimEnd().split('\n').length).toBe(1 + 5);
    expectUserError(await run(['search', '--model', tiny, 'q']), /search needs --corpus FILE/);
  });

  it('info describes a folder (--json) and a model that is not downloaded, without downloading', async () => {
    const folder = JSON.parse((await run(['info', '--model', tiny, '--json'])).stdout);
    expect(folder).toMatchObject({ status: 'local folder', synthetic: true, architecture: { layers: 2, hiddenSize: 32 }, sentence: { pooling: 'mean', normalize: true, maxSeqLength: 256 } });
    expect(folder.files).toContainEqual({ path: 'model.safetensors', size: readFileSync(join(tiny, 'model.safetensors')).length });
    const missing = await run(['info']);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toMatch(/status\s+not downloaded/);
    expect(missing.stdout).toMatch(/model.safetensors\s+90.9 MB/);
  });
});

describe('download', () => {
  it('downloads a Hub model from HF_ENDPOINT into the cache and prints the folder; --dir copies it', async () => {
    const files = new Map<string, Uint8Array>();
    for (const file of ['modules.json', 'config.json', 'model.safetensors', 'vocab.txt', '1_Pooling/config.json', 'sentence_bert_config.json']) {
      files.set(`test-org/tiny/main/${file}`, new Uint8Array(readFileSync(join(tiny, file))));
    }
    const server = await startHubServer({ files });
    try {
      const online = { ...env, HF_HUB_OFFLINE: '', HF_ENDPOINT: server.endpoint };
      const result = await run(['download', 'test-org/tiny'], { env: online });
      expect(result.code, result.stderr).toBe(0);
      const folder = result.stdout.trim();
      expect(folder).toBe(join(env.MINILM_CACHE!, 'models--test-org--tiny', 'main'));
      // Buffer.equals: toEqual would compare the 4 MB element by element
      expect(readFileSync(join(folder, 'model.safetensors')).equals(readFileSync(join(tiny, 'model.safetensors')))).toBe(true);
      const copy = await run(['download', 'test-org/tiny', '--dir', 'copied'], { env: online });
      expect(copy.stdout.trim()).toBe(join(work, 'copied'));
      expect(readFileSync(join(work, 'copied', '1_Pooling', 'config.json'))).toEqual(readFileSync(join(tiny, '1_Pooling', 'config.json')));
      const embedded = await run(['embed', '--model', 'test-org/tiny', 'hello'], { env: online });
      expect(Float32Array.from(JSON.parse(embedded.stdout).embedding)).toEqual(await encoder.embed('hello'));
      expectUserError(await run(['download', tiny]), /is a local folder: there is nothing to download/);
    } finally {
      await server.close();
    }
  });
});

