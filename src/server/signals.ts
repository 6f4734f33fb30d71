/**
 * Shutdown signals for the server process: the first SIGTERM or SIGINT (what Kubernetes, systemd,
 * Docker and Ctrl-C send) starts a graceful shutdown; a second one while it is under way means
 * "stop now".
 *
 * Left out: SIGHUP reloads (there is nothing to reload: one model per process).
 */

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

export interface SignalWatch {
  /** Aborted (reason: the signal name) on the first signal. */
  readonly signal: AbortSignal;
  /** Stops listening for the signals. */
  dispose(): void;
}

/**
 * Listens for `signals` on `target` (default: the process). The first one aborts `signal`; a
 * second one calls `onSecondSignal` (typically: exit at once).
 */
export function watchShutdownSignals(
  onSecondSignal: (name: ShutdownSignal) => void,
  signals: readonly ShutdownSignal[] = ['SIGTERM', 'SIGINT'],
  target: NodeJS.EventEmitter = process,
): SignalWatch {
  const controller = new AbortController();
  const listener = (name: ShutdownSignal): void => {
    if (controller.signal.aborted) onSecondSignal(name);
    else controller.abort(name);
  };
  for (const name of signals) target.on(name, listener);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of signals) target.off(name, listener);
    },
  };
}
