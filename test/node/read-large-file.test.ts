/**
 * The Node adapter's checkpoint reader: several concurrent reads of consecutive slices must give
 * exactly the file's bytes, whatever the size (below the slicing threshold, exactly on slice
 * boundaries, odd sizes), and name the file when it cannot be read.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileOffsetInMemory, readLargeFile } from '../../src/node/read-large-file.ts';
import { mulberry32 } from '../../src/model/synthetic.ts';

const directory = mkdtempSync(join(tmpdir(), 'minilm-read-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function randomBytes(length: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

describe('readLargeFile', () => {
  for (const size of [0, 1, 4095, 1 << 20, (1 << 20) + 1, 4 * 4096 * 100, 3_000_001, 17 * (1 << 20) + 12345]) {
    it(`reads ${size} bytes exactly`, async () => {
      const path = join(directory, `file-${size}.bin`);
      writeFileSync(path, randomBytes(size, size + 1));
      const bytes = await readLargeFile(path);
      expect(bytes.byteLength).toBe(size);
      // In a page-aligned memory of its own (tensors may be views of it), where fileOffsetInMemory says.
      expect(bytes.byteOffset).toBe(fileOffsetInMemory(0));
      expect(bytes.buffer.byteLength).toBeLessThan(fileOffsetInMemory(0) + size + 65536);
      expect(Buffer.compare(Buffer.from(bytes.buffer, bytes.byteOffset, size), readFileSync(path))).toBe(0);
    });
  }

  it('shared: true reads into a SharedArrayBuffer', async () => {
    const path = join(directory, 'shared.bin');
    writeFileSync(path, randomBytes(3_000_001, 7));
    const bytes = await readLargeFile(path, { shared: true });
    expect(bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.compare(Buffer.from(bytes), readFileSync(path))).toBe(0);
  });
});

describe('fileOffsetInMemory', () => {
  it('puts the aligned byte on a 16-byte boundary, and the file 0 or 32+ bytes past a page start (the fast copy distances)', () => {
    for (let alignedByte = 0; alignedByte < 64; alignedByte++) {
      const offset = fileOffsetInMemory(alignedByte);
      expect((offset + alignedByte) % 16).toBe(0);
      const pastPage = offset % 4096;
      expect(pastPage === 0 || pastPage >= 32).toBe(true);
      expect(offset).toBeGreaterThanOrEqual(16); // address 0 stays unused
    }
  });

  it('rejects a missing file with its path and code', async () => {
    const path = join(directory, 'missing.safetensors');
    await expect(readLargeFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects a directory', async () => {
    await expect(readLargeFile(directory)).rejects.toThrow(/EISDIR|directory/);
  });
});
