/** In-memory CliIO for driving CLI commands in-process. */
import type { CliIO } from '../../src/cli/io.ts';

export interface MemoryIO {
  io: CliIO;
  stdout(): string;
  stdoutBytes(): Uint8Array;
  stderr(): string;
}

export function memoryIO(options: { stdin?: string | Uint8Array; stdinTTY?: boolean; env?: Record<string, string>; cwd?: string } = {}): MemoryIO {
  const out: Uint8Array[] = [];
  const err: string[] = [];
  const encoder = new TextEncoder();
  const input = options.stdin;
  const stdin = {
    isTTY: options.stdinTTY ?? input === undefined,
    async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
      if (input === undefined) return;
      const bytes = typeof input === 'string' ? encoder.encode(input) : input;
      // In small pieces, so that lines and UTF-8 sequences are split across chunks.
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    },
  };
  const io: CliIO = {
    stdout: { write: (chunk) => (out.push(typeof chunk === 'string' ? encoder.encode(chunk) : chunk.slice()), true) },
    stderr: { write: (chunk) => (err.push(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk)), true) },
    stdin,
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
  };
  const bytes = (): Uint8Array => {
    const all = new Uint8Array(out.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const c of out) {
      all.set(c, offset);
      offset += c.length;
    }
    return all;
  };
  return { io, stdout: () => new TextDecoder().decode(bytes()), stdoutBytes: bytes, stderr: () => err.join('') };
}

/** Reads a .npy v1.0 file: its dtype, shape and data bytes. */
export function readNpy(bytes: Uint8Array): { descr: string; shape: number[]; data: Uint8Array } {
  const magic = String.fromCharCode(...bytes.subarray(1, 6));
  if (bytes[0] !== 0x93 || magic !== 'NUMPY' || bytes[6] !== 1) throw new Error('not a .npy v1 file');
  const headerLength = bytes[8]! | (bytes[9]! << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  if ((10 + headerLength) % 64 !== 0 || !header.endsWith('\n')) throw new Error('header not padded to 64 bytes');
  const descr = /'descr': '([^']+)'/.exec(header)![1]!;
  const shape = /'shape': \((\d+), (\d+)\)/.exec(header)!.slice(1).map(Number);
  return { descr, shape, data: bytes.subarray(10 + headerLength) };
}
