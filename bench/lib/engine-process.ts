/**
 * Runs one engine configuration in a fresh Node process and reads back its result line.
 * The process runs the runner's JavaScript bundle with plain `node` (runner-bundle.ts explains
 * why); a runner without a bundle runs through tsx (`node --import tsx`). Its stdout may carry other
 * output, the result is the line starting with RESULT_LINE_PREFIX. On failure or timeout the
 * tail of its stderr explains why.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import type { EngineConfig } from './configs.ts';
import { repoRoot } from './paths.ts';
import type { RunnerOutput } from './result.ts';
import { RESULT_LINE_PREFIX } from './result.ts';

export type ProcessOutcome =
  | { ok: true; output: RunnerOutput; wallSeconds: number }
  | { ok: false; error: string; wallSeconds: number };

const STDERR_TAIL_CHARS = 4000;

/** The engine process running now, if any, so that an interrupted harness can stop it. */
let running: ChildProcess | null = null;

export function killRunningEngineProcess(): void {
  running?.kill('SIGKILL');
}

export function runEngineProcess(
  config: EngineConfig,
  runnerArgs: readonly string[],
  timeoutMs: number,
  bundlePath?: string,
  env?: NodeJS.ProcessEnv,
): Promise<ProcessOutcome> {
  const start = performance.now();
  const wallSeconds = (): number => (performance.now() - start) / 1000;
  return new Promise((resolve) => {
    const script = bundlePath === undefined ? ['--import', 'tsx', config.runnerPath] : [bundlePath];
    const child = spawn(process.execPath, [...script, ...runnerArgs], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running = child;
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `could not start ${config.id}: ${error.message}`, wallSeconds: wallSeconds() });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running = null;
      const tail = stderr.trim() === '' ? '' : `\n${stderr.trim()}`;
      if (timedOut) {
        resolve({ ok: false, error: `${config.id} timed out after ${Math.round(timeoutMs / 1000)} s${tail}`, wallSeconds: wallSeconds() });
        return;
      }
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_LINE_PREFIX));
      if (code !== 0 || line === undefined) {
        const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        resolve({ ok: false, error: `${config.id} ${how}${line === undefined ? ' without a result line' : ''}${tail}`, wallSeconds: wallSeconds() });
        return;
      }
      try {
        resolve({ ok: true, output: JSON.parse(line.slice(RESULT_LINE_PREFIX.length)) as RunnerOutput, wallSeconds: wallSeconds() });
      } catch (error) {
        resolve({ ok: false, error: `${config.id} printed an unreadable result: ${(error as Error).message}`, wallSeconds: wallSeconds() });
      }
    });
  });
}
