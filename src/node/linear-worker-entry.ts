/**
 * Entry module of a linear worker started by Node's `worker_threads` (see worker-spawn.ts here).
 * It only connects `parentPort` to `runLinearWorker`.
 */

import { parentPort } from 'node:worker_threads';
import { runLinearWorker, type ToWorkerMessage } from '../tensor/linear-worker.ts';

if (parentPort === null) throw new Error('linear-worker-entry must be started as a worker thread');
const port = parentPort;

runLinearWorker({
  postMessage: (message) => port.postMessage(message),
  onMessage: (listener) => port.on('message', (message: ToWorkerMessage) => listener(message)),
});
