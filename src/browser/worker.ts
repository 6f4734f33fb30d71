/**
 * The Web Worker entry: runs a SentenceEncoder off the page's main thread.
 *
 * Start it as a module worker and talk to it through `client.ts`:
 *
 *   const worker = new Worker(new URL('./minilm.worker.js', import.meta.url), { type: 'module' });
 *   const client = EncoderClient.fromWorker(worker);
 *
 * Everything it does is in `worker-host.ts`; this file only connects the host to the worker's
 * message port. Left out: SharedArrayBuffer and nested workers (the default engine runs on this
 * one thread; nothing here needs cross-origin isolation).
 */

import type { WorkerRequest, WorkerResponse } from './protocol.ts';
import { createWorkerHost } from './worker-host.ts';

/** The two members of a dedicated worker's global scope used here. */
interface WorkerScope {
  postMessage(message: WorkerResponse, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerRequest>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
const host = createWorkerHost((message, transfer) => scope.postMessage(message, transfer));

scope.addEventListener('message', (event) => {
  void host.handle(event.data);
});
