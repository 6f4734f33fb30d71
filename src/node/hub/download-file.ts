/**
 * Download one file over HTTP(S) so that nothing incomplete or corrupt ever sits at its final path.
 *
 *   <destination>.part   the bytes received so far (kept between attempts and between runs)
 *   1. if a .part exists, hash what it holds and ask for the rest: `Range: bytes=<size>-`
 *      (206 → append; 200 → the server ignored the range: start over)
 *   2. stream the body into the .part, hashing as it goes; a cut connection, a stalled one
 *      (no byte for `idleTimeoutMs`), a 5xx or 429 is retried from where it stopped, up to
 *      `retries` times, with a short growing pause
 *   3. check the size and, when known, the sha256; a mismatch deletes the .part and throws
 *   4. rename the .part to the destination (atomic on one file system)
 *
 * Redirects (the Hub answers 302 to a CDN) are followed by hand, up to 10, relative Location
 * headers included, so the first response's headers (X-Repo-Commit) can be read.
 *
 * Left out: parallel chunked downloads, authentication (gated or private models), and a lock
 * between two processes downloading the same file at once (the size and hash checks still keep
 * a mixed-up file from being accepted).
 */

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ChecksumError, HubError } from './errors.ts';

export interface ExpectedFile {
  size: number;
  sha256: string;
}

export interface DownloadFileOptions {
  /** Size and sha256 to verify; without it the file is accepted as received. */
  expected?: ExpectedFile;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Attempts after the first one, each resuming. Default 4. */
  retries?: number;
  /** Give up on a connection that delivers nothing for this long. Default 30 000 ms. */
  idleTimeoutMs?: number;
  /** Pause before retry n is n × this. Default 500 ms. */
  retryDelayMs?: number;
  /** Bytes held so far (resumed ones included) and the total when known. */
  onProgress?: (received: number, total: number | undefined) => void;
  headers?: Record<string, string>;
}

export interface DownloadedFile {
  size: number;
  sha256: string;
  /** The Hub's X-Repo-Commit header, when sent: the commit the revision resolved to. */
  commit: string | undefined;
}

/** HTTP 404 (or 401/403): the file is not there for us; not retried. */
export class NotFoundError extends HubError {
  override readonly name = 'NotFoundError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const MAX_REDIRECTS = 10;

export async function downloadFile(url: string, destination: string, options: DownloadFileOptions = {}): Promise<DownloadedFile> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 4;
  const part = `${destination}.part`;
  await mkdir(dirname(destination), { recursive: true });

  // What the .part already holds: its size and running hash.
  let received = await fileSize(part);
  let hash = received > 0 ? await hashFile(part) : createHash('sha256');
  if (options.expected !== undefined && received > options.expected.size) {
    await rm(part, { force: true });
    received = 0;
    hash = createHash('sha256');
  }

  let commit: string | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep((options.retryDelayMs ?? 500) * attempt);
    if (options.expected !== undefined && received === options.expected.size) break; // nothing left to fetch
    try {
      const result = await fetchInto(fetchImpl, url, part, received, hash, options);
      commit ??= result.commit;
      received = result.received;
      hash = result.hash;
      if (result.complete) {
        lastError = undefined;
        break;
      }
      lastError = new HubError(`the connection closed after ${received} of ${result.total ?? '?'} bytes`);
    } catch (error) {
      if (error instanceof NotFoundError || isUnreachable(error)) throw error;
      // The server's idea of the file changed under us (or the .part is foreign): start over.
      if (error instanceof PartMismatch) await rm(part, { force: true });
      lastError = error;
      // Resume from what is on disk (the attempt may have restarted the .part before failing).
      received = await fileSize(part);
      hash = received > 0 ? await hashFile(part) : createHash('sha256');
    }
  }
  if (lastError !== undefined && !(options.expected !== undefined && received === options.expected.size)) {
    throw new HubError(`download failed after ${retries + 1} attempts: ${describeError(lastError)}`);
  }

  const sha256 = hash.digest('hex');
  const size = await fileSize(part);
  if (options.expected !== undefined && (size !== options.expected.size || sha256 !== options.expected.sha256)) {
    await rm(part, { force: true });
    throw new ChecksumError(
      `the downloaded file does not match the manifest: got ${size} bytes with sha256 ${sha256}, ` +
        `expected ${options.expected.size} bytes with sha256 ${options.expected.sha256}. The partial file was deleted; try again.`,
    );
  }
  await rename(part, destination);
  return { size, sha256, commit };
}

/** The .part does not continue the way the server says (a bad Content-Range, a 416 we cannot use). */
class PartMismatch extends HubError {}

interface AttemptResult {
  received: number;
  hash: Hash;
  total: number | undefined;
  complete: boolean;
  commit: string | undefined;
}

/** One request: append what the server sends to `part`. Throws on network errors (retried by the caller). */
async function fetchInto(
  fetchImpl: typeof fetch,
  url: string,
  part: string,
  offset: number,
  hash: Hash,
  options: DownloadFileOptions,
): Promise<AttemptResult> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const armTimer = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new HubError(`no data for ${idleTimeoutMs / 1000} s`)), idleTimeoutMs);
  };
  armTimer();
  try {
    const headers: Record<string, string> = { ...options.headers };
    if (offset > 0) headers['Range'] = `bytes=${offset}-`;
    const { response, commit } = await fetchFollowingRedirects(fetchImpl, url, headers, controller.signal);

    let start = 0;
    let total: number | undefined;
    const length = response.headers.get('content-length');
    if (response.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
      if (range === null || Number(range[1]) !== offset) {
        await response.body?.cancel();
        throw new PartMismatch(`the server resumed at the wrong place (Content-Range: ${response.headers.get('content-range')})`);
      }
      start = offset;
      total = range[3] === '*' ? undefined : Number(range[3]);
    } else if (response.status === 200) {
      total = length === null ? undefined : Number(length);
    } else if (response.status === 416 && offset > 0) {
      await response.body?.cancel();
      throw new PartMismatch('the server refused to resume (HTTP 416)');
    } else if (response.status === 404 || response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new NotFoundError(`HTTP ${response.status} ${response.statusText || ''}`.trim() + ` for ${url}`, response.status);
    } else {
      await response.body?.cancel();
      throw new HubError(`HTTP ${response.status} ${response.statusText || ''}`.trim() + ` for ${url}`);
    }
    if (start === 0 && offset > 0) hash = createHash('sha256'); // a full body: the .part is rewritten

    const file = await open(part, start === 0 ? 'w' : 'a');
    let received = start;
    try {
      options.onProgress?.(received, total);
      if (response.body !== null) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          armTimer();
          await file.write(chunk);
          hash.update(chunk);
          received += chunk.length;
          options.onProgress?.(received, total);
        }
      }
    } catch (error) {
      // Keep what arrived: the next attempt resumes from it.
      await file.close().catch(() => {});
      throw error;
    }
    await file.close();
    return { received, hash, total, complete: total === undefined || received === total, commit };
  } finally {
    clearTimeout(timer);
  }
}

/** GET with redirects followed by hand. Returns the final response and the first X-Repo-Commit seen. */
export async function fetchFollowingRedirects(
  fetchImpl: typeof fetch,
  url: string,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<{ response: Response; commit: string | undefined }> {
  let current = url;
  let commit: string | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await fetchImpl(current, { headers, redirect: 'manual', ...(signal ? { signal } : {}) });
    commit ??= response.headers.get('x-repo-commit') ?? undefined;
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      current = new URL(location, current).href;
      continue;
    }
    return { response, commit };
  }
  throw new HubError(`more than ${MAX_REDIRECTS} redirects from ${url}`);
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function hashFile(path: string): Promise<Hash> {
  const hash = createHash('sha256');
  return new Promise((resolve, reject) => {
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash))
      .on('error', reject);
  });
}

/** sha256 of a file on disk, hex. */
export async function sha256OfFile(path: string): Promise<string> {
  return (await hashFile(path)).digest('hex');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Errors a retry will not fix soon: no such host, nothing listening, no network. */
const UNREACHABLE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH']);

function isUnreachable(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' && UNREACHABLE_CODES.has(cause.code);
}

/** fetch's "TypeError: fetch failed" hides the reason in `cause` (ENOTFOUND, ECONNREFUSED, …). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message && !error.message.includes(cause.message)) return `${error.message} (${cause.message})`;
  return error.message;
}
