/**
 * readCheckpoint: every byte but the word-embedding table's is in when it resolves; the table
 * arrives in the background, rows asked for early are read on their own, and whatever cannot be
 * deferred safely is read whole. Checked against the file's own bytes.
 */
import { pbkdf2 } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/node/read-checkpoint.ts';
import { parseSafetensors, serializeSafetensors, type TensorToWrite } from '../../src/model/safetensors.ts';
import { mulberry32 } from '../../src/model/synthetic.ts';

const directory = mkdtempSync(join(tmpdir(), 'minilm-checkpoint-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const ROWS = 5000;
const WIDTH = 96; // table: 5000 × 96 floats = 1.92 MB, above the deferral threshold (1 MB), 1 chunk
const TABLE = 'embeddings.word_embeddings.weight';

function randomFloats(length: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => random() * 2 - 1);
}

/** A checkpoint with tensors sorted before and after the table (the writer sorts by name). */
function writeCheckpoint(name: string, table: TensorToWrite): string {
  const tensors: TensorToWrite[] = [
    { name: 'a.before', dtype: 'F32', shape: [1000, 7], data: randomFloats(7000, 1) },
    table,
    { name: 'z.after', dtype: 'F32', shape: [300, 300], data: randomFloats(90000, 2) },
  ];
  const path = join(directory, name);
  writeFileSync(path, serializeSafetensors(tensors));
  return path;
}

const f32Table = (rows = ROWS): TensorToWrite => ({ name: TABLE, dtype: 'F32', shape: [rows, WIDTH], data: randomFloats(rows * WIDTH, 3) });

function tableRange(file: Uint8Array, name = TABLE): [number, number] {
  const info = parseSafetensors(file).tensors.get(name)!;
  return [info.byteOffset, info.byteOffset + info.byteLength];
}

describe('readCheckpoint', () => {
  it('resolves with every byte outside the table in, and the table complete later', async () => {
    const path = writeCheckpoint('deferred.safetensors', f32Table());
    const file = readFileSync(path);
    const [start, end] = tableRange(file);
    const { bytes, deferred } = await readCheckpoint(path);
    expect(deferred).toBeDefined();
    expect([deferred!.start, deferred!.end]).toEqual([start, end]);
    expect(bytes.length).toBe(file.length);
    expect(Buffer.compare(Buffer.from(bytes.subarray(0, start)), file.subarray(0, start))).toBe(0);
    expect(Buffer.compare(Buffer.from(bytes.subarray(end)), file.subarray(end))).toBe(0);
    await deferred!.complete;
    expect(Buffer.compare(Buffer.from(bytes), file)).toBe(0);
  });

  it('reads rows asked for before the background read reaches them', async () => {
    const rows = 40_000; // 15 MB: 8 chunks, read one after another
    const path = writeCheckpoint('rows.safetensors', f32Table(rows));
    const file = readFileSync(path);
    const [start, end] = tableRange(file);
    const { bytes, deferred } = await readCheckpoint(path);
    const rowBytes = WIDTH * 4;
    // The last rows (last chunk) and a few in the middle, at once.
    const ranges: [number, number][] = [
      [end - 3 * rowBytes, end],
      [start + 20_000 * rowBytes, start + 20_001 * rowBytes],
    ];
    let completeFirst = false;
    void deferred!.complete.then(() => (completeFirst = true));
    await deferred!.readRanges(ranges);
    expect(completeFirst).toBe(false); // this test means something only if the rows came first
    for (const [from, to] of ranges) {
      expect(Buffer.compare(Buffer.from(bytes.subarray(from, to)), file.subarray(from, to))).toBe(0);
    }
    await deferred!.complete;
    await deferred!.readRanges(ranges); // after completion: nothing to read, still fine
    expect(Buffer.compare(Buffer.from(bytes), file)).toBe(0);
  });

  it('keeps the file open for rows asked for while the background read ends (no read on a closed descriptor)', async () => {
    const path = writeCheckpoint('race.safetensors', f32Table()); // one chunk
    const file = readFileSync(path);
    const [start, end] = tableRange(file);
    for (let attempt = 0; attempt < 3; attempt++) {
      const { bytes, deferred } = await readCheckpoint(path);
      // Fill libuv's thread pool (4 threads) so that the row read below queues behind this work,
      // while the background read, issued earlier, finishes first and the file would be closed.
      const poolWork = Array.from({ length: 4 }, () => new Promise((resolve) => pbkdf2('x', 'y', 60_000, 32, 'sha256', resolve)));
      const rows = deferred!.readRanges([[start, end]]);
      await expect(rows).resolves.toBeUndefined();
      await Promise.all(poolWork);
      await deferred!.complete;
      expect(Buffer.compare(Buffer.from(bytes), file)).toBe(0);
    }
  });

  it('refuses ranges outside the table', async () => {
    const path = writeCheckpoint('outside.safetensors', f32Table());
    const { deferred } = await readCheckpoint(path);
    await expect(deferred!.readRanges([[deferred!.start - 4, deferred!.start + 4]])).rejects.toThrow(/outside the deferred table/);
    await deferred!.complete;
  });

  it('reads into a SharedArrayBuffer when asked', async () => {
    const path = writeCheckpoint('shared.safetensors', f32Table());
    const { bytes, deferred } = await readCheckpoint(path, { shared: true });
    expect(bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    await deferred!.complete;
    expect(Buffer.compare(Buffer.from(bytes), readFileSync(path))).toBe(0);
  });

  it('reads into the bytes `allocate` gives, told which file byte to align (the first tensor byte)', async () => {
    const path = writeCheckpoint('allocated.safetensors', f32Table());
    const file = readFileSync(path);
    const firstTensorByte = 8 + Number(file.readBigUInt64LE(0));
    const region = new Uint8Array(file.length + 64);
    const asked: [number, number][] = [];
    const { bytes, deferred } = await readCheckpoint(path, {
      allocate(size, alignedByte) {
        asked.push([size, alignedByte]);
        const at = 16 + ((16 - (alignedByte % 16)) % 16);
        return region.subarray(at, at + size);
      },
    });
    expect(asked).toEqual([[file.length, firstTensorByte]]);
    expect(bytes.buffer).toBe(region.buffer);
    expect((bytes.byteOffset + firstTensorByte) % 16).toBe(0);
    await deferred!.complete;
    expect(Buffer.compare(Buffer.from(bytes), file)).toBe(0);
    await expect(readCheckpoint(path, { allocate: (size) => new Uint8Array(size - 1) })).rejects.toThrow(/returned \d+ bytes/);
  });

  it('reads whole a table that is not float32, a small table, a header that does not parse, and a table entry that is not an object', async () => {
    const f16 = writeCheckpoint('f16.safetensors', { name: TABLE, dtype: 'F16', shape: [ROWS * 2, WIDTH], data: new Uint8Array(ROWS * 2 * WIDTH * 2).fill(60) });
    const small = writeCheckpoint('small.safetensors', f32Table(100));
    const broken = join(directory, 'broken.safetensors');
    const brokenBytes = Buffer.from(readFileSync(small));
    brokenBytes[9] = 0xff; // invalid UTF-8 in the header
    writeFileSync(broken, Buffer.concat([brokenBytes, Buffer.alloc(2 << 20)]));
    // A header that is JSON but not a valid entry for the table: read whole, left to fromParts to report.
    const nullEntry = join(directory, 'null-entry.safetensors');
    const header = Buffer.from(JSON.stringify({ [TABLE]: null, a: { dtype: 'U8', shape: [2 << 20], data_offsets: [0, 2 << 20] } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(nullEntry, Buffer.concat([length, header, Buffer.alloc(2 << 20, 7)]));
    for (const path of [f16, small, broken, nullEntry]) {
      const { bytes, deferred } = await readCheckpoint(path);
      expect(deferred).toBeUndefined();
      expect(Buffer.compare(Buffer.from(bytes), readFileSync(path))).toBe(0);
    }
  });

  it('rejects, naming the file, when the table is cut short while it is read', async () => {
    const path = writeCheckpoint('cut.safetensors', f32Table(40_000));
    const { deferred } = await readCheckpoint(path);
    truncateSync(path, deferred!.start + 1000); // the first chunk may be in; the rest is gone
    await expect(deferred!.complete).rejects.toThrow(/cut\.safetensors became shorter while it was read/);
    await expect(deferred!.readRanges([[deferred!.end - 384, deferred!.end]])).rejects.toThrow(/became shorter/);
  });

  it('rejects a missing file with its code', async () => {
    await expect(readCheckpoint(join(directory, 'missing.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
