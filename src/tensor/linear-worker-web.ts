/**
 * Entry module of a linear worker started with the Web Worker API (see worker-spawn.ts).
 * It only connects the worker's global scope to `runLinearWorker`.
 */

import { runLinearWorker, type ToWorkerMessage } from './linear-worker.ts';

const scope = globalThis as unknown as DedicatedWorkerGlobalScope;

runLinearWorker({
  postMessage: (message) => scope.postMessage(message),
  onMessage: (listener) => scope.addEventListener('message', (event) => listener(event.data as ToWorkerMessage)),
});
