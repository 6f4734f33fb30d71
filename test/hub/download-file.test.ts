/**
 * downloadFile on its own: retries on server errors, a foreign .part, and what is left on disk.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { downloadFile } from '../../src/node/hub/download-file.ts';
import { duration } from '../../src/node/hub/progress-bar.ts';

const work = mkdtempSync(join(tmpdir(), 'minilm-download-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const body = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
const expected = { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };

/** A server that answers the first `failures` requests with `status`, then the body (no Range support). */
async function flakyServer(failures: number, status: number): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    if (hits <= failures) res.writeHead(status).end('busy');
    else res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/file`,
    hits: () => hits,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('downloadFile', () => {
  it('retries 503 answers, then verifies and renames into place', async () => {
    const server = await flakyServer(2, 503);
    const destination = join(work, 'retry.bin');
    const progress: number[] = [];
    const result = await downloadFile(server.url, destination, { expected, retryDelayMs: 1, onProgress: (n) => progress.push(n) });
    await server.close();
    expect(server.hits()).toBe(3);
    expect(result).toMatchObject({ size: body.length, sha256: expected.sha256 });
    expect(readFileSync(destination)).toEqual(Buffer.from(body));
    expect(existsSync(`${destination}.part`)).toBe(false);
    expect(progress.at(-1)).toBe(body.length);
  });

  it('gives up after the retries with the last reason, keeping no final file', async () => {
    const server = await flakyServer(10, 500);
    const destination = join(work, 'fail.bin');
    await expect(downloadFile(server.url, destination, { retries: 2, retryDelayMs: 1 })).rejects.toThrow(/download failed after 3 attempts: HTTP 500/);
    await server.close();
    expect(existsSync(destination)).toBe(false);
  });

  it('drops a .part longer than the expected file and starts over', async () => {
    const server = await flakyServer(0, 200);
    const destination = join(work, 'long-part.bin');
    writeFileSync(`${destination}.part`, new Uint8Array(body.length + 10));
    await downloadFile(server.url, destination, { expected });
    await server.close();
    expect(readFileSync(destination)).toEqual(Buffer.from(body));
  });

  it('formats durations for the ETA', () => {
    expect([duration(4.4), duration(125), duration(3 * 3600 + 120)]).toEqual(['4s', '2m05s', '3h02m']);
  });
});
