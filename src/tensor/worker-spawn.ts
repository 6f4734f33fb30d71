/**
 * How the threaded backend starts a worker, behind an interface so that the core stays free of
 * platform imports.
 *
 * `spawnWebLinearWorker` (here) uses the standard Web Worker API: browsers, Deno, Bun. Bundlers
 * (Vite, webpack, esbuild) recognise the `new Worker(new URL(…, import.meta.url))` form below and
 * bundle the worker's entry. Node has no global Worker: its spawner, built on `worker_threads`,
 * lives in the Node adapter (`src/node/worker-spawn.ts`).
 *
 * Browser caveats: SharedArrayBuffer exists only on cross-origin-isolated pages (served with
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`),
 * and the page's main thread may not block in Atomics.wait, so the threaded backend must be
 * created inside a worker (which then starts the other workers).
 */

import type { FromWorkerMessage, ToWorkerMessage } from './linear-worker.ts';

/** The caller's handle on one linear worker. */
export interface LinearWorkerHandle {
  postMessage(message: ToWorkerMessage): void;
  onMessage(listener: (message: FromWorkerMessage) => void): void;
  /** Errors the worker raises outside a job, e.g. failing to load its entry module. */
  onError(listener: (error: Error) => void): void;
  /** Lets the host exit while the worker still runs (Node); no-op where that is not a concept. */
  unref(): void;
  terminate(): void;
}

/** Starts one worker running `runLinearWorker` (linear-worker.ts). */
export type SpawnLinearWorker = () => LinearWorkerHandle;

/** Spawner for environments with the Web Worker API. */
export const spawnWebLinearWorker: SpawnLinearWorker = () => {
  const worker = new Worker(new URL('./linear-worker-web.ts', import.meta.url), { type: 'module' });
  return {
    postMessage: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.addEventListener('message', (event) => listener(event.data as FromWorkerMessage)),
    onError: (listener) =>
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        listener(new Error(`linear worker failed: ${event.message}`));
      }),
    unref() {},
    terminate: () => worker.terminate(),
  };
};
