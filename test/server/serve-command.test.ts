/**
 * `minilm serve` in process, through the CLI's `main` with in-memory streams: help, usage
 * errors for bad options, and a full start → request → stop cycle with `serveUntil`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveUntil } from '../../src/cli/commands/serve.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { writeSyntheticModelFolder } from '../../src/node/synthetic-folder.ts';
import { expectApiError, postJson, rawRequest, tinyEncoder, waitFor } from './helpers.ts';

function memoryIO(env: Record<string, string> = {}): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (chunk: string | Uint8Array) => ((out += String(chunk)), true) },
    stderr: { write: (chunk: string | Uint8Array) => ((err += String(chunk)), true) },
    stdin: (async function* () {})(),
    env,
    cwd: process.cwd(),
    out: () => out,
    err: () => err,
  };
}

let folder: string;
beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'minilm-serve-cmd-'));
  await writeSyntheticModelFolder('tiny', folder);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('minilm serve: options', () => {
  it('is listed in the global help and has its own help', async () => {
    const io = memoryIO();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/serve\s+an OpenAI-compatible embeddings server/);
    const help = memoryIO();
    expect(await main(['serve', '--help'], help)).toBe(0);
    expect(help.out()).toContain('--api-key');
    expect(help.out()).toContain('MINILM_API_KEY');
    expect(help.out()).toContain('127.0.0.1');
  });

  it.each([
    [['--port', 'eighty'], /--port must be a non-negative integer/],
    [['--port', '70000'], /--port must be from 0 to 65535/],
    [['--host', 'not a host'], /--host must be an IP address/],
    [['--max-batch-size', '0'], /--max-batch-size must be a positive integer/],
    [['--max-queue', '10', '--max-inputs', '20'], /--max-queue \(10\) must be at least --max-inputs \(20\)/],
    [['--api-key', ''], /--api-key must not be empty/],
    [['somefolder'], /no positional arguments/],
    [['--unknown-flag'], /Unknown option/],
  ])('%j is a usage error', async (args, message) => {
    const io = memoryIO();
    expect(await main(['serve', '--model', folder, ...args], io)).toBe(1);
    expect(io.err()).toMatch(message);
  });
});

describe('serveUntil: start, serve, stop', () => {
  it('serves the folder with the key from MINILM_API_KEY and stops when the signal aborts', async () => {
    const io = memoryIO({ MINILM_API_KEY: 'from-env' });
    const stop = new AbortController();
    const running = serveUntil({ model: folder, port: '0', 'max-wait-ms': '0' }, io, stop.signal);
    await waitFor(() => io.out().includes('serving'), 60_000, 'the server to start');
    const baseUrl = /at (http:\S+)/.exec(io.out())![1]!;
    const origin = baseUrl.replace(/\/v1$/, '');
    const name = folder.split(/[\\/]/).pop()!;
    expect(io.out()).toContain(`serving ${name}`);

    expectApiError(await postJson(origin, '/v1/embeddings', { input: 'x' }), 401);
    const response = await postJson(origin, '/v1/embeddings', { input: 'hello there', model: name }, { Authorization: 'Bearer from-env' });
    expect(response.status).toBe(200);
    expect(Float32Array.from(response.json.data[0].embedding)).toEqual(await tinyEncoder().embed('hello there'));

    stop.abort('SIGTERM');
    expect(await running).toBe(0);
    expect(io.err()).toContain('minilm: stopped');
    await expect(rawRequest(`${origin}/health`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
