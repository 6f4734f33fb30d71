/**
 * Starts the threaded backend's workers with Node's `worker_threads` (the Web counterpart is
 * `spawnWebLinearWorker` in src/tensor/worker-spawn.ts).
 *
 *   const backend = await createThreadedBackend({ threads: 2, spawnWorker: spawnNodeLinearWorker });
 *
 * Workers are unref'd once started, so a program that forgets `dispose()` still exits.
 *
 * Running from TypeScript sources: Node ≥ 22.6 can strip types itself; older Node cannot, and
 * module hooks passed with `--import tsx` do not reach worker threads before Node 22, so there
 * the worker first registers tsx's hooks (tsx must be installed) and then imports its entry.
 * Compiled to JavaScript, the entry is a plain `.js` module and none of this applies.
 */

import { Worker } from 'node:worker_threads';
import type { FromWorkerMessage } from '../tensor/linear-worker.ts';
import type { SpawnLinearWorker } from '../tensor/worker-spawn.ts';

// The entry has the same extension as this module: .ts from source, .js once compiled.
const entryUrl = new URL(
  import.meta.url.endsWith('.ts') ? './linear-worker-entry.ts' : './linear-worker-entry.js',
  import.meta.url,
);

export const spawnNodeLinearWorker: SpawnLinearWorker = () => {
  const worker = startWorker(entryUrl);
  let terminated = false;
  return {
    postMessage: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', (message: FromWorkerMessage) => listener(message)),
    onError(listener) {
      worker.on('error', (error) => listener(error instanceof Error ? error : new Error(String(error))));
      worker.on('exit', (code) => {
        if (!terminated) listener(new Error(`linear worker exited unexpectedly (code ${code})`));
      });
    },
    unref: () => worker.unref(),
    terminate() {
      terminated = true;
      void worker.terminate();
    },
  };
};

function startWorker(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts') || nodeStripsTypes()) return new Worker(entry);
  let tsxApi: string;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch {
    throw new Error(
      `cannot start a worker from TypeScript source (${entry.pathname}): this Node cannot load .ts files; ` +
        'install tsx, use Node ≥ 22.6, or run the compiled JavaScript',
    );
  }
  const bootstrap =
    `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); ` +
    `return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/** True on Node versions that load .ts modules natively (process.features.typescript, Node ≥ 22.10). */
function nodeStripsTypes(): boolean {
  const features = process.features as { typescript?: unknown };
  return typeof features.typescript === 'string';
}
