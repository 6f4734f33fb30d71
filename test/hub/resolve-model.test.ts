/**
 * The real download code path, offline: a local HTTP server in the Hub's URL layout serves the
 * tiny synthetic model; the manifest is injected with the synthetic files' hashes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumError, HubError, loadSentenceEncoder, resolveModel, type HubOptions, type Manifest } from '../../src/node.ts';
import { writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';
import { startHubServer, type HubServer, type HubServerOptions } from './hub-server.ts';

const MODEL = 'test-org/tiny-model';
const REVISION = '0123456789abcdef0123456789abcdef01234567';
const FILES = [
  'modules.json', 'config.json', 'model.safetensors', 'vocab.txt', 'sentence_bert_config.json', 'tokenizer_config.json',
  '1_Pooling/config.json', 'config_sentence_transformers.json',
];

let work: string;
let sourceDir: string;
const content = new Map<string, Uint8Array>();
let manifest: Manifest;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'minilm-hub-test-'));
  sourceDir = await writeSyntheticModelFolder('tiny', join(work, 'source'));
  for (const file of FILES) content.set(file, new Uint8Array(readFileSync(join(sourceDir, file))));
  manifest = {
    models: {
      [MODEL]: {
        revision: REVISION,
        files: Object.fromEntries(FILES.map((f) => [f, { size: content.get(f)!.length, sha256: sha256(content.get(f)!) }])),
      },
    },
  };
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

let server: HubServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Serve the model's files (at `revision`), minus `omit`. */
async function serve(options: Partial<HubServerOptions> = {}, revision = REVISION, omit: string[] = []): Promise<HubServer> {
  const files = new Map<string, Uint8Array>();
  for (const [file, bytes] of content) if (!omit.includes(file)) files.set(`${MODEL}/${revision}/${file}`, bytes);
  server = await startHubServer({ files, commit: REVISION, ...options });
  return server;
}

let cacheCounter = 0;
function hubOptions(extra: Partial<HubOptions> = {}): HubOptions {
  return {
    endpoint: server?.endpoint ?? 'http://127.0.0.1:9',
    cacheDir: join(work, `cache-${cacheCounter++}`),
    huggingFaceCacheDir: null,
    manifest,
    env: {},
    progress: null,
    retryDelayMs: 10,
    ...extra,
  };
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else out.push(relative(dir, join(d, entry.name)));
    }
  };
  walk(dir);
  return out.sort();
}

describe('resolveModel: download, verify, cache', () => {
  it('downloads every manifest file at the pinned revision, then serves later calls from the cache', async () => {
    const hub = await serve();
    const options = hubOptions();
    const first = await resolveModel(MODEL, options);
    expect(first).toMatchObject({ source: 'download', modelId: MODEL, revision: REVISION, verified: true });
    expect(first.dir).toBe(join(options.cacheDir!, 'models--test-org--tiny-model', REVISION));
    for (const file of FILES) expect(sha256(readFileSync(join(first.dir, file))), file).toBe(manifest.models[MODEL]!.files[file]!.sha256);
    expect(filesUnder(first.dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    const requests = hub.requests.length;
    expect(requests).toBe(FILES.length);

    const second = await resolveModel(MODEL, options);
    expect(second).toMatchObject({ source: 'cache', dir: first.dir, verified: true });
    expect(hub.requests.length).toBe(requests);
  });

  it('loadSentenceEncoder(hub id) gives the same embeddings as loading the folder directly', async () => {
    await serve();
    const fromHub = await loadSentenceEncoder(MODEL, hubOptions());
    const fromFolder = await loadSentenceEncoder(sourceDir);
    const texts = ['A man is eating food.', 'Hello'];
    expect((await fromHub.embed(texts)).map((v) => Array.from(v))).toEqual((await fromFolder.embed(texts)).map((v) => Array.from(v)));
  });

  it('resumes a download whose connection was cut mid-body (HTTP Range on the .part)', async () => {
    const hub = await serve({ cutOnce: new Set(['model.safetensors']) });
    const resolved = await resolveModel(MODEL, hubOptions());
    const weights = hub.requests.filter((r) => r.url.endsWith('/model.safetensors'));
    expect(weights.length).toBe(2);
    expect(weights[0]!.range).toBeUndefined();
    const offset = Number(/^bytes=(\d+)-$/.exec(weights[1]!.range ?? '')?.[1]);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(content.get('model.safetensors')!.length);
    expect(sha256(readFileSync(join(resolved.dir, 'model.safetensors')))).toBe(sha256(content.get('model.safetensors')!));
  });

  it('resumes a .part left by an earlier run, and restarts when the server ignores the range', async () => {
    for (const ignoreRange of [false, true]) {
      const hub = await serve({ ignoreRange });
      const options = hubOptions();
      const dir = join(options.cacheDir!, 'models--test-org--tiny-model', REVISION);
      mkdirSync(dir, { recursive: true });
      const weights = content.get('model.safetensors')!;
      writeFileSync(join(dir, 'model.safetensors.part'), weights.subarray(0, 1000));
      await resolveModel(MODEL, options);
      expect(hub.requests.find((r) => r.url.endsWith('/model.safetensors'))?.range).toBe('bytes=1000-');
      expect(sha256(readFileSync(join(dir, 'model.safetensors')))).toBe(sha256(weights));
      await server!.close();
      server = undefined;
    }
  });

  it('gives up on a stalled connection after the idle timeout and resumes', async () => {
    const hub = await serve({ stallOnce: new Set(['model.safetensors']) });
    const resolved = await resolveModel(MODEL, hubOptions({ idleTimeoutMs: 300 }));
    expect(hub.requests.filter((r) => r.url.endsWith('/model.safetensors')).map((r) => r.range)).toEqual([undefined, 'bytes=10-']);
    expect(sha256(readFileSync(join(resolved.dir, 'model.safetensors')))).toBe(sha256(content.get('model.safetensors')!));
  });

  it('refuses a file whose sha256 does not match, and leaves neither the file nor its .part', async () => {
    await serve({ corrupt: new Set(['model.safetensors']) });
    const options = hubOptions();
    const error = await resolveModel(MODEL, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumError);
    expect((error as Error).message).toMatch(/model.safetensors of test-org\/tiny-model: the downloaded file does not match the manifest/);
    const dir = join(options.cacheDir!, 'models--test-org--tiny-model', REVISION);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
    expect(existsSync(join(dir, 'model.safetensors.part'))).toBe(false);
  });

  it('reports HTTP 404 naming the file, the revision and the URL', async () => {
    await serve({}, REVISION, ['vocab.txt']);
    await expect(resolveModel(MODEL, hubOptions())).rejects.toThrow(
      new RegExp(`test-org/tiny-model has no vocab.txt at revision ${REVISION}: HTTP 404 from http://127.0.0.1:\\d+/test-org/tiny-model/resolve/${REVISION}/vocab.txt`),
    );
  });

  it('follows redirects to a CDN, relative and absolute Location headers alike', async () => {
    for (const redirect of ['relative', 'absolute'] as const) {
      const hub = await serve({ redirect });
      const resolved = await resolveModel(MODEL, hubOptions());
      expect(hub.requests.some((r) => r.url.startsWith('/cdn/'))).toBe(true);
      expect(sha256(readFileSync(join(resolved.dir, 'model.safetensors')))).toBe(sha256(content.get('model.safetensors')!));
      await server!.close();
      server = undefined;
    }
  });

  it('downloads a model that is not in the manifest at main, without hashes; absent optional files are fine', async () => {
    const hub = await serve({}, 'main', ['config_sentence_transformers.json', 'tokenizer_config.json']);
    const resolved = await resolveModel(MODEL, hubOptions({ manifest: { models: {} } }));
    expect(resolved).toMatchObject({ source: 'download', revision: 'main', verified: false });
    expect(filesUnder(resolved.dir)).toEqual(
      ['1_Pooling/config.json', 'config.json', 'minilm-download.json', 'model.safetensors', 'modules.json', 'sentence_bert_config.json', 'vocab.txt'],
    );
    const record = JSON.parse(readFileSync(join(resolved.dir, 'minilm-download.json'), 'utf8'));
    expect(record).toMatchObject({ revision: 'main', commit: REVISION, absent: ['tokenizer_config.json', 'config_sentence_transformers.json'] });
    expect(hub.requests.every((r) => r.url.includes('/resolve/main/'))).toBe(true);
  });

  it('with HF_HUB_OFFLINE=1 it downloads nothing and names every missing file and where to put it', async () => {
    const hub = await serve();
    const options = hubOptions({ env: { HF_HUB_OFFLINE: '1' } });
    const error = (await resolveModel(MODEL, options).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(HubError);
    expect(error.message).toContain('HF_HUB_OFFLINE is set');
    expect(error.message).toContain(`missing in ${join(options.cacheDir!, 'models--test-org--tiny-model', REVISION)}`);
    for (const file of FILES) expect(error.message).toContain(`  ${file} (${content.get(file)!.length} bytes, sha256 `);
    expect(hub.requests.length).toBe(0);
  });

  it('an unreachable endpoint fails with the list of missing files', async () => {
    const error = (await resolveModel(MODEL, hubOptions({ endpoint: 'http://127.0.0.1:9', retries: 1 })).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(HubError);
    expect(error.message).toMatch(/could not download test-org\/tiny-model from http:\/\/127.0.0.1:9/);
    expect(error.message).toContain('model.safetensors (');
  });

  it('finds the model in a Hugging Face cache (refs/main → snapshot of blob symlinks) and downloads nothing', async () => {
    const hub = await serve();
    const hfCache = join(work, `hf-${cacheCounter++}`, 'hub');
    const repo = join(hfCache, 'models--test-org--tiny-model');
    mkdirSync(join(repo, 'refs'), { recursive: true });
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    writeFileSync(join(repo, 'refs', 'main'), `${REVISION}\n`);
    for (const file of FILES) {
      const blob = join(repo, 'blobs', sha256(content.get(file)!));
      writeFileSync(blob, content.get(file)!);
      const link = join(repo, 'snapshots', REVISION, file);
      mkdirSync(join(link, '..'), { recursive: true });
      symlinkSync(relative(join(link, '..'), blob), link);
    }
    const resolved = await resolveModel(MODEL, hubOptions({ huggingFaceCacheDir: undefined, env: { HF_HUB_CACHE: hfCache } }));
    expect(resolved).toMatchObject({ source: 'huggingface-cache', dir: join(repo, 'snapshots', REVISION), verified: true });
    expect(hub.requests.length).toBe(0);
    const encoder = await loadSentenceEncoder(MODEL, hubOptions({ huggingFaceCacheDir: hfCache, offline: true }));
    expect((await encoder.embed('works offline')).length).toBe(32);

    // HF_HOME (<HF_HOME>/hub) is honoured as well as HF_HUB_CACHE.
    const viaHome = await resolveModel(MODEL, hubOptions({ huggingFaceCacheDir: undefined, env: { HF_HOME: join(hfCache, '..') } }));
    expect(viaHome.source).toBe('huggingface-cache');
  });

  it('skips a Hugging Face snapshot whose weights blob is not the pinned sha256', async () => {
    const hub = await serve();
    const repo = join(work, `hf-${cacheCounter++}`, 'hub', 'models--test-org--tiny-model');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    for (const file of FILES) {
      const name = file === 'model.safetensors' ? 'f'.repeat(64) : sha256(content.get(file)!);
      writeFileSync(join(repo, 'blobs', name), content.get(file)!);
      const link = join(repo, 'snapshots', REVISION, file);
      mkdirSync(join(link, '..'), { recursive: true });
      symlinkSync(relative(join(link, '..'), join(repo, 'blobs', name)), link);
    }
    const resolved = await resolveModel(MODEL, hubOptions({ huggingFaceCacheDir: join(repo, '..') }));
    expect(resolved.source).toBe('download');
    expect(hub.requests.length).toBe(FILES.length);
  });

  it('accepts files put in the cache by hand once they match the manifest, and names a wrong one', async () => {
    const options = hubOptions({ env: { HF_HUB_OFFLINE: '1' } });
    const dir = join(options.cacheDir!, 'models--test-org--tiny-model', REVISION);
    for (const file of FILES) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), content.get(file)!);
    }
    expect(await resolveModel(MODEL, options)).toMatchObject({ source: 'cache', verified: true });
    const wrong = content.get('vocab.txt')!.slice();
    wrong[0] ^= 1;
    writeFileSync(join(dir, 'vocab.txt'), wrong);
    rmSync(join(dir, 'minilm-download.json'));
    await expect(resolveModel(MODEL, options)).rejects.toThrow(/vocab.txt is not the file the manifest pins for test-org\/tiny-model/);
  });

  it('uses an existing folder as it is, and rejects names that are neither folder nor model id', async () => {
    expect(await resolveModel(sourceDir, hubOptions())).toMatchObject({ source: 'folder', dir: sourceDir });
    await expect(resolveModel('no-such-folder', hubOptions())).rejects.toThrow(/no model folder "no-such-folder", and it is not a Hub model id/);
    await expect(resolveModel(join(sourceDir, 'config.json'), hubOptions())).rejects.toThrow(/is a file; a model is a folder/);
    await expect(resolveModel(MODEL, hubOptions({ revision: '../x' }))).rejects.toThrow(/not a valid branch, tag or commit/);
  });
});
