/**
 * Which matmul backend an encoder runs on, from the user's `backend` and `threads` options.
 *
 *   'js'     the default: pure TypeScript, the register-blocked kernel of tensor/linear-packed.ts;
 *            with `threads` > 1, the same kernel with rows shared between workers over
 *            SharedArrayBuffer (tensor/threaded-backend.ts)
 *   'plain'  the textbook loops of tensor/linear.ts (the reference; slow)
 *   'simd'   the optional WebAssembly SIMD128 kernel (tensor/simd); a clear error where
 *            WebAssembly SIMD cannot be compiled
 *   'auto'   'simd' where it compiles, else 'js'
 *   an object implementing LinearBackend, or a promise of one (a backend started earlier, e.g.
 *   while the weights are read): used as given
 *
 * Backends that need asynchronous set-up (workers, WebAssembly compilation) are returned as a
 * promise; the encoder waits for it before its first forward pass. The SIMD and threaded modules
 * are imported only when asked for, so code that never chooses them carries neither.
 *
 * Threads: 1 by default here (the runtime-neutral core cannot know whether this thread may block
 * or how to start a worker); the Node adapter defaults to every available core and passes its
 * worker spawner. 'simd' (and 'auto' when it picks SIMD) with `threads` > 1 shares each call's
 * rows between workers running the same kernel over one shared WebAssembly.Memory.
 */

import { plainBackend, type LinearBackend } from '../tensor/backend.ts';
import { packedBackend } from '../tensor/packed-backend.ts';
import type { SpawnLinearWorker } from '../tensor/worker-spawn.ts';
import { ConfigError } from './errors.ts';

export type BackendName = 'js' | 'plain' | 'simd' | 'auto';
export type BackendChoice = BackendName | LinearBackend | Promise<LinearBackend>;

export interface BackendOptions {
  backend?: BackendChoice;
  /** Threads for the 'js' and 'simd' backends, the calling thread included. Default 1. */
  threads?: number;
  /** How to start a worker thread (Node: the adapter's `spawnNodeLinearWorker`). Default: Web Workers. */
  spawnWorker?: SpawnLinearWorker;
  /**
   * With `threads` > 1: true (the default here) makes the backend ready only once its workers are;
   * false starts them once the calls have asked for about one short sentence's work, and computes
   * on the calling thread alone until they join (the Node adapter's default: a worker takes
   * longer to start than a first short embedding takes on one thread, and slows it while it
   * starts; see START_WORKERS_AFTER_MULTIPLY_ADDS in tensor/worker-pool.ts).
   */
  waitForWorkers?: boolean;
}

export function resolveBackend(options: BackendOptions): LinearBackend | Promise<LinearBackend> {
  const { backend = 'js', threads = 1 } = options;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new ConfigError(`threads must be a positive integer, got ${String(threads)}`);
  }
  if (backend instanceof Promise) return backend;
  if (typeof backend === 'object' && backend !== null) return backend;
  switch (backend) {
    case 'plain':
      return plainBackend;
    case 'js':
      return threads === 1 ? packedBackend : threadedBackend(threads, options);
    case 'simd':
      return simdBackend(threads, options, false);
    case 'auto':
      return simdBackend(threads, options, true);
    default:
      throw new ConfigError(`unknown backend ${JSON.stringify(backend)}: expected 'js', 'simd', 'auto' or 'plain'`);
  }
}

async function threadedBackend(threads: number, options: BackendOptions): Promise<LinearBackend> {
  const { createThreadedBackend } = await import('../tensor/threaded-backend.ts');
  return createThreadedBackend({ threads, ...workerOptions(options) });
}

/** The worker options given (undefined ones left out, as exactOptionalPropertyTypes wants). */
export function workerOptions({ spawnWorker, waitForWorkers }: BackendOptions): Pick<BackendOptions, 'spawnWorker' | 'waitForWorkers'> {
  return {
    ...(spawnWorker === undefined ? {} : { spawnWorker }),
    ...(waitForWorkers === undefined ? {} : { waitForWorkers }),
  };
}

async function simdBackend(threads: number, options: BackendOptions, fallBackToJs: boolean): Promise<LinearBackend> {
  const simd = await import('../tensor/simd/simd-backend.ts');
  if (simd.simdSupported()) {
    if (threads === 1) return simd.createSimdBackend();
    const { createThreadedSimdBackend } = await import('../tensor/threaded-backend.ts');
    return createThreadedSimdBackend({ threads, ...workerOptions(options) });
  }
  if (fallBackToJs) return resolveBackend({ ...options, backend: 'js' });
  throw new ConfigError(
    "backend 'simd' is unavailable here: this runtime cannot compile WebAssembly SIMD (use 'js' or 'auto')",
  );
}
