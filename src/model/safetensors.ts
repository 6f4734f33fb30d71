/**
 * safetensors: parse and validate a checkpoint file held in memory, read tensors out of it, and
 * write one.
 *
 * File layout (https://github.com/huggingface/safetensors):
 *
 *   [0, 8)          N, the header length: unsigned 64-bit little-endian integer
 *   [8, 8 + N)      the header: UTF-8 JSON object, may be padded with spaces
 *                     { "__metadata__": { "format": "pt" },            <- optional string -> string map
 *                       "<tensor name>": { "dtype": "F32", "shape": [384, 384],
 *                                          "data_offsets": [begin, end] }, ... }
 *   [8 + N, end)    the data section: every tensor's raw little-endian bytes, row-major,
 *                   data_offsets relative to the start of this section
 *
 * The validation follows the reference reader (huggingface/safetensors, `safetensors/src/tensor.rs`):
 * header length at most 100 MB and inside the file; valid UTF-8; a JSON object; known dtypes;
 * byte size = product(shape) x dtype size, without overflow; tensors sorted by offset start at 0,
 * follow each other with no gap and no overlap, and the last one ends exactly at the end of the
 * file. On top of that it rejects duplicate tensor names (JSON.parse would keep only the last one)
 * and duplicate keys inside an entry. Every failure is a SafetensorsError with its own code, and
 * names the tensor when one is to blame; nothing else is thrown, whatever the bytes.
 *
 * Reading: `readFloat32` returns a zero-copy view into the file when the tensor is F32 and its
 * absolute byte offset is a multiple of 4 (the alignment a Float32Array needs), a copy otherwise;
 * F16, BF16, F8 and F64 tensors are converted to float32. Views share memory with the file's bytes:
 * they live as long as, and change with, that buffer.
 *
 * Left out on purpose: memory mapping and streaming (the caller brings the bytes, however it got
 * them), big-endian hosts for zero-copy views (they get converted copies instead), and integer
 * tensors as floats (`readFloat32` refuses them rather than guess a meaning).
 * A lenient corner kept from JSON.parse: `2.0` and `2e0` are accepted as the integer 2 in shapes
 * and offsets (the reference reader accepts only `2`).
 */

import {
  decodeBFloat16,
  decodeFloat16,
  decodeFloat8E4M3,
  decodeFloat8E5M2,
} from './half-float.ts';

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

export type SafetensorsDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

/**
 * Bytes per element of each dtype. The key order is the reference writer's "alignment order"
 * (its Dtype enum); `serializeSafetensors` writes tensors from the last of these to the first.
 */
export const DTYPE_BYTE_SIZES: Readonly<Record<SafetensorsDType, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
});

const DTYPE_ORDER = Object.keys(DTYPE_BYTE_SIZES) as SafetensorsDType[];

export function isSafetensorsDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.hasOwn(DTYPE_BYTE_SIZES, value);
}

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) relative to the start of the data section, as written in the header. */
  dataOffsets: [number, number];
  /** Absolute offset of the first byte in the file (8 + header length + begin). */
  byteOffset: number;
  byteLength: number;
}

export interface SafetensorsFile {
  /** The whole file. Tensor views returned by the readers alias these bytes. */
  bytes: Uint8Array;
  /** N, the header length in bytes (the data section starts at 8 + N). */
  headerLength: number;
  /** Every tensor, in data-offset order. */
  tensors: Map<string, TensorInfo>;
  /** The header's `__metadata__` map, or {} when there is none. */
  metadata: Record<string, string>;
}

export type SafetensorsErrorCode =
  | 'INVALID_INPUT' //         the argument is not a Uint8Array / tensor list (API misuse)
  | 'FILE_TOO_SMALL' //        fewer than 8 bytes: no room for the header length
  | 'HEADER_TOO_LARGE' //      header length over 100 MB
  | 'HEADER_OUT_OF_BOUNDS' //  header length runs past the end of the file
  | 'INVALID_UTF8' //          header bytes are not UTF-8
  | 'INVALID_JSON' //          header text is not JSON
  | 'HEADER_NOT_OBJECT' //     header JSON is not an object
  | 'DUPLICATE_TENSOR' //      a tensor name appears twice
  | 'DUPLICATE_KEY' //         a key appears twice inside one entry
  | 'INVALID_METADATA' //      __metadata__ is not a string -> string map, or appears twice
  | 'INVALID_TENSOR_ENTRY' //  an entry is not an object, or lacks dtype / shape / data_offsets
  | 'UNKNOWN_DTYPE' //         dtype is not one of SafetensorsDType
  | 'INVALID_SHAPE' //         shape is not a list of non-negative integers
  | 'INVALID_OFFSETS' //       data_offsets is not [begin, end] with 0 <= begin <= end
  | 'SIZE_OVERFLOW' //         product(shape) x dtype size exceeds Number.MAX_SAFE_INTEGER
  | 'SIZE_MISMATCH' //         end - begin != product(shape) x dtype size
  | 'MISALIGNED_OFFSETS' //    tensors (sorted by offset) do not start at 0 or leave a gap
  | 'OVERLAPPING_TENSORS' //   a tensor starts before the previous one ends
  | 'OFFSETS_OUT_OF_BOUNDS' // a tensor ends past the end of the file
  | 'TRAILING_DATA' //         bytes left after the last tensor
  | 'TENSOR_NOT_FOUND' //      no tensor of that name
  | 'UNSUPPORTED_DTYPE'; //    the reader cannot return this dtype in the asked form

export class SafetensorsError extends Error {
  readonly code: SafetensorsErrorCode;
  readonly tensor?: string;

  constructor(code: SafetensorsErrorCode, message: string, tensor?: string) {
    super(message);
    this.name = 'SafetensorsError';
    this.code = code;
    if (tensor !== undefined) this.tensor = tensor;
  }
}

/** Same limit as the reference reader: a bigger header is taken as a corrupt length field. */
export const MAX_HEADER_LENGTH = 100_000_000;

/** Hosts whose typed arrays are little-endian can view file bytes directly (all common ones). */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** Parse and validate a whole safetensors file. No tensor data is copied. */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new SafetensorsError('INVALID_INPUT', 'safetensors: expected the file as a Uint8Array');
  }
  const headerLength = readHeaderLength(bytes);
  const header = decodeHeader(bytes, headerLength);
  const metadata = readMetadata(header);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries: TensorInfo[] = [];
  for (const name of Object.keys(header)) {
    if (name === '__metadata__') continue;
    entries.push(readTensorEntry(name, header[name], dataStart));
  }
  checkLayout(entries, dataLength);

  const tensors = new Map<string, TensorInfo>();
  for (const info of entries) tensors.set(info.name, info);
  return { bytes, headerLength, tensors, metadata };
}

function readHeaderLength(bytes: Uint8Array): number {
  if (bytes.length < 8) {
    throw new SafetensorsError(
      'FILE_TOO_SMALL',
      `safetensors: file is ${bytes.length} bytes, too short for the 8-byte header length`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_LENGTH)) {
    throw new SafetensorsError(
      'HEADER_TOO_LARGE',
      `safetensors: header length ${length} bytes exceeds the ${MAX_HEADER_LENGTH}-byte limit`,
    );
  }
  const headerLength = Number(length);
  if (8 + headerLength > bytes.length) {
    throw new SafetensorsError(
      'HEADER_OUT_OF_BOUNDS',
      `safetensors: header length ${headerLength} bytes runs past the end of the ${bytes.length}-byte file`,
    );
  }
  return headerLength;
}

/** UTF-8 -> JSON -> object, with a check for duplicate keys that JSON.parse would hide. */
function decodeHeader(bytes: Uint8Array, headerLength: number): Record<string, unknown> {
  let headerBytes = bytes.subarray(8, 8 + headerLength);
  // TextDecoder refuses views of shared memory in browsers; give it a private copy then.
  if (typeof SharedArrayBuffer !== 'undefined' && headerBytes.buffer instanceof SharedArrayBuffer) {
    headerBytes = headerBytes.slice();
  }
  let text: string;
  try {
    // fatal: reject invalid UTF-8 instead of inserting U+FFFD. ignoreBOM: keep a byte-order mark
    // as text, so that JSON.parse rejects it like the reference reader does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError('INVALID_UTF8', 'safetensors: header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text); // JSON whitespace (spaces of the padding included) is allowed around the object
  } catch (error) {
    const reason = error instanceof Error ? `: ${error.message}` : '';
    throw new SafetensorsError('INVALID_JSON', `safetensors: header is not valid JSON${reason}`);
  }
  if (!isJsonObject(header)) {
    const kind = header === null ? 'null' : Array.isArray(header) ? 'an array' : `a ${typeof header}`;
    throw new SafetensorsError('HEADER_NOT_OBJECT', `safetensors: header is ${kind}, not a JSON object`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    if (duplicate.key === '__metadata__' && duplicate.entry === undefined) {
      throw new SafetensorsError('INVALID_METADATA', 'safetensors: __metadata__ appears more than once in the header');
    }
    if (duplicate.entry === '__metadata__') {
      throw new SafetensorsError(
        'INVALID_METADATA',
        `safetensors: __metadata__ key "${duplicate.key}" appears more than once`,
      );
    }
    if (duplicate.entry === undefined) {
      throw new SafetensorsError(
        'DUPLICATE_TENSOR',
        `safetensors: tensor "${duplicate.key}" appears more than once in the header`,
        duplicate.key,
      );
    }
    throw new SafetensorsError(
      'DUPLICATE_KEY',
      `safetensors: key "${duplicate.key}" appears more than once in the entry of "${duplicate.entry}"`,
      duplicate.entry,
    );
  }
  return header;
}

function readMetadata(header: Record<string, unknown>): Record<string, string> {
  if (!Object.hasOwn(header, '__metadata__')) return {};
  const metadata = header['__metadata__'];
  if (metadata === null) return {}; // the reference reader treats null as "no metadata"
  if (!isJsonObject(metadata)) {
    throw new SafetensorsError('INVALID_METADATA', 'safetensors: __metadata__ is not an object of strings');
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new SafetensorsError(
        'INVALID_METADATA',
        `safetensors: __metadata__ value of "${key}" is ${describe(value)}, not a string`,
      );
    }
  }
  return metadata as Record<string, string>;
}

/** Check one header entry on its own: fields, dtype, shape, offsets, byte size. */
function readTensorEntry(name: string, entry: unknown, dataStart: number): TensorInfo {
  const fail = (code: SafetensorsErrorCode, problem: string): never => {
    throw new SafetensorsError(code, `safetensors: tensor "${name}": ${problem}`, name);
  };
  if (!isJsonObject(entry)) return fail('INVALID_TENSOR_ENTRY', `entry is ${describe(entry)}, not an object`);
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(entry, field)) fail('INVALID_TENSOR_ENTRY', `entry has no "${field}"`);
  }

  const dtype = entry['dtype'];
  if (!isSafetensorsDType(dtype)) return fail('UNKNOWN_DTYPE', `unknown dtype ${describe(dtype)}`);

  const shape = entry['shape'];
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    return fail('INVALID_SHAPE', `shape ${describe(shape)} is not a list of non-negative integers`);
  }

  const offsets = entry['data_offsets'];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    return fail('INVALID_OFFSETS', `data_offsets ${describe(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) return fail('INVALID_OFFSETS', `data_offsets [${begin}, ${end}] end before they begin`);

  // product(shape) x dtype size, refusing to go past 2^53 where integer arithmetic stops being exact.
  let elementCount = 1;
  for (const dim of shape as number[]) {
    elementCount *= dim;
    if (elementCount > Number.MAX_SAFE_INTEGER) {
      return fail('SIZE_OVERFLOW', `shape [${shape.join(', ')}] has more elements than can be counted exactly`);
    }
  }
  const expectedLength = elementCount * DTYPE_BYTE_SIZES[dtype];
  if (expectedLength > Number.MAX_SAFE_INTEGER) {
    return fail('SIZE_OVERFLOW', `shape [${shape.join(', ')}] of ${dtype} has more bytes than can be counted exactly`);
  }
  if (end - begin !== expectedLength) {
    return fail(
      'SIZE_MISMATCH',
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${dtype} [${shape.join(', ')}] needs ${expectedLength}`,
    );
  }
  return {
    name,
    dtype,
    shape: (shape as number[]).map((dim) => dim + 0), // + 0 turns a -0 into 0
    dataOffsets: [begin + 0, end + 0],
    byteOffset: dataStart + begin,
    byteLength: expectedLength,
  };
}

/**
 * The tensors must tile the data section exactly: sorted by offset (the order in the header is
 * free), the first starts at 0, each starts where the previous one ended, the last ends at the end
 * of the file. Sorts `entries` in place.
 */
function checkLayout(entries: TensorInfo[], dataLength: number): void {
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let previous: TensorInfo | undefined;
  let covered = 0; // bytes of the data section covered so far
  for (const info of entries) {
    const [begin, end] = info.dataOffsets;
    if (end > dataLength) {
      throw new SafetensorsError(
        'OFFSETS_OUT_OF_BOUNDS',
        `safetensors: tensor "${info.name}": data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data section`,
        info.name,
      );
    }
    if (begin > covered) {
      const after = previous === undefined ? 'the data section starts at 0' : `"${previous.name}" ends at ${covered}`;
      throw new SafetensorsError(
        'MISALIGNED_OFFSETS',
        `safetensors: tensor "${info.name}" starts at offset ${begin}, but ${after}: ${begin - covered} bytes unaccounted for`,
        info.name,
      );
    }
    if (begin < covered) {
      throw new SafetensorsError(
        'OVERLAPPING_TENSORS',
        `safetensors: tensor "${info.name}" starts at offset ${begin}, inside "${previous?.name}" which ends at ${covered}`,
        info.name,
      );
    }
    covered = end;
    previous = info;
  }
  if (covered !== dataLength) {
    const last = previous === undefined ? 'no tensor' : `the last tensor, "${previous.name}", ends at ${covered}`;
    throw new SafetensorsError(
      'TRAILING_DATA',
      `safetensors: the data section is ${dataLength} bytes but ${last}: ${dataLength - covered} bytes left over`,
      previous?.name,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Duplicate keys. JSON.parse keeps the last of two equal keys silently, so after it has accepted
// the text we walk the text once more, tracking the keys of every open object. The text is known
// to be valid JSON, which keeps the walk small: a string followed by ':' is a key; everything that
// is not a string, a bracket or a brace can be stepped over. Iterative, so deep nesting is harmless.
// ---------------------------------------------------------------------------------------------

interface DuplicateKey {
  key: string;
  /** The top-level key (tensor name) whose entry holds the duplicate; undefined at top level. */
  entry: string | undefined;
}

function findDuplicateKey(text: string): DuplicateKey | undefined {
  const openObjects: Array<Set<string> | null> = []; // one per open container; null for arrays
  let currentTopLevelKey: string | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = endOfString(text, i);
      let j = end;
      while (j < text.length && isJsonWhitespace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === 0x3a /* : */) {
        const raw = text.slice(i, end);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        const keys = openObjects[openObjects.length - 1];
        if (keys) {
          if (keys.has(key)) {
            return { key, entry: openObjects.length === 1 ? undefined : currentTopLevelKey };
          }
          keys.add(key);
        }
        if (openObjects.length === 1) currentTopLevelKey = key;
      }
      i = end;
      continue;
    }
    if (c === 0x7b /* { */) openObjects.push(new Set());
    else if (c === 0x5b /* [ */) openObjects.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) openObjects.pop();
    i++;
  }
  return undefined;
}

/** Index just past the closing quote of the string literal that opens at `start`. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i += 2;
    else if (c === 0x22 /* " */) return i + 1;
    else i++;
  }
  return text.length;
}

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Short description of a JSON value for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Too deeply nested for JSON.stringify; String() would recurse just as deep (arrays join
    // their elements), so name only the kind of value.
    text = Array.isArray(value) ? 'a deeply nested array' : typeof value === 'object' ? 'a deeply nested object' : typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Reading tensors
// ---------------------------------------------------------------------------------------------

export function getTensorInfo(file: SafetensorsFile, name: string): TensorInfo {
  const info = file.tensors.get(name);
  if (info === undefined) {
    throw new SafetensorsError('TENSOR_NOT_FOUND', `safetensors: no tensor named "${name}" in the file`, name);
  }
  return info;
}

/** The raw little-endian bytes of a tensor (a view, never a copy). */
export function readTensorBytes(file: SafetensorsFile, name: string): Uint8Array {
  const info = getTensorInfo(file, name);
  return file.bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength);
}

/**
 * A floating-point tensor as float32 values, flat in row-major order.
 * F32 at a 4-byte aligned address: a view sharing the file's memory. F32 elsewhere: a copy.
 * F16, BF16, F8_E5M2, F8_E4M3, F64: a converted copy (F64 rounded to nearest float32).
 * Integer and boolean dtypes: a SafetensorsError naming the tensor.
 */
export function readFloat32(file: SafetensorsFile, name: string): Float32Array {
  const info = getTensorInfo(file, name);
  const bytes = file.bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength);
  const elementCount = info.byteLength / DTYPE_BYTE_SIZES[info.dtype];
  switch (info.dtype) {
    case 'F32': {
      if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
        return new Float32Array(bytes.buffer, bytes.byteOffset, elementCount);
      }
      return copyLittleEndian(bytes, new Float32Array(elementCount), 4, (view, at) => view.getFloat32(at, true));
    }
    case 'F64': {
      const out = new Float32Array(elementCount);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < elementCount; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'F16':
      return convert(bytes, elementCount, decodeFloat16);
    case 'BF16':
      return convert(bytes, elementCount, decodeBFloat16);
    case 'F8_E5M2':
      return convert(bytes, elementCount, decodeFloat8E5M2);
    case 'F8_E4M3':
      return convert(bytes, elementCount, decodeFloat8E4M3);
    default:
      throw new SafetensorsError(
        'UNSUPPORTED_DTYPE',
        `safetensors: tensor "${name}" has dtype ${info.dtype}, which is not a floating-point type`,
        name,
      );
  }
}

/** An I64 tensor as a BigInt64Array: a view when 8-byte aligned, a copy otherwise. */
export function readBigInt64(file: SafetensorsFile, name: string): BigInt64Array {
  const info = getTensorInfo(file, name);
  if (info.dtype !== 'I64') {
    throw new SafetensorsError(
      'UNSUPPORTED_DTYPE',
      `safetensors: tensor "${name}" has dtype ${info.dtype}, expected I64`,
      name,
    );
  }
  const bytes = file.bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength);
  const elementCount = info.byteLength / 8;
  if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 8 === 0) {
    return new BigInt64Array(bytes.buffer, bytes.byteOffset, elementCount);
  }
  return copyLittleEndian(bytes, new BigInt64Array(elementCount), 8, (view, at) => view.getBigInt64(at, true));
}

function convert(
  bytes: Uint8Array,
  elementCount: number,
  decode: (bytes: Uint8Array, out: Float32Array) => void,
): Float32Array {
  const out = new Float32Array(elementCount);
  decode(bytes, out);
  return out;
}

/**
 * Copy little-endian elements into a fresh typed array. On a little-endian host this is one byte
 * copy (fast path); the plain version, used on big-endian hosts, reads element by element.
 */
function copyLittleEndian<T extends Float32Array | BigInt64Array>(
  bytes: Uint8Array,
  out: T,
  bytesPerElement: number,
  readElement: (view: DataView, at: number) => T[number],
): T {
  if (HOST_IS_LITTLE_ENDIAN) {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = readElement(view, i * bytesPerElement);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Row-major elements; typed arrays are written in host byte order (little-endian in practice). */
  data: Uint8Array | Float32Array | BigInt64Array;
}

/**
 * Write a safetensors file. Tensors are laid out like the reference writer does: by dtype from the
 * widest (U64, I64, F64) to the narrowest, then by name (UTF-8 byte order). Since the header is
 * padded with spaces to a multiple of 8 bytes, the data section starts 8-byte aligned and every
 * tensor then starts at a multiple of its own element size, so readers can take views of all of
 * them. The header is compact JSON: `__metadata__` first (when given), then the tensors.
 */
export function serializeSafetensors(
  tensors: TensorToWrite[],
  metadata?: Record<string, string>,
): Uint8Array {
  if (!Array.isArray(tensors)) {
    throw new SafetensorsError('INVALID_INPUT', 'safetensors: expected an array of tensors to write');
  }
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  const prepared = tensors.map((tensor) => {
    const { name, dtype, shape, data } = tensor;
    const fail = (code: SafetensorsErrorCode, problem: string): never => {
      throw new SafetensorsError(code, `safetensors: cannot write tensor "${name}": ${problem}`, name);
    };
    if (typeof name !== 'string' || name === '__metadata__') {
      fail('INVALID_INPUT', 'the name must be a string other than "__metadata__"');
    }
    if (seen.has(name)) fail('DUPLICATE_TENSOR', 'the name is used twice');
    seen.add(name);
    if (!isSafetensorsDType(dtype)) return fail('UNKNOWN_DTYPE', `unknown dtype ${describe(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
      return fail('INVALID_SHAPE', `shape ${describe(shape)} is not a list of non-negative integers`);
    }
    const elementCount = shape.reduce((product, dim) => product * dim, 1);
    const expectedLength = elementCount * DTYPE_BYTE_SIZES[dtype];
    if (!Number.isSafeInteger(expectedLength)) fail('SIZE_OVERFLOW', 'the tensor is too large');
    if (
      !(data instanceof Uint8Array || data instanceof Float32Array || data instanceof BigInt64Array)
    ) {
      return fail('INVALID_INPUT', 'data must be a Uint8Array, Float32Array or BigInt64Array');
    }
    const dataBytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (dataBytes.length !== expectedLength) {
      fail('SIZE_MISMATCH', `${dataBytes.length} data bytes given, ${dtype} [${shape.join(', ')}] needs ${expectedLength}`);
    }
    return { name, dtype, shape, dataBytes, nameBytes: encoder.encode(name) };
  });

  prepared.sort(
    (a, b) =>
      DTYPE_ORDER.indexOf(b.dtype) - DTYPE_ORDER.indexOf(a.dtype) || compareBytes(a.nameBytes, b.nameBytes),
  );

  const headerParts: string[] = [];
  if (metadata !== undefined) {
    if (!isJsonObject(metadata) || !Object.values(metadata).every((value) => typeof value === 'string')) {
      throw new SafetensorsError('INVALID_METADATA', 'safetensors: metadata must map strings to strings');
    }
    headerParts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let dataLength = 0;
  for (const tensor of prepared) {
    const begin = dataLength;
    dataLength += tensor.dataBytes.length;
    const entry = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [begin, dataLength] };
    headerParts.push(`${JSON.stringify(tensor.name)}:${JSON.stringify(entry)}`);
  }
  const headerText = `{${headerParts.join(',')}}`;
  const unpadded = encoder.encode(headerText);
  const headerLength = Math.ceil(unpadded.length / 8) * 8;

  const file = new Uint8Array(8 + headerLength + dataLength);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerLength), true);
  file.set(unpadded, 8);
  file.fill(0x20 /* space */, 8 + unpadded.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const tensor of prepared) {
    file.set(tensor.dataBytes, at);
    at += tensor.dataBytes.length;
  }
  return file;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}
