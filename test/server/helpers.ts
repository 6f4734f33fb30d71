/**
 * Helpers of the server tests: the tiny synthetic encoder, a server on a free loopback port,
 * raw HTTP requests (node:http, so bodies, headers and connection behaviour are under the test's
 * control), and an encoder wrapper that makes every forward pass slow or fail on demand.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { SentenceEncoder } from '../../src/model/sentence-encoder.ts';
import type { TokenSequence } from '../../src/model/token-batch.ts';
import { createEmbeddingServer, type EmbeddingServer, type EmbeddingServerOptions, type ServedEncoder } from '../../src/server/index.ts';
import { RECIPES, realVocab, syntheticWeights } from '../helpers/checkpoints.ts';

let tiny: SentenceEncoder | undefined;

/** The tiny synthetic model (hidden 32, 2 layers) with the real vocabulary; built once per file. */
export function tinyEncoder(): SentenceEncoder {
  tiny ??= SentenceEncoder.fromParts({ config: RECIPES.tiny.config, weights: syntheticWeights('tiny'), vocab: realVocab() });
  return tiny;
}

export interface TestServer {
  server: EmbeddingServer;
  /** http://127.0.0.1:PORT */
  origin: string;
  close(): Promise<void>;
}

/** A server on 127.0.0.1, port 0 (a free one). */
export async function startTestServer(options: Partial<EmbeddingServerOptions> = {}): Promise<TestServer> {
  const server = createEmbeddingServer({ encoder: tinyEncoder(), modelName: 'all-MiniLM-L6-v2', log: () => {}, ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.close({ timeoutMs: 5000 });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /** A string or bytes sent as the body; an array of chunks is sent with chunked encoding. */
  body?: string | Uint8Array | Array<string | Uint8Array>;
}

/** One HTTP request on a fresh connection (no keep-alive), fully read. */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    const { body } = options;
    if (Array.isArray(body)) {
      for (const chunk of body) request.write(chunk);
      request.end();
    } else {
      request.end(body);
    }
  });
}

/** POST a JSON body to `${origin}${path}`. */
export function postJson(origin: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return rawRequest(`${origin}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers },
    body: text,
  });
}

/** An OpenAI-style error answer: status, and the fields of `{ error: { message, type, param, code } }`. */
export function expectApiError(
  response: RawResponse,
  status: number,
  fields: { code?: string | null; param?: string | null; type?: string; message?: RegExp } = {},
): void {
  if (response.status !== status) throw new Error(`expected HTTP ${status}, got ${response.status}: ${response.text}`);
  const error = response.json?.error;
  if (typeof error !== 'object' || error === null) throw new Error(`expected { error: {...} }, got ${response.text}`);
  for (const key of ['message', 'type', 'param', 'code']) {
    if (!(key in error)) throw new Error(`error has no "${key}": ${response.text}`);
  }
  if (typeof error.message !== 'string' || error.message.length === 0) throw new Error(`error message is empty: ${response.text}`);
  if (fields.type !== undefined && error.type !== fields.type) throw new Error(`expected type ${fields.type}, got ${error.type}`);
  if (fields.code !== undefined && error.code !== fields.code) throw new Error(`expected code ${fields.code}, got ${error.code}`);
  if (fields.param !== undefined && error.param !== fields.param) throw new Error(`expected param ${fields.param}, got ${error.param}`);
  if (fields.message !== undefined && !fields.message.test(error.message)) throw new Error(`message ${JSON.stringify(error.message)} does not match ${fields.message}`);
}

/**
 * An encoder whose forward passes wait `delayMs` first (without blocking the event loop), and
 * record the size of every batch; `gate` can hold every pass until released.
 */
export class InstrumentedEncoder implements ServedEncoder {
  readonly batchSizes: number[] = [];
  delayMs: number;
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => {};

  constructor(
    private readonly inner: ServedEncoder,
    delayMs = 0,
  ) {
    this.delayMs = delayMs;
  }

  get dimension(): number {
    return this.inner.dimension;
  }
  get maxSeqLength(): number {
    return this.inner.maxSeqLength;
  }
  get normalize(): boolean {
    return this.inner.normalize;
  }
  get config(): { vocabSize: number } {
    return this.inner.config;
  }
  tokenize(text: string): number[] {
    return this.inner.tokenize(text);
  }

  /** Sequences handed to forward passes so far. */
  get sequencesEmbedded(): number {
    return this.batchSizes.reduce((sum, size) => sum + size, 0);
  }

  /** Forward passes wait until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.openGate = resolve;
    });
  }

  release(): void {
    this.openGate();
  }

  async embedTokenIds(batch: readonly TokenSequence[]): Promise<Float32Array[]> {
    this.batchSizes.push(batch.length);
    await this.gate;
    if (this.delayMs > 0) await sleep(this.delayMs);
    return this.inner.embedTokenIds(batch);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every few milliseconds until it holds (or fails after `timeoutMs`). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
