/**
 * Graceful shutdown. In process: `close()` waits for the request in flight, refuses new
 * connections, and does not wait for a pipelined request it will not answer. In real child
 * processes sent SIGTERM with a request in flight: the library server (fixtures/slow-server.ts)
 * and the `minilm serve` command; each must answer the request in full, then exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';
import { InstrumentedEncoder, postJson, rawRequest, startTestServer, tinyEncoder, waitFor } from './helpers.ts';

const encoder = tinyEncoder();
const children: ChildProcess[] = [];
const folders: string[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe('close(): in process', () => {
  it('finishes the request in flight, then resolves; new connections are refused', async () => {
    const slow = new InstrumentedEncoder(encoder);
    const service = await startTestServer({ encoder: slow });
    slow.hold();
    const inFlight = postJson(service.origin, '/v1/embeddings', { input: ['finish me', 'and me'] });
    await waitFor(() => slow.batchSizes.length === 1, 5000, 'the batch');
    let closed = false;
    const closing = service.server.close({ timeoutMs: 10_000 }).then((result) => {
      closed = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    await expect(rawRequest(`${service.origin}/health`)).rejects.toThrow(/ECONNREFUSED/);
    slow.release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(Float32Array.from(response.json.data[1].embedding)).toEqual(await encoder.embed('and me'));
    expect(await closing).toEqual({ forced: false });
    expect(service.server.inFlight).toBe(0);
  });

  it('a request pipelined behind the one in flight: the first is answered in full, the connection closes, close() does not wait for the second', async () => {
    const slow = new InstrumentedEncoder(encoder);
    const service = await startTestServer({ encoder: slow });
    slow.hold();
    const port = Number(new URL(service.origin).port);
    const socket = connect(port, '127.0.0.1');
    const body = JSON.stringify({ input: 'first' });
    socket.write(`POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('utf8')));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await waitFor(() => slow.batchSizes.length === 1, 5000, 'the batch');
    const closing = service.server.close({ timeoutMs: 10_000 });
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'); // arrives while draining, behind the first
    await waitFor(() => service.server.inFlight === 2, 5000, 'the pipelined request');
    slow.release();
    await ended;
    expect(await closing).toEqual({ forced: false });
    expect(service.server.inFlight).toBe(0);
    // HTTP/1.1: the server may close after any answer; the client retries what was not answered.
    const statuses = [...received.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => Number(m[1]));
    expect(statuses).toEqual([200]);
    expect(received.toLowerCase()).toContain('connection: close');
    const json = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4));
    expect(Float32Array.from(json.data[0].embedding)).toEqual(await encoder.embed('first'));
  });

  it('gives up after timeoutMs and cuts the connections (forced)', async () => {
    const slow = new InstrumentedEncoder(encoder);
    const service = await startTestServer({ encoder: slow });
    slow.hold();
    const stuck = postJson(service.origin, '/v1/embeddings', { input: 'never finishes' }).catch((error: Error) => error);
    await waitFor(() => slow.batchSizes.length === 1, 5000, 'the batch');
    expect(await service.server.close({ timeoutMs: 100 })).toEqual({ forced: true });
    expect(await stuck).toBeInstanceOf(Error);
    slow.release();
  });
});

/** Spawns a TypeScript entry point through tsx's loader; collects stdout and stderr. */
function spawnTs(script: string, args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk) => (err += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

describe('SIGTERM: real child processes', () => {
  it('the library server answers the request in flight in full, then exits 0', async () => {
    const script = fileURLToPath(new URL('./fixtures/slow-server.ts', import.meta.url));
    const server = spawnTs(script, ['1500']);
    await waitFor(() => server.stdout().includes('\n'), 60_000, 'the server to start');
    const { port } = JSON.parse(server.stdout().split('\n')[0]!) as { port: number };
    const origin = `http://127.0.0.1:${port}`;
    const texts = ['one in flight', 'another one'];
    const inFlight = postJson(origin, '/v1/embeddings', { input: texts });
    await waitFor(async () => (await rawRequest(`${origin}/health`)).json.in_flight >= 2, 10_000, 'the request in flight'); // itself + the embeddings request
    server.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    const expected = await encoder.embed(texts);
    response.json.data.forEach((d: { embedding: number[] }, i: number) => expect(Float32Array.from(d.embedding)).toEqual(expected[i]));
    expect(await server.exit).toBe(0);
    expect(server.stderr()).toContain('SIGTERM: draining');
    expect(server.stderr()).toContain('stopped');
    await expect(rawRequest(`${origin}/health`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('`minilm serve`: serves the model folder, answers the request in flight, exits 0 on SIGTERM', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'minilm-serve-'));
    folders.push(folder);
    await writeSyntheticModelFolder('tiny', folder);
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const serve = spawnTs(main, ['serve', '--model', folder, '--port', '0', '--model-name', 'tiny-test', '--max-batch-size', '8']);
    await waitFor(() => /serving .* at (http:\S+)/.test(serve.stdout()), 60_000, 'minilm serve to start');
    const baseUrl = /serving .* at (http:\S+)/.exec(serve.stdout())![1]!;
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);

    const origin = baseUrl.replace(/\/v1$/, '');
    const models = await rawRequest(`${baseUrl}/models`);
    expect(models.json.data[0].id).toBe('tiny-test');

    // Enough work for many batches of 8: the signal arrives between two of them.
    const texts = Array.from({ length: 400 }, (_, i) => `sentence number ${i} in a request that is still being computed`);
    const inFlight = postJson(origin, '/v1/embeddings', { input: texts, model: 'tiny-test' });
    await waitFor(async () => (await rawRequest(`${origin}/health`)).json.batches.batches >= 1, 20_000, 'the first batch');
    serve.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.json.data).toHaveLength(texts.length);
    const expected = await encoder.embed([texts[0]!, texts[399]!]);
    expect(Float32Array.from(response.json.data[0].embedding)).toEqual(expected[0]);
    expect(Float32Array.from(response.json.data[399].embedding)).toEqual(expected[1]);
    expect(await serve.exit).toBe(0);
    expect(serve.stderr()).toMatch(/SIGTERM: finishing 1 request\(s\) in flight/);
    expect(serve.stderr()).toContain('minilm: stopped');
  });
});
