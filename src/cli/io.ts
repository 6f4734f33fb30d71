/**
 * What a CLI command talks to: streams, environment and working directory, passed in (never read
 * from `process` inside a command), so tests drive commands in-process with in-memory streams.
 * Also: the command shape, the usage error, and how errors are shown.
 */

import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface OutputStream {
  write(chunk: string | Uint8Array): boolean | void;
  isTTY?: boolean;
  columns?: number;
  once?(event: 'drain', listener: () => void): unknown;
}

export interface InputStream extends AsyncIterable<Uint8Array | string> {
  isTTY?: boolean;
}

export interface CliIO {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (--input, --output, --corpus, --model folders) are taken from here. */
  cwd: string;
}

/** One `minilm <name>` command. Add a module exporting one of these to COMMANDS in main.ts. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** A mistake in how the command was called: shown as `minilm: error: …`, exit code 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Errors whose message is the whole story (a user mistake or an environment problem): no stack. */
const USER_ERROR_NAMES = new Set([
  'UsageError', 'ConfigError', 'InputError', 'WeightsError', 'SafetensorsError', 'VocabError', 'TokenizerConfigError',
  'HubError', 'ChecksumError', 'NotFoundError', 'ModelFolderError',
]);
const SYSTEM_ERROR_CODES = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EEXIST', 'ENOSPC', 'EPERM', 'EROFS', 'EMFILE']);

export function isUserError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return USER_ERROR_NAMES.has(error.name) || (typeof code === 'string' && (code.startsWith('ERR_PARSE_ARGS') || SYSTEM_ERROR_CODES.has(code)));
}

/** `minilm: error: <message>` for user errors; an internal error (a bug) also gets its stack. */
export function reportError(error: unknown, io: CliIO): void {
  if (isUserError(error)) {
    io.stderr.write(`minilm: error: ${(error as Error).message}\n`);
    return;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`minilm: internal error (please report it): ${text}\n`);
}

/** Writes to a stream, waiting for 'drain' when it asks to (keeps memory flat on big outputs). */
export async function writeOut(stream: OutputStream, chunk: string | Uint8Array): Promise<void> {
  if (stream.write(chunk) === false && stream.once !== undefined) {
    await new Promise<void>((resolve) => stream.once!('drain', resolve));
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, strict (unknown options are errors), positionals allowed. */
export function parseCommandArgs<O extends OptionSpec>(
  args: string[],
  options: O,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
  return { values: values as Record<string, string | boolean | undefined>, positionals };
}

/** A positive integer option, or undefined when absent. */
export function positiveIntegerOption(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function stringOption(values: Record<string, unknown>, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}
