/**
 * `minilm serve`: the embedding server (src/server) on the command line. Loads the model once,
 * listens (127.0.0.1:8080 by default), prints its base URL, and serves until SIGTERM or SIGINT,
 * then finishes the requests in flight and exits 0. A second signal exits at once (code 1).
 *
 * The signals are the only thing this command takes from `process`; `serveUntil` runs the same
 * server until any AbortSignal fires, for tests and embedding in other programs.
 */

import { isIP } from 'node:net';
import { basename, isAbsolute } from 'node:path';
import { createEmbeddingServer, SERVER_DEFAULTS, type EmbeddingServerOptions } from '../../server/embedding-server.ts';
import { MICRO_BATCHER_DEFAULTS } from '../../server/micro-batcher.ts';
import { watchShutdownSignals } from '../../server/signals.ts';
import { parseCommandArgs, positiveIntegerOption, stringOption, UsageError, type CliIO, type Command } from '../io.ts';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, modelReference, openEncoder } from '../model-options.ts';

const OPTIONS = {
  ...MODEL_OPTIONS,
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  'api-key': { type: 'string' },
  'model-name': { type: 'string' },
  'max-batch-size': { type: 'string' },
  'max-batch-tokens': { type: 'string' },
  'max-wait-ms': { type: 'string' },
  'no-batching': { type: 'boolean' },
  'max-queue': { type: 'string' },
  'max-inputs': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'shutdown-timeout-ms': { type: 'string' },
} as const;

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 8080;
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

type Values = Record<string, string | boolean | undefined>;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'an OpenAI-compatible embeddings server (POST /v1/embeddings)',
  help: `Usage: minilm serve [options]

Serves the model over HTTP with OpenAI's embeddings API, so the OpenAI SDKs and LangChain's
OpenAIEmbeddings work against it by setting their base URL to the one printed at start-up.

  POST /v1/embeddings   {"input": "text" | ["text", ...] | token ids, "model": NAME,
                         "encoding_format": "float" | "base64", "dimensions": N}
  GET  /v1/models       the model served
  GET  /health          200 while serving, 503 while shutting down (never needs the key)

Concurrent requests are merged into batches. SIGTERM or SIGINT: stop accepting, finish the
requests in flight, exit 0.

Server options:
      --host H                 address to listen on (default ${DEFAULT_HOST}: this machine only;
                               0.0.0.0 for every interface, then set an API key)
  -p, --port N                 port (default ${DEFAULT_PORT}; 0 picks a free one)
      --api-key KEY            require "Authorization: Bearer KEY" on /v1/* (default: none);
                               prefer the environment variable MINILM_API_KEY, which ps cannot show
      --model-name NAME        the model id clients send and see (default: the Hub id, or the
                               folder name); its last path segment is accepted too
      --max-batch-size N       most inputs per forward pass (default ${MICRO_BATCHER_DEFAULTS.maxBatchSize})
      --max-batch-tokens N     most tokens per forward pass (default ${MICRO_BATCHER_DEFAULTS.maxBatchTokens})
      --max-wait-ms N          how long an idle model waits for more requests to batch with
                               (default ${MICRO_BATCHER_DEFAULTS.maxWaitMs}: start at once; under load, batches form anyway)
      --no-batching            run each request on its own (no merging)
      --max-queue N            most inputs waiting; beyond, 503 with Retry-After (default ${MICRO_BATCHER_DEFAULTS.maxQueuedSequences})
      --max-inputs N           most inputs in one request; beyond, 400 (default ${SERVER_DEFAULTS.maxInputs})
      --max-body-bytes N       largest request body; beyond, 413 (default ${SERVER_DEFAULTS.maxBodyBytes})
      --timeout-ms N           deadline of one request; beyond, 504 (default ${SERVER_DEFAULTS.requestTimeoutMs})
      --shutdown-timeout-ms N  longest wait for requests in flight at shutdown (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS})
${MODEL_OPTIONS_HELP}

Examples:
  minilm serve
  MINILM_API_KEY=secret minilm serve --host 0.0.0.0 --port 8080
  curl http://127.0.0.1:8080/v1/embeddings -H 'Content-Type: application/json' \\
       -d '{"input": ["A man is eating food."], "model": "all-MiniLM-L6-v2"}'
`,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (values['help']) {
      io.stdout.write(serveCommand.help);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`serve takes no positional arguments (got ${JSON.stringify(positionals[0])}); use --model`);
    const watch = watchShutdownSignals((name) => {
      io.stderr.write(`minilm: second ${name}: exiting without waiting\n`);
      process.exit(1);
    });
    try {
      return await serveUntil(values, io, watch.signal);
    } finally {
      watch.dispose();
    }
  },
};

/** Loads the model, serves until `stop` aborts, shuts down gracefully; resolves to the exit code. */
export async function serveUntil(values: Values, io: CliIO, stop: AbortSignal): Promise<number> {
  const host = stringOption(values, 'host') ?? DEFAULT_HOST;
  if (isIP(host) === 0 && host !== 'localhost') throw new UsageError(`--host must be an IP address or localhost, got ${JSON.stringify(host)}`);
  const port = nonNegativeIntegerOption(values, 'port') ?? DEFAULT_PORT;
  if (port > 65535) throw new UsageError(`--port must be from 0 to 65535, got ${port}`);
  const apiKey = stringOption(values, 'api-key') ?? nonEmpty(io.env['MINILM_API_KEY']);
  if (apiKey !== undefined && apiKey.length === 0) throw new UsageError('--api-key must not be empty');
  const shutdownTimeoutMs = positiveIntegerOption(values, 'shutdown-timeout-ms') ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const limits = serverLimits(values);

  const reference = await modelReference(values, io);
  // A folder (modelReference makes it absolute) is named by its last segment; a Hub id is kept whole.
  const modelName = stringOption(values, 'model-name') ?? (isAbsolute(reference) ? basename(reference) : reference);
  const encoder = await openEncoder(values, io);
  try {
    await encoder.ready();
    if (stop.aborted) return 0;
    const server = createEmbeddingServer({
      ...limits,
      encoder,
      modelName,
      ...(apiKey === undefined ? {} : { apiKey }),
      log: (line) => io.stderr.write(`minilm: ${line}\n`),
    });
    const address = await server.listen(port, host);
    io.stdout.write(`minilm: serving ${modelName} at ${address.baseUrl} (POST /v1/embeddings; GET /v1/models, /health)\n`);
    if (apiKey === undefined && !isLoopback(address.host)) {
      io.stderr.write(`minilm: warning: listening on ${address.host} without an API key: anyone who can reach this port can use it (set MINILM_API_KEY)\n`);
    }

    const reason = await new Promise<unknown>((resolve) => {
      if (stop.aborted) resolve(stop.reason);
      else stop.addEventListener('abort', () => resolve(stop.reason), { once: true });
    });
    io.stderr.write(`minilm: ${String(reason)}: finishing ${server.inFlight} request(s) in flight, then exiting\n`);
    const { forced } = await server.close({ timeoutMs: shutdownTimeoutMs });
    io.stderr.write(forced ? `minilm: stopped after ${shutdownTimeoutMs} ms with requests still in flight\n` : 'minilm: stopped\n');
    return forced ? 1 : 0;
  } finally {
    encoder.dispose();
  }
}

/** The server's limits from the command line (undefined ones keep their defaults). */
function serverLimits(values: Values): Partial<EmbeddingServerOptions> {
  const limits: Partial<EmbeddingServerOptions> = {
    maxBatchSize: positiveIntegerOption(values, 'max-batch-size'),
    maxBatchTokens: positiveIntegerOption(values, 'max-batch-tokens'),
    maxWaitMs: nonNegativeIntegerOption(values, 'max-wait-ms'),
    maxQueuedSequences: positiveIntegerOption(values, 'max-queue'),
    maxInputs: positiveIntegerOption(values, 'max-inputs'),
    maxBodyBytes: positiveIntegerOption(values, 'max-body-bytes'),
    requestTimeoutMs: positiveIntegerOption(values, 'timeout-ms'),
    mergeRequests: values['no-batching'] === true ? false : undefined,
  };
  const maxInputs = limits.maxInputs ?? SERVER_DEFAULTS.maxInputs;
  const maxQueue = limits.maxQueuedSequences ?? MICRO_BATCHER_DEFAULTS.maxQueuedSequences;
  if (maxQueue < maxInputs) throw new UsageError(`--max-queue (${maxQueue}) must be at least --max-inputs (${maxInputs})`);
  return limits;
}

function nonNegativeIntegerOption(values: Values, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value;
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.') || host === '::ffff:127.0.0.1';
}
