/**
 * Load test of `minilm serve`: requests per second and p50/p99 latency at 1, 8 and 64 concurrent
 * clients, with micro-batching on and off, on loopback. Every answer is checked: status 200 and
 * the exact vector `encoder.embed()` gives for that sentence in this process. Stops by itself.
 *
 *   npm run bench:server                          full synthetic model, 20 s measured per mode and level
 *   npm run bench:server -- --model tiny --seconds 10 --write
 *   npm run bench:server -- --backend simd                 the server and the check on that backend
 *
 * Each client sends one sentence (from bench/corpus.json "short") per request, waits for the
 * answer, and sends the next. Throughput and latency are those of a steady-state window: it
 * opens once every client has had its first answer (so connection set-up and the first queue
 * fill are left out) and lasts --seconds ÷ --rounds; the requests in flight when it closes are
 * awaited and checked but not counted. The servers are separate processes (the real CLI), one
 * per batching mode, started together and measured in turns, so a change in the load of a
 * shared machine falls on every mode alike, and the clients do not share a server's event loop.
 * "mean batch" is the server's count over the whole run. --write puts the table into
 * bench/SERVER-RESULTS.md (between its server-load markers).
 *
 * Also exports the helpers the soak test reuses: starting a server process, the client loop,
 * and the results-file writer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSentenceEncoder, type LoadOptions } from '../src/node.ts';
import { writeSyntheticModelFolder, type SyntheticVariant } from '../src/node/synthetic-folder.ts';
import { percentile } from './lib/stats.ts';
import { writeMarkedSection } from './lib/results-section.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
export const RESULTS_FILE = join(repoRoot, 'bench', 'SERVER-RESULTS.md');

// ---------------------------------------------------------------------------------------------
// A server process
// ---------------------------------------------------------------------------------------------

export interface ServerProcess {
  origin: string;
  child: ChildProcess;
  /** SIGTERM, then wait for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
}

/** `minilm serve --model DIR --port 0 ...args`, once it prints its URL. */
export async function startServerProcess(modelDir: string, args: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'serve', '--model', modelDir, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const origin = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk.toString('utf8');
      const match = / at (http:\/\/\S+)\/v1/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`minilm serve exited (${code}) before listening:\n${stderr}`)));
  });
  return {
    origin,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

export interface ClientRun {
  concurrency: number;
  /** Length of the measuring window. */
  seconds: number;
  /**
   * Open the window only once every client has had an answer (connections made, the server's
   * queue in its steady state), instead of at once. Default true.
   */
  warmUp?: boolean;
  /** Sentences sent (client i's k-th request sends pool[(i + k·concurrency) mod pool.length]). */
  pool: readonly string[];
  /** Expected embedding of each pool sentence (exact float32 values). */
  expected: readonly Float32Array[];
  origin: string;
}

export interface ClientResult {
  /** Answers received inside the measuring window. */
  requests: number;
  /** Answers checked in all (warm-up and drain included). */
  checked: number;
  /** Failed requests and wrong vectors, over all answers checked. */
  failures: number;
  wrongVectors: number;
  /** Length of the measuring window. */
  elapsedSeconds: number;
  /** Latencies of the answers inside the window. */
  latenciesMs: number[];
  firstProblem?: string;
}

/** One POST /v1/embeddings over a keep-alive agent; resolves to status and parsed body. */
function post(agent: Agent, origin: string, body: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${origin}/v1/embeddings`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (error) {
          reject(error);
        }
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.setTimeout(300_000, () => request.destroy(new Error('no answer within 300 s')));
    request.end(body);
  });
}

/**
 * `concurrency` clients in closed loop: each sends a request, waits for the answer, sends the
 * next. Throughput and latency count the answers that arrive inside the measuring window
 * (`seconds` long, opened once every client has had its first answer unless warmUp is false);
 * clients stop sending when it closes, and the requests then in flight are awaited and checked
 * but not counted. Every answer is checked against the expected vector.
 */
export async function runClients(run: ClientRun): Promise<ClientResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: run.concurrency });
  const result: ClientResult = { requests: 0, checked: 0, failures: 0, wrongVectors: 0, elapsedSeconds: run.seconds, latenciesMs: [] };
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  const openWindow = (): void => {
    windowStart = performance.now();
    windowEnd = windowStart + run.seconds * 1000;
  };
  if (run.warmUp === false) openWindow();
  let primed = 0;
  const client = async (id: number): Promise<void> => {
    for (let k = 0; k === 0 || performance.now() < windowEnd; k++) {
      const index = (id + k * run.concurrency) % run.pool.length;
      const sent = performance.now();
      let problem: string | undefined;
      let wrong = false;
      try {
        const { status, json } = await post(agent, run.origin, JSON.stringify({ input: run.pool[index], encoding_format: 'base64' }));
        if (status !== 200) {
          problem = `HTTP ${status}: ${JSON.stringify(json).slice(0, 200)}`;
        } else {
          const bytes = Buffer.from(json.data[0].embedding as string, 'base64');
          const vector = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
          const wanted = run.expected[index]!;
          wrong = vector.length !== wanted.length || vector.some((v, i) => v !== wanted[i]);
        }
      } catch (error) {
        problem = `request failed: ${(error as Error).message}`;
      }
      const done = performance.now();
      result.checked++;
      if (problem !== undefined) {
        result.failures++;
        result.firstProblem ??= problem;
      } else if (wrong) {
        result.wrongVectors++;
        result.firstProblem ??= `wrong vector for sentence ${index}`;
      }
      if (done >= windowStart && done <= windowEnd) {
        result.requests++;
        result.latenciesMs.push(done - sent);
      }
      if (k === 0 && ++primed === run.concurrency && windowStart === Number.POSITIVE_INFINITY) openWindow();
    }
  };
  await Promise.all(Array.from({ length: run.concurrency }, (_, i) => client(i)));
  agent.destroy();
  return result;
}

export async function health(origin: string): Promise<any> {
  const response = await fetch(`${origin}/health`);
  return response.json();
}

// ---------------------------------------------------------------------------------------------
// Results file
// ---------------------------------------------------------------------------------------------

/** Replaces this command's section of SERVER-RESULTS.md (see lib/results-section.ts). */
export function writeResultsSection(name: string, markdown: string): void {
  writeMarkedSection(RESULTS_FILE, '# Server and reliability results', name, markdown);
}

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

export function corpusSentences(): string[] {
  const corpus = JSON.parse(readFileSync(join(repoRoot, 'bench', 'corpus.json'), 'utf8')) as { short: string[] };
  return corpus.short;
}

// ---------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------

/** A server configuration under test: its label and the `minilm serve` flags that make it. */
interface Mode {
  label: string;
  args: string[];
}

const MODES: Mode[] = [
  { label: 'off (one request per forward pass)', args: ['--no-batching'] },
  { label: 'on, max wait 0 ms', args: ['--max-wait-ms', '0'] },
  { label: 'on, max wait 2 ms', args: ['--max-wait-ms', '2'] },
];

interface Row {
  mode: Mode;
  concurrency: number;
  result: ClientResult;
  batches: number;
  sequences: number;
}

function merge(into: ClientResult, run: ClientResult): void {
  into.requests += run.requests;
  into.checked += run.checked;
  into.failures += run.failures;
  into.wrongVectors += run.wrongVectors;
  into.elapsedSeconds += run.elapsedSeconds;
  into.latenciesMs.push(...run.latenciesMs);
  into.firstProblem ??= run.firstProblem;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'full' },
      seconds: { type: 'string', default: '20' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,8,64' },
      sentences: { type: 'string', default: '32' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      write: { type: 'boolean', default: false },
    },
  });
  const variant = values.model as SyntheticVariant;
  if (variant !== 'full' && variant !== 'tiny') throw new Error('--model must be full or tiny');
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  // The expected vectors come from the same backend as the server's (kernels may round differently).
  const backend = values.backend as LoadOptions['backend'] | undefined;
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  const backendArgs = [...(backend === undefined ? [] : ['--backend', String(backend)]), ...(threads === undefined ? [] : ['--threads', String(threads)])];
  const setup = `${backend === undefined ? '' : ` --backend ${backend}`}${threads === undefined ? '' : ` --threads ${threads}`}`;
  const levels = values.concurrency.split(',').map(Number);
  const folder = mkdtempSync(join(tmpdir(), 'minilm-server-load-'));
  const servers: ServerProcess[] = [];
  try {
    await writeSyntheticModelFolder(variant, folder);
    const pool = corpusSentences().slice(0, Number(values.sentences));
    console.log(`computing the expected vectors of ${pool.length} sentences in process (${variant} model)…`);
    const encoder = await loadSentenceEncoder(folder, { ...(backend === undefined ? {} : { backend }), ...(threads === undefined ? {} : { threads }) });
    const expected = await encoder.embed(pool);
    encoder.dispose();

    // One idle server per mode, all started up front; the modes then take turns in short
    // rounds, so a change in the machine's load (it is shared) hits them all alike.
    for (const mode of MODES) servers.push(await startServerProcess(folder, ['--max-batch-size', '64', ...backendArgs, ...mode.args]));
    for (const server of servers) await runClients({ origin: server.origin, concurrency: 1, seconds: 0, warmUp: false, pool: pool.slice(0, 2), expected });

    const rows: Row[] = [];
    for (const concurrency of levels) {
      const levelRows = MODES.map((mode) => ({ mode, concurrency, result: { requests: 0, checked: 0, failures: 0, wrongVectors: 0, elapsedSeconds: 0, latenciesMs: [] } as ClientResult, batches: 0, sequences: 0 }));
      for (let round = 0; round < rounds; round++) {
        for (let m = 0; m < MODES.length; m++) {
          const server = servers[m]!;
          const before = (await health(server.origin)).batches;
          const run = await runClients({ origin: server.origin, concurrency, seconds: seconds / rounds, pool, expected });
          const after = (await health(server.origin)).batches;
          merge(levelRows[m]!.result, run);
          levelRows[m]!.batches += after.batches - before.batches;
          levelRows[m]!.sequences += after.sequences - before.sequences;
        }
      }
      for (const row of levelRows) {
        const r = row.result;
        console.log(
          `${row.mode.label}, ${concurrency} clients: ${r.requests} answers in ${r.elapsedSeconds.toFixed(1)} s = ${(r.requests / r.elapsedSeconds).toFixed(2)} req/s (${r.checked} checked), ` +
            `p50 ${percentile(r.latenciesMs, 50).toFixed(0)} ms, p99 ${percentile(r.latenciesMs, 99).toFixed(0)} ms, mean batch ${(row.sequences / Math.max(1, row.batches)).toFixed(1)}, ` +
            `failures ${r.failures}, wrong vectors ${r.wrongVectors}${r.firstProblem ? ` (${r.firstProblem})` : ''}`,
        );
        rows.push(row);
      }
    }

    const table = [
      `Server load test (\`npm run bench:server -- --model ${variant} --seconds ${seconds} --rounds ${rounds}${setup}\`): ${variant} synthetic model, ${backend === undefined ? 'default' : backend} backend, ${threads === undefined ? 'default threads (every core)' : `${threads} thread(s)`} per server, one sentence of bench/corpus.json per request (base64), every answer checked against \`embed()\` bit for bit; closed-loop clients on loopback; throughput and latency over the answers of a steady-state window (opened once every client has had one answer), the modes taking turns in ${rounds} windows of ${(seconds / rounds).toFixed(1)} s per level. ${machineLine()}; the machine was shared with other jobs, so figures are noisy.`,
      '',
      '| micro-batching | clients | answers in window | req/s | p50 ms | p99 ms | mean batch | answers checked | failed | wrong vectors |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(({ mode, concurrency, result: r, batches, sequences }) =>
        `| ${mode.label} | ${concurrency} | ${r.requests} | ${(r.requests / r.elapsedSeconds).toFixed(2)} | ${percentile(r.latenciesMs, 50).toFixed(0)} | ${percentile(r.latenciesMs, 99).toFixed(0)} | ${(sequences / Math.max(1, batches)).toFixed(1)} | ${r.checked} | ${r.failures} | ${r.wrongVectors} |`,
      ),
    ].join('\n');
    console.log(`\n${table}`);
    if (values.write) writeResultsSection(`server-load-${variant}${backend === undefined ? '' : `-${backend}`}${threads === undefined ? '' : `-threads${threads}`}`, table);
    const bad = rows.some((row) => row.result.failures > 0 || row.result.wrongVectors > 0);
    return bad ? 1 : 0;
  } finally {
    for (const server of servers) {
      const code = await server.stop();
      if (code !== 0) console.log(`warning: a server exited with code ${code}`);
    }
    rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
