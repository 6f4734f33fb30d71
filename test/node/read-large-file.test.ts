/**
 * The Node adapter's checkpoint reader: several concurrent reads of consecutive slices must give
 * exactly the file's bytes, whatever the size (below the slicing threshold, exactly on slice
 * boundaries, odd sizes), and name the file when it cannot be read.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLargeFile } from '../../src/node/read-large-file.ts';
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
      expect(bytes.byteOffset).toBe(0);
      expect(bytes.buffer.byteLength).toBe(size); // a buffer of its own: tensors may be views of it
      expect(Buffer.compare(Buffer.from(bytes.buffer, 0, size), readFileSync(path))).toBe(0);
    });
  }

  it('rejects a missing file with its path and code', async () => {
    const path = join(directory, 'missing.safetensors');
    await expect(readLargeFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects a directory', async () => {
    await expect(readLargeFile(directory)).rejects.toThrow(/EISDIR|directory/);
  });
});
