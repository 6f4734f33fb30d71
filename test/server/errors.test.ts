/**
 * Every error path of the server, over real HTTP: each answer has the right status and OpenAI's
 * `{ error: { message, type, param, code } }` shape, and the server keeps serving afterwards.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectApiError, InstrumentedEncoder, postJson, rawRequest, sleep, startTestServer, tinyEncoder, waitFor, type TestServer,
} from './helpers.ts';

const encoder = tinyEncoder();
let service: TestServer;

beforeAll(async () => {
  service = await startTestServer({ maxInputs: 16, maxBodyBytes: 4096 });
});
afterAll(() => service.close());

async function expectStillServing(origin: string): Promise<void> {
  const response = await postJson(origin, '/v1/embeddings', { input: 'still here' });
  expect(response.status).toBe(200);
}

describe('malformed requests: 400', () => {
  it('a body that is not JSON', async () => {
    for (const body of ['{"input": "x"', 'input=x', '', '{"input": "x"} trailing']) {
      expectApiError(await postJson(service.origin, '/v1/embeddings', body), 400, { code: 'invalid_json', type: 'invalid_request_error' });
    }
  });

  it.each([
    ['a JSON array body', [1, 2], 'body'],
    ['a JSON string body', '"just text"', 'body'],
    ['null body', null, 'body'],
    ['no input', { model: 'all-MiniLM-L6-v2' }, 'input'],
    ['input null', { input: null }, 'input'],
    ['input a number', { input: 42 }, 'input'],
    ['input an object', { input: { text: 'x' } }, 'input'],
    ['input an array of objects', { input: [{ text: 'x' }] }, 'input'],
    ['input an array of booleans', { input: [true] }, 'input'],
    ['strings mixed with numbers', { input: ['a', 1] }, 'input'],
    ['token arrays mixed with strings', { input: [[101, 102], 'b'] }, 'input'],
    ['token ids mixed with strings', { input: [101, 'b'] }, 'input'],
    ['a fractional token id', { input: [101, 1.5, 102] }, 'input'],
    ['a negative token id', { input: [101, -1, 102] }, 'input'],
    ['a token id past the vocabulary', { input: [101, 30522, 102] }, 'input'],
    ['a token id inside a nested array past the vocabulary', { input: [[101, 102], [101, 1e9, 102]] }, 'input'],
    ['a nested array of strings', { input: [['a']] }, 'input'],
    ['model not a string', { input: 'x', model: 7 }, 'model'],
    ['unknown encoding_format', { input: 'x', encoding_format: 'int8' }, 'encoding_format'],
    ['dimensions 0', { input: 'x', dimensions: 0 }, 'dimensions'],
    ['dimensions past the width', { input: 'x', dimensions: 33 }, 'dimensions'],
    ['dimensions fractional', { input: 'x', dimensions: 2.5 }, 'dimensions'],
    ['dimensions a string', { input: 'x', dimensions: '8' }, 'dimensions'],
  ])('%s', async (_name, body, param) => {
    expectApiError(await postJson(service.origin, '/v1/embeddings', body), 400, { param, type: 'invalid_request_error' });
  });

  it('empty input: an empty string, an empty array, an empty token array', async () => {
    for (const input of ['', [], [''], ['a', ''], [[]], [[101, 102], []]]) {
      expectApiError(await postJson(service.origin, '/v1/embeddings', { input }), 400, { param: 'input', message: /empty/ });
    }
  });

  it('a token sequence longer than max_seq_length: 400 context_length_exceeded', async () => {
    const ids = [101, ...new Array<number>(encoder.maxSeqLength - 1).fill(1000), 102];
    expectApiError(await postJson(service.origin, '/v1/embeddings', { input: ids }), 400, { code: 'context_length_exceeded' });
  });

  it('token ids not framed by [CLS] … [SEP] (e.g. tiktoken ids): 400 invalid_token_ids, telling what to send', async () => {
    for (const input of [[9906, 1917], [101, 7592], [7592, 102], [[101, 7592, 102], [7592]], [101]]) {
      expectApiError(await postJson(service.origin, '/v1/embeddings', { input }), 400, {
        code: 'invalid_token_ids',
        param: 'input',
        message: /\[CLS\] \(101\).*\[SEP\] \(102\).*send text/,
      });
    }
  });

  it('the message names the input at fault', async () => {
    const response = await postJson(service.origin, '/v1/embeddings', { input: ['ok', 'fine', 3] });
    expectApiError(response, 400, { message: /input\[2\]/ });
    const ids = await postJson(service.origin, '/v1/embeddings', { input: [[101, 102], [101, 99999, 102]] });
    expectApiError(ids, 400, { message: /input\[1\]\[1\]/ });
  });
});

describe('limits', () => {
  it('more inputs than maxInputs: 400 too_many_inputs (as OpenAI), exactly maxInputs is fine', async () => {
    const ok = await postJson(service.origin, '/v1/embeddings', { input: new Array(16).fill('x') });
    expect(ok.status).toBe(200);
    expectApiError(await postJson(service.origin, '/v1/embeddings', { input: new Array(17).fill('x') }), 400, { code: 'too_many_inputs' });
    expectApiError(await postJson(service.origin, '/v1/embeddings', { input: new Array(17).fill([101, 102]) }), 400, { code: 'too_many_inputs' });
  });

  it('a body over maxBodyBytes with Content-Length: 413 before reading it', async () => {
    const body = JSON.stringify({ input: 'x'.repeat(5000) });
    const response = await postJson(service.origin, '/v1/embeddings', body);
    expectApiError(response, 413, { code: 'request_too_large' });
    expect(response.headers['connection']).toBe('close');
    await expectStillServing(service.origin);
  });

  it('a chunked body that grows past maxBodyBytes: 413', async () => {
    const chunk = 'x'.repeat(1000);
    const response = await rawRequest(`${service.origin}/v1/embeddings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: ['{"input": "', chunk, chunk, chunk, chunk, chunk, '"}'],
    });
    expectApiError(response, 413, { code: 'request_too_large' });
    await expectStillServing(service.origin);
  });

  it('a compressed body: 415', async () => {
    const response = await postJson(service.origin, '/v1/embeddings', '{"input":"x"}', { 'Content-Encoding': 'gzip' });
    expectApiError(response, 415, { code: 'unsupported_encoding' });
  });
});

describe('routes and methods', () => {
  it('an unknown route: 404 naming it', async () => {
    for (const path of ['/', '/v1', '/v1/embedding', '/v2/embeddings', '/v1/chat/completions']) {
      expectApiError(await rawRequest(`${service.origin}${path}`), 404, { code: 'unknown_url' });
    }
    expectApiError(await postJson(service.origin, '/v1/completions', { prompt: 'x' }), 404, { message: /POST \/v1\/completions/ });
  });

  it('a known route with the wrong method: 405 with Allow', async () => {
    const get = await rawRequest(`${service.origin}/v1/embeddings`);
    expectApiError(get, 405, { code: 'method_not_allowed' });
    expect(get.headers['allow']).toBe('POST');
    for (const [method, path] of [['DELETE', '/v1/embeddings'], ['PUT', '/v1/models'], ['POST', '/health']] as const) {
      const response = await rawRequest(`${service.origin}${path}`, { method });
      expectApiError(response, 405);
      expect(response.headers['allow']).toBeDefined();
    }
  });

  it('query strings and a trailing slash do not change the route', async () => {
    expect((await postJson(service.origin, '/v1/embeddings?api-version=1', { input: 'x' })).status).toBe(200);
    expect((await postJson(service.origin, '/v1/embeddings/', { input: 'x' })).status).toBe(200);
  });

  it('a model other than the one served: 404 model_not_found naming both', async () => {
    const response = await postJson(service.origin, '/v1/embeddings', { input: 'x', model: 'text-embedding-3-small' });
    expectApiError(response, 404, { code: 'model_not_found', param: 'model', message: /text-embedding-3-small.*all-MiniLM-L6-v2/ });
  });
});

describe('authentication', () => {
  let secured: TestServer;
  beforeAll(async () => {
    secured = await startTestServer({ apiKey: 'sk-test-key' });
  });
  afterAll(() => secured.close());

  it('no Authorization header: 401 missing_api_key with WWW-Authenticate', async () => {
    const response = await postJson(secured.origin, '/v1/embeddings', { input: 'x' });
    expectApiError(response, 401, { code: 'missing_api_key' });
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expectApiError(await rawRequest(`${secured.origin}/v1/models`), 401, { code: 'missing_api_key' });
  });

  it('a wrong key, a near miss, or another scheme: 401 invalid_api_key', async () => {
    for (const header of ['Bearer wrong', 'Bearer sk-test-ke', 'Bearer sk-test-key2', 'Basic c2stdGVzdC1rZXk=', 'sk-test-key', 'Bearer ']) {
      const response = await postJson(secured.origin, '/v1/embeddings', { input: 'x' }, { Authorization: header });
      expectApiError(response, 401, { code: 'invalid_api_key' });
    }
  });

  it('the right key: 200 (the scheme name in any case)', async () => {
    for (const header of ['Bearer sk-test-key', 'bearer sk-test-key']) {
      const response = await postJson(secured.origin, '/v1/embeddings', { input: 'x' }, { Authorization: header });
      expect(response.status).toBe(200);
    }
    expect((await rawRequest(`${secured.origin}/v1/models`, { headers: { Authorization: 'Bearer sk-test-key' } })).status).toBe(200);
  });

  it('authentication is checked before the body is read', async () => {
    const response = await postJson(secured.origin, '/v1/embeddings', 'not json at all');
    expectApiError(response, 401);
  });

  it('refused before its body is read, a request gets its 401 and the connection is closed (the rest is not read)', async () => {
    const port = Number(new URL(secured.origin).port);
    const socket = connect(port, '127.0.0.1');
    socket.write('POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"input": "');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('utf8')));
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect(received).toMatch(/^HTTP\/1\.1 401/);
    expect(received.toLowerCase()).toContain('connection: close');
  });

  it('/health needs no key (load balancers probe it)', async () => {
    expect((await rawRequest(`${secured.origin}/health`)).status).toBe(200);
  });
});

describe('overload and deadlines', () => {
  it('a full queue: 503 server_overloaded with Retry-After, then serves again once it drains', async () => {
    const slow = new InstrumentedEncoder(encoder);
    const small = await startTestServer({ encoder: slow, maxInputs: 4, maxQueuedSequences: 4, maxBatchSize: 4 });
    try {
      slow.hold();
      // The first request goes into the (held) forward pass; the next ones fill the queue.
      const first = postJson(small.origin, '/v1/embeddings', { input: ['a', 'b', 'c', 'd'] });
      await waitFor(() => slow.batchSizes.length === 1, 5000, 'the first batch');
      const queued = postJson(small.origin, '/v1/embeddings', { input: ['e', 'f', 'g'] });
      await waitFor(() => small.server.batcher.queuedSequences === 3, 5000, 'the queue to fill');
      const refused = await postJson(small.origin, '/v1/embeddings', { input: ['h', 'i'] });
      expectApiError(refused, 503, { code: 'server_overloaded', type: 'server_error' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // One more input still fits.
      const fits = postJson(small.origin, '/v1/embeddings', { input: ['j'] });
      slow.release();
      expect((await first).status).toBe(200);
      expect((await queued).status).toBe(200);
      expect((await fits).status).toBe(200);
      expect(small.server.batcher.queuedSequences).toBe(0);
      await expectStillServing(small.origin);
    } finally {
      slow.release();
      await small.close();
    }
  });

  it('a request past its deadline: 504 timeout, and its inputs leave the queue', async () => {
    const slow = new InstrumentedEncoder(encoder);
    const hurried = await startTestServer({ encoder: slow, requestTimeoutMs: 300 });
    try {
      slow.hold();
      const started = Date.now();
      const running = postJson(hurried.origin, '/v1/embeddings', { input: ['in the forward pass'] });
      await waitFor(() => slow.batchSizes.length === 1, 5000, 'the first batch');
      const waiting = postJson(hurried.origin, '/v1/embeddings', { input: ['waits in the queue', 'and another'] });
      await waitFor(() => hurried.server.batcher.queuedSequences === 2, 5000, 'the queue');
      const [late, alsoLate] = await Promise.all([running, waiting]);
      expectApiError(late, 504, { code: 'timeout', type: 'server_error' });
      expectApiError(alsoLate, 504, { code: 'timeout' });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(hurried.server.batcher.queuedSequences).toBe(0); // withdrawn, not computed later
      slow.release();
      await hurried.server.batcher.whenIdle();
      expect(slow.batchSizes).toEqual([1]);
      await expectStillServing(hurried.origin);
    } finally {
      slow.release();
      await hurried.close();
    }
  });

  it('a client that hangs up: its inputs leave the queue', async () => {
    const slow = new InstrumentedEncoder(encoder);
    const server = await startTestServer({ encoder: slow });
    try {
      slow.hold();
      void postJson(server.origin, '/v1/embeddings', { input: ['first'] });
      await waitFor(() => slow.batchSizes.length === 1, 5000, 'the first batch');
      const controller = new AbortController();
      const abandoned = fetch(`${server.origin}/v1/embeddings`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ input: ['x', 'y', 'z'] }),
        signal: controller.signal,
      }).catch(() => 'aborted');
      await waitFor(() => server.server.batcher.queuedSequences === 3, 5000, 'the queue');
      controller.abort();
      expect(await abandoned).toBe('aborted');
      await waitFor(() => server.server.batcher.queuedSequences === 0, 5000, 'the withdrawal');
      slow.release();
      await server.server.batcher.whenIdle();
      expect(slow.batchSizes).toEqual([1]);
    } finally {
      slow.release();
      await server.close();
    }
  });

  it('a failing forward pass: 500 internal_error without details, logged, and the server goes on', async () => {
    const lines: string[] = [];
    const broken = new InstrumentedEncoder({
      ...encoder,
      dimension: encoder.dimension,
      maxSeqLength: encoder.maxSeqLength,
      normalize: encoder.normalize,
      config: encoder.config,
      tokenize: (text: string) => encoder.tokenize(text),
      embedTokenIds: async () => {
        throw new Error('kernel exploded');
      },
    });
    const server = await startTestServer({ encoder: broken, log: (line) => lines.push(line) });
    try {
      const response = await postJson(server.origin, '/v1/embeddings', { input: 'x' });
      expectApiError(response, 500, { code: 'internal_error', type: 'server_error' });
      expect(response.text).not.toContain('kernel exploded');
      expect(lines.join('\n')).toContain('kernel exploded');
      await sleep(10);
      expect((await rawRequest(`${server.origin}/health`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
