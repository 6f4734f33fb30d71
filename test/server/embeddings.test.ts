/**
 * POST /v1/embeddings over real HTTP on loopback: every input form gives exactly the vectors of
 * `encoder.embed()`, in OpenAI's response shape; base64 decodes to the float answer; `dimensions`
 * matches `embed(text, { truncateDim })`; concurrent requests are merged and still exact.
 * GET /v1/models and /health.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64ToFloat32 } from '../../src/server/index.ts';
import { InstrumentedEncoder, postJson, rawRequest, startTestServer, tinyEncoder, waitFor, type TestServer } from './helpers.ts';

const TEXTS = [
  'A man is eating food.',
  'A man is eating a piece of bread.',
  'The new movie is awesome!',
  'Héllo wörld — ünïcode, 東京 and emoji 🙂',
  'short',
  'a somewhat longer sentence that goes on for a little while, with commas, and more words than the others',
];

const encoder = tinyEncoder();
let expected: Float32Array[];
let service: TestServer;

beforeAll(async () => {
  expected = await encoder.embed(TEXTS);
  service = await startTestServer();
});
afterAll(() => service.close());

/** Same float32 values bit for bit (a JSON number parsed back to a double, then rounded to float32). */
function expectSameVector(actual: number[] | Float32Array, wanted: Float32Array): void {
  expect(actual.length).toBe(wanted.length);
  expect(Float32Array.from(actual)).toEqual(wanted);
}

describe('POST /v1/embeddings: vectors', () => {
  it('one string: one embedding equal to embed(text), in the OpenAI response shape', async () => {
    const response = await postJson(service.origin, '/v1/embeddings', { input: TEXTS[0], model: 'all-MiniLM-L6-v2' });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = response.json;
    expect(body.object).toBe('list');
    expect(body.model).toBe('all-MiniLM-L6-v2');
    expect(body.data).toHaveLength(1);
    expect(body.data[0].object).toBe('embedding');
    expect(body.data[0].index).toBe(0);
    expectSameVector(body.data[0].embedding, expected[0]!);
    const tokens = encoder.tokenize(TEXTS[0]!).length;
    expect(body.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  it('an array of strings: one embedding per text, in order, each equal to embed()', async () => {
    const response = await postJson(service.origin, '/v1/embeddings', { input: TEXTS, model: 'all-MiniLM-L6-v2' });
    expect(response.status).toBe(200);
    const data = response.json.data as Array<{ index: number; embedding: number[] }>;
    expect(data.map((d) => d.index)).toEqual(TEXTS.map((_, i) => i));
    data.forEach((d, i) => expectSameVector(d.embedding, expected[i]!));
    const tokens = TEXTS.reduce((sum, text) => sum + encoder.tokenize(text).length, 0);
    expect(response.json.usage.prompt_tokens).toBe(tokens);
  });

  it('token ids ([CLS] … [SEP], as tokenize gives them) give the same vector as the text', async () => {
    const ids = encoder.tokenize(TEXTS[1]!);
    const response = await postJson(service.origin, '/v1/embeddings', { input: ids });
    expect(response.status).toBe(200);
    expect(response.json.data).toHaveLength(1);
    expectSameVector(response.json.data[0].embedding, expected[1]!);
    expect(response.json.usage.prompt_tokens).toBe(ids.length);
  });

  it('an array of token-id arrays: one embedding each', async () => {
    const input = TEXTS.slice(2).map((text) => encoder.tokenize(text));
    const response = await postJson(service.origin, '/v1/embeddings', { input });
    expect(response.status).toBe(200);
    (response.json.data as Array<{ embedding: number[] }>).forEach((d, i) => expectSameVector(d.embedding, expected[i + 2]!));
  });

  it('a text longer than max_seq_length is truncated like embed() does', async () => {
    const long = 'many words follow here '.repeat(200);
    const [wanted] = await encoder.embed([long]);
    const response = await postJson(service.origin, '/v1/embeddings', { input: long });
    expect(response.status).toBe(200);
    expectSameVector(response.json.data[0].embedding, wanted!);
    expect(response.json.usage.prompt_tokens).toBe(encoder.maxSeqLength);
  });

  it('encoding_format "base64": little-endian float32 bytes equal to the float answer', async () => {
    const [asFloat, asBase64] = await Promise.all([
      postJson(service.origin, '/v1/embeddings', { input: TEXTS, encoding_format: 'float' }),
      postJson(service.origin, '/v1/embeddings', { input: TEXTS, encoding_format: 'base64' }),
    ]);
    expect(asBase64.status).toBe(200);
    asBase64.json.data.forEach((d: { embedding: string }, i: number) => {
      expect(typeof d.embedding).toBe('string');
      // Decode independently of the server's helper too: Buffer → DataView, little-endian.
      const bytes = Buffer.from(d.embedding, 'base64');
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const decoded = Float32Array.from({ length: bytes.length / 4 }, (_, k) => view.getFloat32(4 * k, true));
      expect(decoded).toEqual(Float32Array.from(asFloat.json.data[i].embedding));
      expect(base64ToFloat32(d.embedding)).toEqual(decoded);
      expect(decoded).toEqual(expected[i]);
    });
  });

  it('dimensions: the first N values renormalised, as embed(text, { truncateDim: N })', async () => {
    for (const dimensions of [1, 8, 31]) {
      const response = await postJson(service.origin, '/v1/embeddings', { input: TEXTS, dimensions });
      expect(response.status).toBe(200);
      const wanted = await encoder.embed(TEXTS, { truncateDim: dimensions });
      response.json.data.forEach((d: { embedding: number[] }, i: number) => {
        expect(d.embedding).toHaveLength(dimensions);
        const norm = Math.hypot(...d.embedding);
        expect(Math.abs(norm - 1)).toBeLessThan(1e-6);
        for (let k = 0; k < dimensions; k++) expect(Math.abs(d.embedding[k]! - wanted[i]![k]!)).toBeLessThan(1e-6);
      });
    }
    // The full width is the plain answer.
    const full = await postJson(service.origin, '/v1/embeddings', { input: TEXTS[0], dimensions: encoder.dimension });
    expectSameVector(full.json.data[0].embedding, expected[0]!);
  });

  it('dimensions with base64: N float32 values', async () => {
    const response = await postJson(service.origin, '/v1/embeddings', { input: TEXTS[0], dimensions: 4, encoding_format: 'base64' });
    const decoded = base64ToFloat32(response.json.data[0].embedding);
    expect(decoded).toHaveLength(4);
    const wanted = await encoder.embed(TEXTS[0]!, { truncateDim: 4 });
    for (let k = 0; k < 4; k++) expect(Math.abs(decoded[k]! - wanted[k]!)).toBeLessThan(1e-6);
  });

  it('accepts the model by its full id or its last path segment, or no model at all', async () => {
    const named = await startTestServer({ modelName: 'sentence-transformers/all-MiniLM-L6-v2' });
    try {
      for (const model of ['sentence-transformers/all-MiniLM-L6-v2', 'all-MiniLM-L6-v2', undefined]) {
        const response = await postJson(named.origin, '/v1/embeddings', { input: 'x', model });
        expect(response.status).toBe(200);
        expect(response.json.model).toBe('sentence-transformers/all-MiniLM-L6-v2');
      }
    } finally {
      await named.close();
    }
  });

  it('ignores fields it does not know (user, and fields of newer API versions)', async () => {
    const response = await postJson(service.origin, '/v1/embeddings', { input: 'x', user: 'someone', some_future_field: 1 });
    expect(response.status).toBe(200);
  });
});

describe('micro-batching over HTTP', () => {
  it('merges concurrent requests into shared forward passes and still answers each exactly', async () => {
    const instrumented = new InstrumentedEncoder(encoder);
    const merged = await startTestServer({ encoder: instrumented, maxWaitMs: 20 });
    try {
      instrumented.hold(); // the first pass waits, so the others queue behind it
      const requests = TEXTS.map((text) => postJson(merged.origin, '/v1/embeddings', { input: [text] }));
      // Every request has arrived: one in the held pass, the rest queued behind it.
      await waitFor(() => instrumented.sequencesEmbedded + merged.server.batcher.queuedSequences === TEXTS.length, 10_000, 'all requests');
      instrumented.release();
      const responses = await Promise.all(requests);
      responses.forEach((response, i) => {
        expect(response.status).toBe(200);
        expectSameVector(response.json.data[0].embedding, expected[i]!);
      });
      // Six one-text requests in fewer than six forward passes.
      expect(instrumented.sequencesEmbedded).toBe(TEXTS.length);
      expect(instrumented.batchSizes.length).toBeLessThan(TEXTS.length);
    } finally {
      await merged.close();
    }
  });

  it('with mergeRequests off, runs one request per forward pass', async () => {
    const instrumented = new InstrumentedEncoder(encoder);
    const single = await startTestServer({ encoder: instrumented, mergeRequests: false });
    try {
      instrumented.hold();
      const requests = TEXTS.slice(0, 4).map((text) => postJson(single.origin, '/v1/embeddings', { input: [text, text] }));
      await waitFor(() => instrumented.sequencesEmbedded + single.server.batcher.queuedSequences === 8, 10_000, 'all requests');
      instrumented.release();
      const responses = await Promise.all(requests);
      responses.forEach((response, i) => expectSameVector(response.json.data[1].embedding, expected[i]!));
      expect(instrumented.batchSizes).toEqual([2, 2, 2, 2]);
    } finally {
      await single.close();
    }
  });
});

describe('GET /v1/models and /health', () => {
  it('lists the one model served', async () => {
    const response = await rawRequest(`${service.origin}/v1/models`);
    expect(response.status).toBe(200);
    expect(response.json.object).toBe('list');
    expect(response.json.data).toHaveLength(1);
    expect(response.json.data[0]).toMatchObject({ id: 'all-MiniLM-L6-v2', object: 'model', owned_by: 'minilm-ts' });
    expect(Number.isInteger(response.json.data[0].created)).toBe(true);
  });

  it('gives the model by id, and 404 for another id', async () => {
    const found = await rawRequest(`${service.origin}/v1/models/all-MiniLM-L6-v2`);
    expect(found.status).toBe(200);
    expect(found.json.id).toBe('all-MiniLM-L6-v2');
    const missing = await rawRequest(`${service.origin}/v1/models/text-embedding-3-small`);
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('model_not_found');
  });

  it('/health answers 200 with the model and the queue', async () => {
    const response = await rawRequest(`${service.origin}/health`);
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ status: 'ok', model: 'all-MiniLM-L6-v2', dimension: encoder.dimension });
    expect(response.json.queue.capacity).toBeGreaterThan(0);
  });

  it('HEAD /health: the status without a body', async () => {
    const response = await rawRequest(`${service.origin}/health`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
  });
});
