/**
 * safetensors reader and writer: round trips, the reference writer's byte layout, alignment
 * (views vs copies), dtype conversion, and one malformed file per validation rule, each checked
 * for its error code and for naming the tensor at fault.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { float16ToNumber } from '../../src/model/half-float.ts';
import {
  MAX_HEADER_LENGTH,
  parseSafetensors,
  readBigInt64,
  readFloat32,
  readTensorBytes,
  SafetensorsError,
  serializeSafetensors,
  type SafetensorsErrorCode,
} from '../../src/model/safetensors.ts';

// ---------------------------------------------------------------------------------------------
// Helpers: build files by hand, byte by byte, independently of the writer under test.
// ---------------------------------------------------------------------------------------------

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** 8-byte little-endian length (the real one unless `declaredLength` is given), header, data. */
function rawFile(
  header: string | Uint8Array,
  data: Uint8Array | number = 0,
  declaredLength?: bigint,
): Uint8Array {
  const headerBytes = typeof header === 'string' ? utf8(header) : header;
  const dataBytes = typeof data === 'number' ? new Uint8Array(data) : data;
  const file = new Uint8Array(8 + headerBytes.length + dataBytes.length);
  new DataView(file.buffer).setBigUint64(0, declaredLength ?? BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  file.set(dataBytes, 8 + headerBytes.length);
  return file;
}

/** A header entry as JSON text. */
function entry(dtype: unknown, shape: unknown, offsets: unknown): string {
  return JSON.stringify({ dtype, shape, data_offsets: offsets });
}

/** Pad `header` with trailing spaces so the data section starts at an address = `residue` mod 8. */
function padHeader(header: string, residue: number): string {
  let padded = header;
  while ((8 + utf8(padded).length) % 8 !== residue) padded += ' ';
  return padded;
}

function float32Bytes(values: number[]): Uint8Array {
  const bytes = new Uint8Array(4 * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setFloat32(4 * i, value, true));
  return bytes;
}

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

/** Parse must fail with `code`; when `tensor` is given the error and its message must name it. */
function expectParseError(file: Uint8Array, code: SafetensorsErrorCode, tensor?: string): SafetensorsError {
  const error = catchError(() => parseSafetensors(file));
  expect(error).toBeInstanceOf(SafetensorsError);
  const safetensorsError = error as SafetensorsError;
  expect(safetensorsError.code).toBe(code);
  if (tensor !== undefined) {
    expect(safetensorsError.tensor).toBe(tensor);
    expect(safetensorsError.message).toContain(`"${tensor}"`);
  }
  return safetensorsError;
}

// ---------------------------------------------------------------------------------------------
// Round trips and layout
// ---------------------------------------------------------------------------------------------

describe('serializeSafetensors + parseSafetensors round trip', () => {
  const f32 = Float32Array.from([1.5, -2.25, 3e-8, 1e30, -0, 7]);
  const i64 = BigInt64Array.from([0n, -1n, 9007199254740993n, -(2n ** 63n)]);
  const u8 = Uint8Array.from([1, 2, 3]);
  const f16 = Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]); // 1, -2, 2^-24
  const f64 = new Uint8Array(Float64Array.from([Math.PI, -1e-300]).buffer);
  const tensors = [
    { name: 'weights.f32', dtype: 'F32' as const, shape: [2, 3], data: f32 },
    { name: 'ids', dtype: 'I64' as const, shape: [4], data: i64 },
    { name: 'mask', dtype: 'U8' as const, shape: [3], data: u8 },
    { name: 'half', dtype: 'F16' as const, shape: [3], data: f16 },
    { name: 'double', dtype: 'F64' as const, shape: [1, 2], data: f64 },
    { name: 'flags', dtype: 'BOOL' as const, shape: [1], data: Uint8Array.from([1]) },
    { name: 'empty', dtype: 'F32' as const, shape: [0, 5], data: new Float32Array(0) },
    { name: 'scalar', dtype: 'F32' as const, shape: [], data: Float32Array.from([42]) },
  ];
  const bytes = serializeSafetensors(tensors, { format: 'pt', note: 'ünïcode "quoted"' });
  const file = parseSafetensors(bytes);

  it('keeps every tensor, its dtype, shape and bytes, and the metadata', () => {
    expect(file.tensors.size).toBe(tensors.length);
    for (const tensor of tensors) {
      const info = file.tensors.get(tensor.name)!;
      expect(info.dtype).toBe(tensor.dtype);
      expect(info.shape).toEqual(tensor.shape);
      expect(info.byteLength).toBe(tensor.data.byteLength);
      expect(readTensorBytes(file, tensor.name)).toEqual(
        new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
      );
    }
    expect(file.metadata).toEqual({ format: 'pt', note: 'ünïcode "quoted"' });
    expect(Array.from(readFloat32(file, 'weights.f32'))).toEqual(Array.from(f32));
    expect(Object.is(readFloat32(file, 'weights.f32')[4], -0)).toBe(true);
    expect(Array.from(readBigInt64(file, 'ids'))).toEqual(Array.from(i64));
    expect(Array.from(readFloat32(file, 'half'))).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(readFloat32(file, 'double'))).toEqual([Math.fround(Math.PI), Math.fround(-1e-300)]);
    expect(readFloat32(file, 'empty').length).toBe(0);
    expect(Array.from(readFloat32(file, 'scalar'))).toEqual([42]);
  });

  it('pads the header with spaces to 8 bytes and aligns every tensor to its element size', () => {
    expect(file.headerLength % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + file.headerLength));
    expect(headerText).toMatch(/} *$/);
    const elementSize = { F32: 4, I64: 8, U8: 1, F16: 2, F64: 8, BOOL: 1 } as Record<string, number>;
    for (const info of file.tensors.values()) {
      expect(info.byteOffset % elementSize[info.dtype]).toBe(0);
      expect(info.byteOffset).toBe(8 + file.headerLength + info.dataOffsets[0]);
    }
  });

  it('lists tensors in data-offset order, which is widest dtype first, then by name', () => {
    expect([...file.tensors.keys()]).toEqual([
      'ids', 'double', 'empty', 'scalar', 'weights.f32', 'half', 'mask', 'flags',
    ]);
  });

  it('writes the same bytes as the reference writer on its own test vectors', () => {
    // From the reference crate's tests (huggingface/safetensors, safetensors/src/tensor.rs).
    const data = float32Bytes([0, 1, 2, 3, 4, 5]);
    const header1 = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header1.length).toBe(64); // already a multiple of 8: no padding
    expect(serializeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data }])).toEqual(
      rawFile(header1, data),
    );
    const header2 = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ';
    expect(header2.length).toBe(72);
    expect(serializeSafetensors([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], data }])).toEqual(
      rawFile(header2, data),
    );
    expect(serializeSafetensors([])).toEqual(rawFile('{}      '));
    expect(serializeSafetensors([], { framework: 'pt' })).toEqual(rawFile('{"__metadata__":{"framework":"pt"}}     '));
  });

  it('refuses to write inconsistent tensors', () => {
    const write = (tensor: object) => catchError(() => serializeSafetensors([tensor as never]));
    const data = new Float32Array(4);
    expect(write({ name: 'a', dtype: 'F32', shape: [3], data })).toMatchObject({ code: 'SIZE_MISMATCH', tensor: 'a' });
    expect(write({ name: 'a', dtype: 'F31', shape: [4], data })).toMatchObject({ code: 'UNKNOWN_DTYPE', tensor: 'a' });
    expect(write({ name: 'a', dtype: 'F32', shape: [-4], data })).toMatchObject({ code: 'INVALID_SHAPE', tensor: 'a' });
    expect(write({ name: '__metadata__', dtype: 'F32', shape: [4], data })).toMatchObject({ code: 'INVALID_INPUT' });
    const twice = { name: 'a', dtype: 'F32' as const, shape: [4], data };
    expect(catchError(() => serializeSafetensors([twice, twice]))).toMatchObject({ code: 'DUPLICATE_TENSOR', tensor: 'a' });
    expect(catchError(() => serializeSafetensors([], { a: 1 as never }))).toMatchObject({ code: 'INVALID_METADATA' });
  });
});

describe('parseSafetensors on hand-written files', () => {
  it('accepts tensors listed in any order and returns them in offset order', () => {
    const header = `{"b":${entry('F32', [2], [8, 16])},"a":${entry('F32', [2], [0, 8])}}`;
    const file = parseSafetensors(rawFile(header, float32Bytes([1, 2, 3, 4])));
    expect([...file.tensors.keys()]).toEqual(['a', 'b']);
    expect(file.metadata).toEqual({});
    expect(file.headerLength).toBe(utf8(header).length);
  });

  it('accepts a header padded with leading and trailing whitespace', () => {
    const body = `{"w":${entry('F32', [2], [0, 8])}}`;
    for (const header of [`   ${body}      `, `\n\t ${body}\r\n `, body]) {
      const file = parseSafetensors(rawFile(header, float32Bytes([5, 6])));
      expect(Array.from(readFloat32(file, 'w'))).toEqual([5, 6]);
    }
  });

  it('accepts an empty file (no tensors) and null metadata', () => {
    expect(parseSafetensors(rawFile('{}')).tensors.size).toBe(0);
    expect(parseSafetensors(rawFile('{"__metadata__":null}')).metadata).toEqual({});
  });

  it('accepts zero-size tensors anywhere, even sharing an offset', () => {
    const header = `{"z1":${entry('F32', [0], [8, 8])},"w":${entry('F32', [2], [0, 8])},"z2":${entry('I64', [3, 0], [8, 8])},"z0":${entry('U8', [0], [0, 0])}}`;
    const file = parseSafetensors(rawFile(header, 8));
    expect(file.tensors.size).toBe(4);
    expect(readFloat32(file, 'z1').length).toBe(0);
  });

  it('reads names the key scanner must not be fooled by: quotes, braces, colons, escapes', () => {
    const names = ['a":{"b', 'x}{[', 'back\\slash', 'tab\there', 'émoji 😀', '__proto__', ''];
    const tensors = names.map((name) => ({ name, dtype: 'U8' as const, shape: [1], data: Uint8Array.from([7]) }));
    const file = parseSafetensors(serializeSafetensors(tensors, { '"w":': '{"w": {' }));
    expect([...file.tensors.keys()].sort()).toEqual([...names].sort());
    expect(file.metadata['"w":']).toBe('{"w": {');
  });

  it('takes Node Buffers and subarrays at any byte offset', () => {
    const bytes = serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [3], data: Float32Array.from([1, 2, 3]) }]);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    for (const input of [Buffer.from(bytes), shifted.subarray(3)]) {
      expect(Array.from(readFloat32(parseSafetensors(input), 'w'))).toEqual([1, 2, 3]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Alignment: zero-copy views where possible, identical copies elsewhere
// ---------------------------------------------------------------------------------------------

describe('alignment', () => {
  const values = [0.5, -1.25, 3, Math.fround(1e-7), 65504, -0];

  it('an F32 tensor at a 4-aligned offset is a view sharing the file buffer', () => {
    const header = padHeader(`{"w":${entry('F32', [6], [0, 24])}}`, 4);
    const bytes = rawFile(header, float32Bytes(values));
    const file = parseSafetensors(bytes);
    expect(file.tensors.get('w')!.byteOffset % 4).toBe(0);
    const w = readFloat32(file, 'w');
    expect(w.buffer).toBe(bytes.buffer);
    expect(Array.from(w)).toEqual(values);
    bytes[file.tensors.get('w')!.byteOffset + 3] ^= 0x80; // flip the sign of w[0] in the file
    expect(w[0]).toBe(-0.5);
  });

  it('an F32 tensor at an unaligned offset is a copy with identical values', () => {
    const header = padHeader(`{"w":${entry('F32', [6], [0, 24])}}`, 1);
    const bytes = rawFile(header, float32Bytes(values));
    const file = parseSafetensors(bytes);
    expect(file.tensors.get('w')!.byteOffset % 4).not.toBe(0);
    const w = readFloat32(file, 'w');
    expect(w.buffer).not.toBe(bytes.buffer);
    expect(Array.from(w)).toEqual(values);
    expect(Object.is(w[5], -0)).toBe(true);
  });

  it('alignment is judged on the absolute address: an aligned file inside a buffer at offset 2 is copied', () => {
    const aligned = rawFile(padHeader(`{"w":${entry('F32', [6], [0, 24])}}`, 0), float32Bytes(values));
    const holder = new Uint8Array(aligned.length + 2);
    holder.set(aligned, 2);
    const w = readFloat32(parseSafetensors(holder.subarray(2)), 'w');
    expect(w.buffer).not.toBe(holder.buffer);
    expect(Array.from(w)).toEqual(values);
  });

  it('I64 tensors: a view when 8-aligned, a copy otherwise', () => {
    const ids = BigInt64Array.from([1n, -2n, 2n ** 62n]);
    const data = new Uint8Array(ids.buffer);
    const aligned = rawFile(padHeader(`{"ids":${entry('I64', [3], [0, 24])}}`, 0), data);
    const unaligned = rawFile(padHeader(`{"ids":${entry('I64', [3], [0, 24])}}`, 4), data);
    const view = readBigInt64(parseSafetensors(aligned), 'ids');
    const copy = readBigInt64(parseSafetensors(unaligned), 'ids');
    expect(view.buffer).toBe(aligned.buffer);
    expect(copy.buffer).not.toBe(unaligned.buffer);
    expect(Array.from(view)).toEqual(Array.from(ids));
    expect(Array.from(copy)).toEqual(Array.from(ids));
  });

  it('F16 and BF16 tensors are upcast to float32, also at odd offsets', () => {
    const halfBits = [0x3c00, 0xc000, 0x0001, 0x7bff, 0xfc00, 0x8000];
    const bfBits = [0x3f80, 0xc040, 0x0001, 0x7f7f, 0xff80, 0x8000];
    const toBytes = (bits: number[]) => Uint8Array.from(bits.flatMap((b) => [b & 0xff, b >>> 8]));
    const header = padHeader(`{"h":${entry('F16', [6], [0, 12])},"b":${entry('BF16', [2, 3], [12, 24])}}`, 3);
    const data = new Uint8Array(24);
    data.set(toBytes(halfBits), 0);
    data.set(toBytes(bfBits), 12);
    const file = parseSafetensors(rawFile(header, data));
    expect(file.tensors.get('h')!.byteOffset % 2).toBe(1);
    expect(Array.from(readFloat32(file, 'h'))).toEqual(halfBits.map(float16ToNumber));
    const expectedBf = bfBits.map((bits) => new Float32Array(new Uint32Array([bits << 16]).buffer)[0]);
    expect(Array.from(readFloat32(file, 'b'))).toEqual(expectedBf);
  });
});

// ---------------------------------------------------------------------------------------------
// Validation: one malformed file per rule
// ---------------------------------------------------------------------------------------------

describe('validation errors', () => {
  const ok8 = float32Bytes([1, 2]); // 8 bytes of data for an F32 [2] tensor

  it('FILE_TOO_SMALL: fewer than 8 bytes', () => {
    for (let n = 0; n < 8; n++) expectParseError(new Uint8Array(n), 'FILE_TOO_SMALL');
  });

  it('HEADER_TOO_LARGE: header length over 100 MB, up to 2^64 - 1', () => {
    expectParseError(rawFile('{}', 0, BigInt(MAX_HEADER_LENGTH + 1)), 'HEADER_TOO_LARGE');
    expectParseError(rawFile('{}', 0, 2n ** 64n - 1n), 'HEADER_TOO_LARGE');
    expectParseError(rawFile('{}', 0, 2n ** 32n), 'HEADER_TOO_LARGE');
  });

  it('HEADER_OUT_OF_BOUNDS: header length past the end of the file', () => {
    expectParseError(rawFile('{}', 0, 3n), 'HEADER_OUT_OF_BOUNDS');
    expectParseError(rawFile('{}', 0, BigInt(MAX_HEADER_LENGTH)), 'HEADER_OUT_OF_BOUNDS');
  });

  it('INVALID_UTF8: header bytes that are not UTF-8', () => {
    expectParseError(rawFile(Uint8Array.from([0x7b, 0xff, 0x7d])), 'INVALID_UTF8');
    expectParseError(rawFile(Uint8Array.from([0x7b, 0x22, 0xc3, 0x22, 0x7d])), 'INVALID_UTF8'); // truncated sequence
    expectParseError(rawFile(Uint8Array.from([0x7b, 0xed, 0xa0, 0x80, 0x7d])), 'INVALID_UTF8'); // encoded surrogate
  });

  it('INVALID_JSON: truncated, empty, trailing garbage, byte-order mark', () => {
    expectParseError(rawFile('{"w":'), 'INVALID_JSON');
    expectParseError(rawFile(''), 'INVALID_JSON');
    expectParseError(rawFile('{} x'), 'INVALID_JSON');
    expectParseError(rawFile('\ufeff{}'), 'INVALID_JSON');
    expectParseError(rawFile('{}\0\0'), 'INVALID_JSON'); // padding must be spaces, not zeros
  });

  it('HEADER_NOT_OBJECT: arrays, null, numbers, strings', () => {
    for (const header of ['[]', 'null', '42', '"text"', 'true']) expectParseError(rawFile(header), 'HEADER_NOT_OBJECT');
  });

  it('DUPLICATE_TENSOR: the same name twice, also when spelled with escapes', () => {
    const twice = `{"w":${entry('F32', [2], [0, 8])},"w":${entry('F32', [2], [8, 16])}}`;
    expectParseError(rawFile(twice, 16), 'DUPLICATE_TENSOR', 'w');
    const escaped = `{"w":${entry('F32', [2], [0, 8])},"\\u0077":${entry('F32', [2], [0, 8])}}`;
    expectParseError(rawFile(escaped, 8), 'DUPLICATE_TENSOR', 'w');
  });

  it('DUPLICATE_TENSOR is not fooled by look-alike keys inside strings and nested objects', () => {
    const header = `{"__metadata__":{"w":"\\"w\\":{","x":"}, \\"w\\": "},"w":${entry('F32', [2], [0, 8])}}`;
    expect(parseSafetensors(rawFile(header, ok8)).tensors.has('w')).toBe(true);
  });

  it('DUPLICATE_KEY: a field repeated inside an entry', () => {
    const header = `{"w":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}`;
    expectParseError(rawFile(header, ok8), 'DUPLICATE_KEY', 'w');
  });

  it('INVALID_METADATA: not an object of strings', () => {
    const w = `"w":${entry('F32', [2], [0, 8])}`;
    expectParseError(rawFile(`{"__metadata__":["pt"],${w}}`, ok8), 'INVALID_METADATA');
    expectParseError(rawFile(`{"__metadata__":"pt",${w}}`, ok8), 'INVALID_METADATA');
    expectParseError(rawFile(`{"__metadata__":{},${w},"__metadata__":{}}`, ok8), 'INVALID_METADATA');
    expectParseError(rawFile(`{"__metadata__":{"format":"pt","format":"np"},${w}}`, ok8), 'INVALID_METADATA');
    const error = expectParseError(rawFile(`{"__metadata__":{"format":"pt","epoch":3},${w}}`, ok8), 'INVALID_METADATA');
    expect(error.message).toContain('epoch');
  });

  it('INVALID_TENSOR_ENTRY: entry not an object, or a field missing', () => {
    expectParseError(rawFile('{"w":[1,2]}'), 'INVALID_TENSOR_ENTRY', 'w');
    expectParseError(rawFile('{"w":null}'), 'INVALID_TENSOR_ENTRY', 'w');
    expectParseError(rawFile('{"w":{"dtype":"F32","data_offsets":[0,8]}}', ok8), 'INVALID_TENSOR_ENTRY', 'w');
    expectParseError(rawFile('{"w":{"shape":[2],"data_offsets":[0,8]}}', ok8), 'INVALID_TENSOR_ENTRY', 'w');
    expectParseError(rawFile('{"w":{"dtype":"F32","shape":[2]}}', ok8), 'INVALID_TENSOR_ENTRY', 'w');
  });

  it('UNKNOWN_DTYPE: unknown names, lower case, non-strings, Object.prototype keys', () => {
    for (const dtype of ['F33', 'f32', 'FLOAT', 5, null, 'toString', '__proto__']) {
      expectParseError(rawFile(`{"w":${entry(dtype, [2], [0, 8])}}`, ok8), 'UNKNOWN_DTYPE', 'w');
    }
  });

  it('INVALID_SHAPE: not a list of non-negative integers', () => {
    for (const shape of [[-1], [1.5], ['2'], [null], 2, null, { 0: 2 }, [1e300]]) {
      expectParseError(rawFile(`{"w":${entry('F32', shape, [0, 8])}}`, ok8), 'INVALID_SHAPE', 'w');
    }
  });

  it('INVALID_OFFSETS: not a pair of non-negative integers, or end before begin', () => {
    for (const offsets of [[0], [0, 8, 8], [-8, 0], [0, 8.5], ['0', '8'], 8, [8, 0], [0, 2 ** 53]]) {
      expectParseError(rawFile(`{"w":${entry('F32', [2], offsets)}}`, ok8), 'INVALID_OFFSETS', 'w');
    }
  });

  it('SIZE_OVERFLOW: element or byte counts beyond 2^53', () => {
    const shapes = [
      [2 ** 30, 2 ** 30, 2 ** 30], // 2^90 elements
      [2 ** 40, 2 ** 40, 0], // overflows before the 0, like the reference's checked multiply
      [2 ** 51], // 2^51 elements fit, 2^53 bytes of F32 do not
    ];
    for (const shape of shapes) {
      expectParseError(rawFile(`{"w":${entry('F32', shape, [0, 8])}}`, ok8), 'SIZE_OVERFLOW', 'w');
    }
  });

  it('SIZE_MISMATCH: byte span differs from product(shape) x dtype size', () => {
    expectParseError(rawFile(`{"w":${entry('F32', [2, 2], [0, 12])}}`, 12), 'SIZE_MISMATCH', 'w');
    expectParseError(rawFile(`{"w":${entry('F64', [2], [0, 8])}}`, 8), 'SIZE_MISMATCH', 'w');
    expectParseError(rawFile(`{"w":${entry('F32', [0], [0, 4])}}`, 4), 'SIZE_MISMATCH', 'w');
  });

  it('MISALIGNED_OFFSETS: first tensor not at 0, or a gap between tensors', () => {
    expectParseError(rawFile(`{"w":${entry('F32', [2], [4, 12])}}`, 12), 'MISALIGNED_OFFSETS', 'w');
    const gap = `{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [2], [12, 20])}}`;
    const error = expectParseError(rawFile(gap, 20), 'MISALIGNED_OFFSETS', 'b');
    expect(error.message).toContain('"a"');
  });

  it('OVERLAPPING_TENSORS: a tensor starts inside the previous one (sorted by offset)', () => {
    const header = `{"b":${entry('F32', [2], [4, 12])},"a":${entry('F32', [2], [0, 8])}}`;
    const error = expectParseError(rawFile(header, 12), 'OVERLAPPING_TENSORS', 'b');
    expect(error.message).toContain('"a"');
    const same = `{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [2], [0, 8])}}`;
    expectParseError(rawFile(same, 8), 'OVERLAPPING_TENSORS', 'b');
  });

  it('OFFSETS_OUT_OF_BOUNDS: a tensor ends past the end of the file', () => {
    expectParseError(rawFile(`{"w":${entry('F32', [4], [0, 16])}}`, 8), 'OFFSETS_OUT_OF_BOUNDS', 'w');
    const truncated = serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [4], data: new Float32Array(4) }]);
    expectParseError(truncated.subarray(0, truncated.length - 1), 'OFFSETS_OUT_OF_BOUNDS', 'w');
  });

  it('TRAILING_DATA: bytes left after the last tensor', () => {
    expectParseError(rawFile(`{"w":${entry('F32', [2], [0, 8])}}`, 12), 'TRAILING_DATA', 'w');
    expectParseError(rawFile('{}', 1), 'TRAILING_DATA');
  });

  it('readers: TENSOR_NOT_FOUND and UNSUPPORTED_DTYPE name the tensor', () => {
    const file = parseSafetensors(
      serializeSafetensors([
        { name: 'ids', dtype: 'I64', shape: [1], data: BigInt64Array.from([1n]) },
        { name: 'mask', dtype: 'U8', shape: [1], data: Uint8Array.from([1]) },
        { name: 'flag', dtype: 'BOOL', shape: [1], data: Uint8Array.from([1]) },
        { name: 'count', dtype: 'I32', shape: [1], data: Uint8Array.from([1, 0, 0, 0]) },
        { name: 'w', dtype: 'F32', shape: [1], data: Float32Array.from([1]) },
      ]),
    );
    const expectReadError = (run: () => unknown, code: SafetensorsErrorCode, tensor: string) => {
      const error = catchError(run) as SafetensorsError;
      expect(error).toBeInstanceOf(SafetensorsError);
      expect(error.code).toBe(code);
      expect(error.tensor).toBe(tensor);
      expect(error.message).toContain(`"${tensor}"`);
    };
    expectReadError(() => readFloat32(file, 'missing.weight'), 'TENSOR_NOT_FOUND', 'missing.weight');
    expectReadError(() => readBigInt64(file, 'missing'), 'TENSOR_NOT_FOUND', 'missing');
    for (const name of ['ids', 'mask', 'flag', 'count']) {
      expectReadError(() => readFloat32(file, name), 'UNSUPPORTED_DTYPE', name);
    }
    expectReadError(() => readBigInt64(file, 'w'), 'UNSUPPORTED_DTYPE', 'w');
  });

  it('INVALID_INPUT: not a Uint8Array', () => {
    expect(catchError(() => parseSafetensors(new ArrayBuffer(16) as never))).toMatchObject({ code: 'INVALID_INPUT' });
  });
});

// ---------------------------------------------------------------------------------------------
// Robustness: arbitrary bytes never throw anything but SafetensorsError
// ---------------------------------------------------------------------------------------------

describe('robustness', () => {
  const valid = serializeSafetensors(
    [
      { name: 'a', dtype: 'F32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      { name: 'b', dtype: 'I64', shape: [1], data: BigInt64Array.from([5n]) },
      { name: 'c', dtype: 'F16', shape: [3], data: new Uint8Array(6) },
    ],
    { format: 'pt' },
  );

  /** Parse; on success check the invariants a loader relies on. Any throw but SafetensorsError fails. */
  function parseOrReject(bytes: Uint8Array): void {
    let file;
    try {
      file = parseSafetensors(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(SafetensorsError);
      return;
    }
    let end = 8 + file.headerLength;
    for (const info of file.tensors.values()) {
      expect(info.byteOffset).toBe(end);
      end += info.byteLength;
      if (['F32', 'F16', 'BF16', 'F64', 'F8_E5M2', 'F8_E4M3'].includes(info.dtype)) readFloat32(file, info.name);
      if (info.dtype === 'I64') readBigInt64(file, info.name);
    }
    expect(end).toBe(bytes.length);
  }

  it('mutated valid files', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(valid.length),
        (edits, cut) => {
          const bytes = valid.slice(0, Math.max(cut, valid.length - 4));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          parseOrReject(bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('random bytes behind a plausible length, and random JSON headers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(80), (body, length) => {
        parseOrReject(rawFile(body, 0, BigInt(length)));
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.json(), fc.nat(32), (json, dataLength) => {
        parseOrReject(rawFile(json, dataLength));
      }),
      { numRuns: 1000 },
    );
  });
});
