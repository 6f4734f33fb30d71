/**
 * The synthetic checkpoint generator against its specification (test/fixtures/synthetic-model):
 * the hash and random stream against naive re-implementations of SPEC.md, every tensor against
 * the published sha256 list, the token sequences against the ids stored in the reference outputs,
 * and the Node adapter that writes a whole model folder.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSafetensors, readBigInt64, readFloat32, readTensorBytes } from '../../src/model/safetensors.ts';
import {
  fnv1a32,
  generateSyntheticCheckpoint,
  generateSyntheticTensor,
  mulberry32,
  randomTokenSequence,
  SYNTHETIC_FULL,
  SYNTHETIC_TINY,
  syntheticTensorSpecs,
  type SyntheticRecipe,
} from '../../src/model/synthetic.ts';
import { COPIED_MODEL_FILES, writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const REAL_MODEL = new URL('../../weights/all-MiniLM-L6-v2/', import.meta.url);

// ---------------------------------------------------------------------------------------------
// Naive references, written from SPEC.md with BigInt arithmetic (no Math.imul, no >>> tricks).
// ---------------------------------------------------------------------------------------------

const MOD32 = 2n ** 32n;

function naiveFnv1a32(text: string): number {
  let hash = 0x811c9dc5n;
  for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * 0x01000193n) % MOD32;
  return Number(hash);
}

function naiveMulberry32(seed: number): () => number {
  let a = BigInt(seed) % MOD32;
  return () => {
    a = (a + 0x6d2b79f5n) % MOD32;
    let t = ((a ^ (a >> 15n)) * (1n | a)) % MOD32;
    t = ((t + ((t ^ (t >> 7n)) * (61n | t)) % MOD32) % MOD32) ^ t;
    return Number(t ^ (t >> 14n));
  };
}

function naiveTensor(name: string, count: number, center: number, scale: number): Float32Array {
  const next = naiveMulberry32(naiveFnv1a32(name));
  const out = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    const x = Math.floor(next() / 256) / 16777216;
    out[k] = Math.fround(center + (2 * x - 1) * scale);
  }
  return out;
}

function readChecksums(variant: 'full' | 'tiny'): Map<string, string> {
  const text = readFileSync(new URL(`synthetic-model/CHECKSUMS-${variant}.txt`, FIXTURES), 'utf8');
  const sums = new Map<string, string>();
  for (const line of text.trim().split('\n')) {
    const [sha256, name] = line.trim().split(/\s+/);
    sums.set(name, sha256);
  }
  return sums;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

// ---------------------------------------------------------------------------------------------
// The generator's parts
// ---------------------------------------------------------------------------------------------

describe('fnv1a32', () => {
  it('matches the published FNV-1a test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('matches the naive BigInt version, on UTF-8 bytes', () => {
    for (const text of ['embeddings.word_embeddings.weight', 'é', '😀 emoji', 'x'.repeat(1000)]) {
      expect(fnv1a32(text)).toBe(naiveFnv1a32(text));
    }
  });
});

describe('mulberry32', () => {
  it('returns the same uint32 stream as the naive BigInt version of SPEC.md', () => {
    for (const seed of [0, 1, 16, 2001, 0x7fffffff, 0x80000000, 0xffffffff, fnv1a32('pooler.dense.weight')]) {
      const fast = mulberry32(seed);
      const naive = naiveMulberry32(seed);
      for (let i = 0; i < 2000; i++) {
        const u = fast();
        expect(Number.isInteger(u) && u >= 0 && u < 2 ** 32).toBe(true);
        expect(u).toBe(naive());
      }
    }
  });
});

describe('generateSyntheticTensor', () => {
  it('equals the naive element-by-element formula, rounded once to float32', () => {
    const cases: Array<[string, number[], number, number]> = [
      ['encoder.layer.0.attention.self.query.weight', [48, 32], 0, 0.3],
      ['embeddings.LayerNorm.weight', [384], 1.0, 0.1],
      ['encoder.layer.3.output.dense.bias', [17], 0, 0.02],
      ['some.other.tensor', [3, 0, 5], 0.5, 7],
      ['scalar', [], -2, 1e-3],
    ];
    for (const [name, shape, center, scale] of cases) {
      const count = shape.reduce((a, b) => a * b, 1);
      expect(Array.from(generateSyntheticTensor(name, shape, center, scale))).toEqual(
        Array.from(naiveTensor(name, count, center, scale)),
      );
    }
  });

  it('stays inside [center - scale, center + scale)', () => {
    const values = generateSyntheticTensor('range.check', [10000], 1, 0.1);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(Math.fround(0.9));
    expect(Math.max(...values)).toBeLessThanOrEqual(Math.fround(1.1));
  });

  it('rejects invalid shapes', () => {
    expect(() => generateSyntheticTensor('x', [-1], 0, 1)).toThrow(RangeError);
    expect(() => generateSyntheticTensor('x', [1.5], 0, 1)).toThrow(/"x"/);
  });
});

// ---------------------------------------------------------------------------------------------
// Whole checkpoints against CHECKSUMS-*.txt
// ---------------------------------------------------------------------------------------------

describe.each([
  ['full', SYNTHETIC_FULL],
  ['tiny', SYNTHETIC_TINY],
] as const)('generateSyntheticCheckpoint(%s)', (variant, recipe) => {
  const checksums = readChecksums(variant);
  const started = performance.now();
  const bytes = generateSyntheticCheckpoint(recipe);
  const elapsedMs = performance.now() - started;
  const file = parseSafetensors(bytes);

  it('has exactly the tensors of the checksum list, in its order, each with the published sha256', () => {
    expect(syntheticTensorSpecs(recipe).map((spec) => spec.name)).toEqual([...checksums.keys()]);
    expect([...file.tensors.keys()].sort()).toEqual([...checksums.keys()].sort());
    for (const [name, expected] of checksums) {
      expect(sha256(readTensorBytes(file, name)), name).toBe(expected);
    }
    console.log(`synthetic ${variant}: ${bytes.length} bytes generated in ${elapsedMs.toFixed(0)} ms`);
  });

  it('has the shapes and dtypes of SPEC.md, F32 tensors readable as zero-copy views', () => {
    const { hidden_size: H, intermediate_size: I, vocab_size: V } = recipe.config;
    expect(file.tensors.get('embeddings.word_embeddings.weight')).toMatchObject({ dtype: 'F32', shape: [V, H] });
    expect(file.tensors.get('embeddings.position_ids')).toMatchObject({ dtype: 'I64', shape: [1, 512] });
    expect(file.tensors.get('encoder.layer.1.intermediate.dense.weight')).toMatchObject({ shape: [I, H] });
    expect(file.tensors.get('encoder.layer.1.output.dense.weight')).toMatchObject({ shape: [H, I] });
    expect(file.tensors.get('pooler.dense.bias')).toMatchObject({ shape: [H] });
    expect(Array.from(readBigInt64(file, 'embeddings.position_ids'))).toEqual(
      Array.from({ length: 512 }, (_, i) => BigInt(i)),
    );
    for (const info of file.tensors.values()) {
      if (info.dtype === 'F32') expect(readFloat32(file, info.name).buffer).toBe(bytes.buffer);
    }
    expect(file.metadata).toEqual({ format: 'pt' });
  });

  it('is fast enough to build on the fly', () => {
    expect(elapsedMs).toBeLessThan(5000); // typically a few hundred ms for the full model
  });
});

describe('SYNTHETIC_FULL', () => {
  it('has the config.json of the real all-MiniLM-L6-v2, less _name_or_path', () => {
    const real = JSON.parse(readFileSync(new URL('config.json', REAL_MODEL), 'utf8')) as Record<string, unknown>;
    delete real['_name_or_path'];
    expect(SYNTHETIC_FULL.config).toEqual(real);
    expect(SYNTHETIC_FULL.name).toBe('minilm-synth-v1');
    expect(SYNTHETIC_TINY.name).toBe('minilm-synth-tiny-v1');
  });
});

describe('syntheticTensorSpecs for other BERT sizes', () => {
  const base12: SyntheticRecipe = {
    name: 'bert-base-like',
    config: {
      ...SYNTHETIC_FULL.config,
      hidden_size: 768,
      intermediate_size: 3072,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      max_position_embeddings: 128,
    },
    linearScaleHidden: 0.05,
    linearScaleIntermediate: 0.025,
  };

  it('names every layer, scales Linear weights by in_features, and sorts by name', () => {
    const specs = syntheticTensorSpecs(base12);
    expect(specs.length).toBe(5 + 1 + 16 * 12 + 2);
    expect(specs.map((s) => s.name)).toEqual(specs.map((s) => s.name).sort());
    const byName = new Map(specs.map((spec) => [spec.name, spec]));
    for (let layer = 0; layer < 12; layer++) {
      const p = `encoder.layer.${layer}`;
      for (const linear of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
        expect(byName.get(`${p}.${linear}.weight`)).toMatchObject({ shape: [768, 768], center: 0, scale: 0.05 });
        expect(byName.get(`${p}.${linear}.bias`)).toMatchObject({ shape: [768], center: 0, scale: 0.02 });
      }
      expect(byName.get(`${p}.intermediate.dense.weight`)).toMatchObject({ shape: [3072, 768], scale: 0.05 });
      expect(byName.get(`${p}.output.dense.weight`)).toMatchObject({ shape: [768, 3072], scale: 0.025 });
      expect(byName.get(`${p}.output.LayerNorm.weight`)).toMatchObject({ shape: [768], center: 1, scale: 0.1 });
      expect(byName.get(`${p}.attention.output.LayerNorm.bias`)).toMatchObject({ center: 0, scale: 0.05 });
    }
    expect(byName.get('embeddings.position_embeddings.weight')).toMatchObject({ shape: [128, 768], scale: 0.1 });
    expect(byName.get('embeddings.position_ids')).toMatchObject({ dtype: 'I64', shape: [1, 128] });
  });

  it('can leave out position_ids and the pooler', () => {
    const names = syntheticTensorSpecs({ ...SYNTHETIC_TINY, includePositionIds: false, includePooler: false }).map(
      (spec) => spec.name,
    );
    expect(names.length).toBe(40 - 3);
    expect(names.some((name) => name.startsWith('pooler.') || name === 'embeddings.position_ids')).toBe(false);
  });

  it('rejects a config with a non-integer size', () => {
    expect(() => syntheticTensorSpecs({ ...SYNTHETIC_TINY, config: { ...SYNTHETIC_TINY.config, hidden_size: 3.5 } })).toThrow(
      /hidden_size/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Token sequences of the reference outputs
// ---------------------------------------------------------------------------------------------

describe('randomTokenSequence', () => {
  /** Rows of each case as (length, seed), from test/fixtures/reference/README.md. */
  function expectedRows(caseName: string, seqLen: number): Array<[number, number]> | undefined {
    const random = /^random_len(\d+)$/.exec(caseName);
    if (random) return [[Number(random[1]), Number(random[1])]];
    if (caseName === 'token_type_1') return [[10, 1001]];
    if (caseName === 'padded_batch4') return [[5, 2001], [12, 2002], [3, 2003], [12, 2004]];
    expect(['cls_sep', 'hello_world'], `unexpected case ${caseName} (${seqLen})`).toContain(caseName);
    return undefined;
  }

  for (const variant of ['full', 'tiny']) {
    it(`reproduces the input_ids of every random case in reference/${variant}`, () => {
      const folder = new URL(`reference/${variant}/`, FIXTURES);
      let checked = 0;
      for (const fileName of readdirSync(folder)) {
        if (!fileName.endsWith('.json') || fileName === 'index.json') continue;
        const fixture = JSON.parse(readFileSync(new URL(fileName, folder), 'utf8')) as {
          case: string;
          input_ids: number[][];
          attention_mask: number[][];
        };
        const seqLen = fixture.input_ids[0].length;
        const rows = expectedRows(fixture.case, seqLen);
        if (rows === undefined) continue;
        rows.forEach(([length, seed], row) => {
          const ids = randomTokenSequence(length, seed);
          const padded = [...ids, ...new Array<number>(seqLen - length).fill(0)];
          expect(padded).toEqual(fixture.input_ids[row]);
          expect(fixture.attention_mask[row].reduce((a, b) => a + b, 0)).toBe(length);
        });
        checked++;
      }
      expect(checked).toBe(7);
    });
  }

  it('starts with [CLS], ends with [SEP], ids in [1000, 30000)', () => {
    const ids = randomTokenSequence(300, 7);
    expect(ids.length).toBe(300);
    expect(ids[0]).toBe(101);
    expect(ids[299]).toBe(102);
    expect(ids.slice(1, -1).every((id) => id >= 1000 && id < 30000)).toBe(true);
    expect(randomTokenSequence(2, 5)).toEqual([101, 102]);
    expect(() => randomTokenSequence(1, 5)).toThrow(RangeError);
    expect(() => randomTokenSequence(2.5, 5)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Node adapter: the model folder
// ---------------------------------------------------------------------------------------------

describe('writeSyntheticModelFolder', () => {
  const temporaryFolders: string[] = [];
  afterAll(async () => {
    for (const folder of temporaryFolders) await rm(folder, { recursive: true, force: true });
  });

  it('writes config, weights, SYNTHETIC.md and the real tokenizer files; rewrites only what changed', async () => {
    const root = await mkdtemp(join(tmpdir(), 'minilm-synthetic-'));
    temporaryFolders.push(root);
    const folder = await writeSyntheticModelFolder('tiny', join(root, 'tiny'));
    expect(folder).toBe(join(root, 'tiny'));

    const weights = await readFile(join(folder, 'model.safetensors'));
    expect(sha256(weights)).toBe(sha256(generateSyntheticCheckpoint(SYNTHETIC_TINY)));
    expect(JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'))).toEqual(SYNTHETIC_TINY.config);
    expect(await readFile(join(folder, 'SYNTHETIC.md'), 'utf8')).toMatch(/meaningless synthetic numbers/);
    for (const file of COPIED_MODEL_FILES) {
      expect(sha256(await readFile(join(folder, file))), file).toBe(sha256(readFileSync(new URL(file, REAL_MODEL))));
    }

    // Identical files are left alone: back-date them, write again, the dates stay.
    const old = new Date('2001-01-01T00:00:00Z');
    await utimes(join(folder, 'model.safetensors'), old, old);
    await utimes(join(folder, 'vocab.txt'), old, old);
    await writeFile(join(folder, 'config.json'), '{}'); // a changed file is restored
    await writeSyntheticModelFolder('tiny', folder);
    expect((await stat(join(folder, 'model.safetensors'))).mtime.getTime()).toBe(old.getTime());
    expect((await stat(join(folder, 'vocab.txt'))).mtime.getTime()).toBe(old.getTime());
    expect(JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'))).toEqual(SYNTHETIC_TINY.config);
  });

  it('rejects an unknown variant', async () => {
    await expect(writeSyntheticModelFolder('huge' as never, tmpdir())).rejects.toThrow(/unknown variant/);
  });
});
