/**
 * The embedding server: Node's own `http` module serving an OpenAI-compatible embeddings API,
 * so that the OpenAI SDKs, LangChain's OpenAIEmbeddings and anything else that speaks that API
 * work against it by setting a base URL (http://127.0.0.1:8080/v1).
 *
 *   POST /v1/embeddings      { input, model?, encoding_format?, dimensions? } → embeddings (embeddings-request.ts)
 *   GET  /v1/models          the one model served, as OpenAI lists models
 *   GET  /v1/models/{id}     that model, or 404
 *   GET  /health             200 { status: "ok", ... } while serving, 503 while shutting down (no auth)
 *
 * The path of one embeddings request:
 *
 *   auth ─► read body (≤ maxBodyBytes, else 413) ─► JSON ─► validate (400) ─► tokenize texts
 *        ─► MicroBatcher (bounded queue: 503 + Retry-After when full) ─► model, merged with others
 *        ─► shorten to `dimensions` ─► float array or base64 ─► { object: "list", data, model, usage }
 *
 * Each request has a deadline (`requestTimeoutMs`, answered 504); a request that times out or
 * whose client goes away leaves the queue at once. Errors are OpenAI's JSON shape (errors.ts).
 *
 * `close()` is the graceful shutdown: stop accepting connections, answer requests that arrive on
 * open connections with 503, finish every request in flight, close idle connections, resolve.
 *
 * Left out: TLS (put a proxy in front), CORS, streaming responses, and more than one model per
 * process (run one process per model).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenSequence } from '../model/token-batch.ts';
import { bearerAuthenticator, type Authenticator } from './auth.ts';
import { float32ToArray, float32ToBase64, shortenEmbedding } from './embedding-output.ts';
import { parseEmbeddingsRequest, type RequestLimits } from './embeddings-request.ts';
import { ApiError } from './errors.ts';
import { MicroBatcher, QueueFullError, type MicroBatcherOptions } from './micro-batcher.ts';
import { readBody } from './read-body.ts';

/** What the server needs of a SentenceEncoder (which has all of it); tests may wrap one. */
export interface ServedEncoder {
  /** Width of the embeddings. */
  readonly dimension: number;
  /** Longest tokenized text, [CLS] and [SEP] included. */
  readonly maxSeqLength: number;
  /** Whether embeddings are L2-normalised (then `dimensions` renormalises too). */
  readonly normalize: boolean;
  readonly config: { readonly vocabSize: number };
  tokenize(text: string): number[];
  embedTokenIds(batch: readonly TokenSequence[]): Promise<Float32Array[]>;
}

export interface EmbeddingServerOptions extends MicroBatcherOptions {
  encoder: ServedEncoder;
  /** The model id clients name and the API reports, e.g. "all-MiniLM-L6-v2". */
  modelName: string;
  /** Require "Authorization: Bearer <apiKey>" on /v1/*. Default: no authentication. */
  apiKey?: string;
  /** Largest request body in bytes. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Most inputs in one request. Default 2048 (OpenAI's limit). */
  maxInputs?: number;
  /** Deadline of one request, from its first byte to its answer. Default 60 000 ms. */
  requestTimeoutMs?: number;
  /** Where unexpected errors are reported. Default: console.error. */
  log?: (line: string) => void;
}

export const SERVER_DEFAULTS = Object.freeze({
  maxBodyBytes: 8 * 1024 * 1024,
  maxInputs: 2048,
  requestTimeoutMs: 60_000,
});

/** A response to write: status, JSON body, extra headers. */
interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface ListeningAddress {
  host: string;
  port: number;
  /** Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1 */
  baseUrl: string;
}

export class EmbeddingServer {
  readonly http: Server;
  readonly batcher: MicroBatcher;
  readonly modelName: string;
  private readonly encoder: ServedEncoder;
  private readonly authenticate: Authenticator;
  private readonly limits: RequestLimits;
  private readonly maxBodyBytes: number;
  private readonly requestTimeoutMs: number;
  private readonly log: (line: string) => void;
  private readonly created = Math.floor(Date.now() / 1000);
  private inFlightRequests = 0;
  private draining = false;
  private drainWaiters: Array<() => void> = [];
  private closing: Promise<{ forced: boolean }> | undefined;

  constructor(options: EmbeddingServerOptions) {
    const { encoder, modelName } = options;
    if (typeof modelName !== 'string' || modelName.length === 0) throw new TypeError('EmbeddingServer: modelName must be a non-empty string');
    this.encoder = encoder;
    this.modelName = modelName;
    this.authenticate = bearerAuthenticator(options.apiKey);
    this.maxBodyBytes = positiveInteger(options.maxBodyBytes ?? SERVER_DEFAULTS.maxBodyBytes, 'maxBodyBytes');
    this.requestTimeoutMs = positiveInteger(options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs, 'requestTimeoutMs');
    this.limits = {
      maxInputs: positiveInteger(options.maxInputs ?? SERVER_DEFAULTS.maxInputs, 'maxInputs'),
      vocabSize: encoder.config.vocabSize,
      maxSeqLength: encoder.maxSeqLength,
      dimension: encoder.dimension,
      // tokenize('') is exactly [CLS, SEP]: the ids every token sequence is framed by.
      clsId: encoder.tokenize('')[0]!,
      sepId: encoder.tokenize('').at(-1)!,
    };
    this.batcher = new MicroBatcher((batch) => encoder.embedTokenIds(batch), options);
    if (this.batcher.maxQueuedSequences < this.limits.maxInputs) {
      throw new RangeError(
        `EmbeddingServer: maxQueuedSequences (${this.batcher.maxQueuedSequences}) must be at least maxInputs (${this.limits.maxInputs}), or a full-size request could never be queued`,
      );
    }
    this.log = options.log ?? ((line) => console.error(line));
    this.http = createServer((request, response) => void this.handle(request, response));
    // A forward pass holds the event loop for up to seconds. Node's default keep-alive timeout
    // (5 s) would then fire before the next request waiting on an idle connection is read, and
    // reset that connection under the client; 65 s also outlasts the 60 s idle timeout of common
    // load balancers, so they close first. The headers timeout must exceed it.
    this.http.keepAliveTimeout = 65_000;
    this.http.headersTimeout = 66_000;
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.inFlightRequests;
  }

  /** Starts listening; port 0 picks a free port. Default 127.0.0.1:8080. */
  listen(port = 8080, host = '127.0.0.1'): Promise<ListeningAddress> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        const address = this.http.address() as AddressInfo;
        const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve({ host: address.address, port: address.port, baseUrl: `http://${shownHost}:${address.port}/v1` });
      });
    });
  }

  /**
   * Graceful shutdown: no new connections, 503 for new requests on open ones, in-flight requests
   * finished. After `timeoutMs` (default 30 s) the remaining connections are cut (`forced: true`).
   */
  close(options: { timeoutMs?: number } = {}): Promise<{ forced: boolean }> {
    this.closing ??= this.shutDown(options.timeoutMs ?? 30_000);
    return this.closing;
  }

  private async shutDown(timeoutMs: number): Promise<{ forced: boolean }> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const finished = (async () => {
      await this.whenNoRequestInFlight();
      await this.batcher.whenIdle();
      // Every answer is out; what is left are idle keep-alive connections and connections that
      // have not sent a complete request yet (those never started: the client may retry elsewhere).
      this.http.closeAllConnections();
      await closed;
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([finished.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.http.closeAllConnections();
      await closed;
      return { forced: true };
    }
    return { forced: false };
  }

  private whenNoRequestInFlight(): Promise<void> {
    if (this.inFlightRequests === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  // -------------------------------------------------------------------------------------------
  // One request
  // -------------------------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // In flight until the answer has been handed to the socket, or the connection is gone (a
    // pipelined request waiting behind another gets no 'close' of its own when the socket closes).
    this.inFlightRequests++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      request.socket.off('close', finish);
      this.requestDone();
    };
    response.once('close', finish);
    request.socket.once('close', finish);
    const deadline = new AbortController();
    const timeoutError = new ApiError(504, `the request took longer than ${this.requestTimeoutMs} ms; try fewer inputs or retry later`, {
      code: 'timeout',
    });
    const timer = setTimeout(() => deadline.abort(timeoutError), this.requestTimeoutMs);
    // The client hung up before its answer: stop working for it.
    response.once('close', () => {
      if (!response.writableFinished) deadline.abort(new Error('the client closed the connection'));
    });
    try {
      const work = this.route(request, deadline.signal);
      work.catch(() => {}); // once the deadline answered, a later failure has no one to tell
      this.send(request, response, await untilAborted(work, deadline.signal));
    } catch (error) {
      this.send(request, response, this.errorReply(error, request));
    } finally {
      clearTimeout(timer);
    }
  }

  private requestDone(): void {
    this.inFlightRequests--;
    if (this.inFlightRequests > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  private async route(request: IncomingMessage, signal: AbortSignal): Promise<Reply> {
    const method = request.method ?? 'GET';
    const path = pathOf(request.url);
    const read = method === 'GET' || method === 'HEAD';

    if (path === '/health') {
      if (!read) throw methodNotAllowed(method, path, 'GET, HEAD');
      return this.health();
    }
    if (this.draining) {
      throw new ApiError(503, 'the server is shutting down; retry on another replica', {
        code: 'shutting_down',
        headers: { 'Retry-After': '1' },
      });
    }
    if (path === '/v1/embeddings') {
      if (method !== 'POST') throw methodNotAllowed(method, path, 'POST');
      this.authenticate(request);
      return this.embeddings(request, signal);
    }
    if (path === '/v1/models') {
      if (!read) throw methodNotAllowed(method, path, 'GET, HEAD');
      this.authenticate(request);
      return { status: 200, body: { object: 'list', data: [this.modelCard()] } };
    }
    if (path.startsWith('/v1/models/')) {
      if (!read) throw methodNotAllowed(method, path, 'GET, HEAD');
      this.authenticate(request);
      const id = decodeURIComponentSafe(path.slice('/v1/models/'.length));
      if (!this.servesModel(id)) throw modelNotFound(id, this.modelName);
      return { status: 200, body: this.modelCard() };
    }
    throw new ApiError(404, `no such endpoint: ${method} ${path} (this server has POST /v1/embeddings, GET /v1/models, GET /health)`, {
      code: 'unknown_url',
    });
  }

  private async embeddings(request: IncomingMessage, signal: AbortSignal): Promise<Reply> {
    const bytes = await readBody(request, { maxBytes: this.maxBodyBytes });
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new ApiError(400, `the request body is not valid JSON (${(error as Error).message})`, { code: 'invalid_json' });
    }
    const parsed = parseEmbeddingsRequest(body, this.limits);
    if (parsed.model !== undefined && !this.servesModel(parsed.model)) throw modelNotFound(parsed.model, this.modelName);

    const sequences = parsed.inputs.map((input) => input.ids ?? this.encoder.tokenize(input.text));
    let promptTokens = 0;
    for (const ids of sequences) promptTokens += ids.length;
    signal.throwIfAborted();

    const vectors = await this.batcher.submit(sequences, signal);
    const { dimensions, encodingFormat } = parsed;
    const data = vectors.map((vector, index) => {
      const shortened = dimensions === undefined || dimensions === vector.length ? vector : shortenEmbedding(vector, dimensions, this.encoder.normalize);
      const embedding = encodingFormat === 'base64' ? float32ToBase64(shortened) : float32ToArray(shortened);
      return { object: 'embedding', index, embedding };
    });
    return {
      status: 200,
      body: { object: 'list', data, model: this.modelName, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } },
    };
  }

  private health(): Reply {
    return {
      status: this.draining ? 503 : 200,
      body: {
        status: this.draining ? 'shutting_down' : 'ok',
        model: this.modelName,
        dimension: this.encoder.dimension,
        max_seq_length: this.encoder.maxSeqLength,
        in_flight: this.inFlightRequests,
        queue: { waiting: this.batcher.queuedSequences, capacity: this.batcher.maxQueuedSequences },
        batches: { ...this.batcher.stats },
        memory: { rss_bytes: process.memoryUsage.rss(), heap_used_bytes: process.memoryUsage().heapUsed },
      },
    };
  }

  private modelCard(): { id: string; object: 'model'; created: number; owned_by: string } {
    return { id: this.modelName, object: 'model', created: this.created, owned_by: 'minilm-ts' };
  }

  /** The served id, or its last path segment ("all-MiniLM-L6-v2" for "sentence-transformers/all-MiniLM-L6-v2"). */
  private servesModel(name: string): boolean {
    return name === this.modelName || name === lastSegment(this.modelName);
  }

  private errorReply(error: unknown, request: IncomingMessage): Reply {
    let apiError: ApiError;
    if (error instanceof ApiError) {
      apiError = error;
    } else if (error instanceof QueueFullError) {
      apiError = new ApiError(503, `the server is overloaded: ${error.message}; retry shortly`, {
        code: 'server_overloaded',
        headers: { 'Retry-After': '1' },
      });
    } else {
      this.log(`error in ${request.method} ${request.url}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      apiError = new ApiError(500, 'the server failed to process the request', { code: 'internal_error' });
    }
    return { status: apiError.status, body: apiError.toJSON(), headers: apiError.headers };
  }

  private send(request: IncomingMessage, response: ServerResponse, reply: Reply): void {
    if (response.headersSent || response.destroyed) return;
    const text = JSON.stringify(reply.body);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      ...reply.headers,
    };
    // Close the connection while draining, and after answers given before the request body was
    // all received (401, 413, a timeout…): otherwise Node would read and drop the rest of it,
    // however long, to keep the connection alive.
    if (this.draining || !request.complete || reply.status === 413 || reply.status === 415) headers['Connection'] = 'close';
    response.writeHead(reply.status, headers);
    response.end(text);
  }
}

/** Builds the server (not yet listening). */
export function createEmbeddingServer(options: EmbeddingServerOptions): EmbeddingServer {
  return new EmbeddingServer(options);
}

/** `work`, or a rejection with the abort reason as soon as `signal` aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function pathOf(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]!;
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function lastSegment(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

function methodNotAllowed(method: string, path: string, allow: string): ApiError {
  return new ApiError(405, `${method} is not allowed on ${path}; use ${allow}`, { code: 'method_not_allowed', headers: { Allow: allow } });
}

function modelNotFound(name: string, served: string): ApiError {
  return new ApiError(404, `the model "${name}" does not exist here; this server serves "${served}"`, {
    param: 'model',
    code: 'model_not_found',
  });
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`EmbeddingServer: ${name} must be a positive integer, got ${value}`);
  return value;
}
