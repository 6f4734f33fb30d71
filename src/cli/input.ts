/**
 * Where the CLI's texts come from, read as a stream so a million-line file never sits in memory:
 *
 *   arguments            minilm embed "first text" "second text"
 *   --input FILE         .jsonl / .ndjson: one JSON string, or object with a "text" string, per
 *                        line (blank lines skipped); anything else: one text per line
 *   stdin                one text per line, when it is not a terminal
 *
 * In text files every line is a text, empty ones included, so row i of the output is line i + 1.
 * A trailing newline does not make an extra empty text; '\r\n' line ends and a UTF-8 byte-order
 * mark are accepted. Each line is decoded with a strict UTF-8 decoder: invalid bytes stop the run
 * with an error naming the file and line, instead of silently becoming U+FFFD.
 */

import { createReadStream, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { UsageError, type CliIO, type InputStream } from './io.ts';

export interface InputText {
  text: string;
  /** 1-based line in the source (the argument's position for arguments). */
  line: number;
}

/** Splits a byte stream into strictly decoded lines. */
export async function* readLines(source: AsyncIterable<Uint8Array | string>, name: string): AsyncGenerator<InputText> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  const encoder = new TextEncoder();
  let pending: Uint8Array[] = [];
  let line = 0;
  const decode = (bytes: Uint8Array): string => {
    line++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--; // '\r\n'
    try {
      // ignoreBOM false: a BOM at the start of a line is dropped; we only expect it on line 1.
      return decoder.decode(bytes.subarray(0, end));
    } catch {
      throw new UsageError(`${name}: line ${line} is not valid UTF-8`);
    }
  };
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    let start = 0;
    for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, start)) {
      pending.push(bytes.subarray(start, i));
      yield { text: decode(concat(pending)), line };
      pending = [];
      start = i + 1;
    }
    if (start < bytes.length) pending.push(bytes.slice(start));
  }
  const rest = concat(pending);
  if (rest.length > 0) yield { text: decode(rest), line };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Texts of a JSONL file: each non-blank line a JSON string or an object with a "text" string. */
export async function* readJsonlTexts(lines: AsyncIterable<InputText>, name: string): AsyncGenerator<InputText> {
  for await (const { text, line } of lines) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${name}: line ${line} is not valid JSON (${(error as Error).message})`);
    }
    if (typeof value === 'string') yield { text: value, line };
    else if (typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string') {
      yield { text: (value as { text: string }).text, line };
    } else throw new UsageError(`${name}: line ${line}: expected a JSON string or an object with a "text" string`);
  }
}

export function isJsonlPath(path: string): boolean {
  return /\.(jsonl|ndjson)$/i.test(path);
}

/** Texts of a file (JSONL or one per line). */
export function readTextFile(path: string, io: CliIO): AsyncGenerator<InputText> {
  const absolute = checkReadableFile(path, io);
  const lines = readLines(createReadStream(absolute) as AsyncIterable<Uint8Array>, path);
  return isJsonlPath(path) ? readJsonlTexts(lines, path) : lines;
}

/** The absolute path of an existing regular file (checked now, before any model is loaded). */
export function checkReadableFile(path: string, io: CliIO): string {
  const absolute = isAbsolute(path) ? path : resolve(io.cwd, path);
  let info;
  try {
    info = statSync(absolute);
  } catch {
    throw new UsageError(`cannot read ${path}: no such file`);
  }
  if (!info.isFile()) throw new UsageError(`cannot read ${path}: not a file`);
  return absolute;
}

/** Texts from the arguments, else --input, else stdin (never a terminal: that would wait forever). */
export function textSource(positionals: string[], input: string | undefined, io: CliIO, what = 'texts'): AsyncIterable<InputText> {
  if (positionals.length > 0 && input !== undefined) throw new UsageError(`give the ${what} as arguments or with --input, not both`);
  if (positionals.length > 0) return fromArray(positionals);
  if (input !== undefined) return input === '-' ? readLines(io.stdin, 'stdin') : readTextFile(input, io);
  if (io.stdin.isTTY) {
    throw new UsageError(`no input: give the ${what} as arguments, with --input FILE, or as lines on stdin`);
  }
  return readLines(io.stdin as InputStream, 'stdin');
}

async function* fromArray(texts: string[]): AsyncGenerator<InputText> {
  for (let i = 0; i < texts.length; i++) yield { text: texts[i]!, line: i + 1 };
}

/** Texts embedded per chunk by the streaming commands: large enough for length sorting to pay, small enough to keep memory flat. */
export const CHUNK_TEXTS = 1024;

/** Groups a stream of texts into arrays of at most `size`. */
export async function* chunked(texts: AsyncIterable<InputText>, size: number): AsyncGenerator<InputText[]> {
  let chunk: InputText[] = [];
  for await (const text of texts) {
    chunk.push(text);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Lines in a file (newline bytes, plus a last unterminated line): a cheap total for the progress bar. */
export async function countLines(path: string, io: CliIO): Promise<number> {
  const absolute = checkReadableFile(path, io);
  let lines = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(absolute) as AsyncIterable<Uint8Array>) {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  return lines + (last === 0x0a ? 0 : 1);
}
