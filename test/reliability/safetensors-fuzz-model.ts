/**
 * A model of safetensors files for property tests and the fuzz script: valid files described as
 * data, structured mutations of them (offsets, shapes, dtypes, fields, duplicate names, metadata,
 * header length, truncation), a plain independent validator (the oracle) that says whether a
 * described file is valid, and the invariant checks every parse must pass.
 *
 * The header is kept as ordered (key, raw JSON text) pairs rather than a JS object, so duplicate
 * keys, `-0`, `2.0`, `1e2` and numbers past 2^53 survive into the bytes exactly as written.
 *
 * No vitest here: failures are thrown as plain Errors, so scripts/fuzz.ts can use it too.
 */
import fc from 'fast-check';
import {
  DTYPE_BYTE_SIZES, MAX_HEADER_LENGTH, parseSafetensors, readBigInt64, readFloat32, readTensorBytes, SafetensorsError,
  type SafetensorsDType, type SafetensorsFile,
} from '../../src/model/safetensors.ts';

export const DTYPES = Object.keys(DTYPE_BYTE_SIZES) as SafetensorsDType[];
const FLOAT_DTYPES = new Set<string>(['F32', 'F64', 'F16', 'BF16', 'F8_E5M2', 'F8_E4M3']);
const ERROR_CODES = new Set([
  'INVALID_INPUT', 'FILE_TOO_SMALL', 'HEADER_TOO_LARGE', 'HEADER_OUT_OF_BOUNDS', 'INVALID_UTF8', 'INVALID_JSON',
  'HEADER_NOT_OBJECT', 'DUPLICATE_TENSOR', 'DUPLICATE_KEY', 'INVALID_METADATA', 'INVALID_TENSOR_ENTRY', 'UNKNOWN_DTYPE',
  'INVALID_SHAPE', 'INVALID_OFFSETS', 'SIZE_OVERFLOW', 'SIZE_MISMATCH', 'MISALIGNED_OFFSETS', 'OVERLAPPING_TENSORS',
  'OFFSETS_OUT_OF_BOUNDS', 'TRAILING_DATA', 'TENSOR_NOT_FOUND', 'UNSUPPORTED_DTYPE',
]);

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

/** An entry written field by field: [field name, raw JSON text] (fields may repeat). */
export type EntryFields = Array<[string, string]>;

/** A top-level value: an entry written field by field, or any raw JSON text. */
export type HeaderValue = { fields: EntryFields } | { raw: string };

export interface FileModel {
  header: Array<[string, HeaderValue]>;
  /** Bytes in the data section. */
  dataLength: number;
  /** Whitespace written before and after the header object. */
  padBefore: string;
  padAfter: string;
}

export const tensorEntry = (dtype: string, shape: number[], begin: number, end: number): HeaderValue => ({
  fields: [
    ['dtype', JSON.stringify(dtype)],
    ['shape', JSON.stringify(shape)],
    ['data_offsets', JSON.stringify([begin, end])],
  ],
});

/** Names that have bitten JSON-based parsers: prototype keys, empty, escapes, non-ASCII, near __metadata__. */
const TRICKY_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', ' ', '__metadata__ ', '"quoted"', 'back\\slash', 'ünï', '\u0000', '\ud800', 'a.b.c'];

const nameArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(...TRICKY_NAMES) },
);

const shapeArb = fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 });

/** A valid file: unique names, every tensor's bytes laid out back to back in a random order. */
export const validModelArb: fc.Arbitrary<FileModel> = fc
  .record({
    tensors: fc.uniqueArray(fc.record({ name: nameArb, dtype: fc.constantFrom(...DTYPES), shape: shapeArb }), {
      selector: (t) => t.name,
      maxLength: 6,
    }),
    order: fc.array(fc.nat(), { maxLength: 6 }),
    metadata: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }), { nil: undefined }),
    metadataFirst: fc.boolean(),
    padBefore: fc.constantFrom('', ' ', '\n', '\t '),
    padAfter: fc.constantFrom('', ' ', '       ', '\r\n'),
  })
  .map(({ tensors, order, metadata, metadataFirst, padBefore, padAfter }) => {
    const usable = tensors.filter((t) => t.name !== '__metadata__');
    // Lay tensors out in a permuted order (offset order need not follow header order).
    const layout = usable.map((_, i) => i).sort((a, b) => (order[a] ?? a) - (order[b] ?? b) || a - b);
    const offsets = new Map<number, [number, number]>();
    let at = 0;
    for (const i of layout) {
      const t = usable[i]!;
      const bytes = t.shape.reduce((p, d) => p * d, 1) * DTYPE_BYTE_SIZES[t.dtype];
      offsets.set(i, [at, at + bytes]);
      at += bytes;
    }
    const header: Array<[string, HeaderValue]> = usable.map((t, i) => [t.name, tensorEntry(t.dtype, t.shape, ...offsets.get(i)!)]);
    if (metadata !== undefined) {
      const pair: [string, HeaderValue] = ['__metadata__', { raw: JSON.stringify(metadata) }];
      if (metadataFirst) header.unshift(pair);
      else header.push(pair);
    }
    return { header, dataLength: at, padBefore, padAfter };
  });

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/** Raw JSON numbers and values a corrupt or hostile header might hold. */
const NUMBER_TEXTS = [
  '0', '-0', '1', '2', '3', '4', '7', '8', '16', '24', '2.0', '1e1', '1E0', '-1', '0.5', '1.5', '-0.0',
  '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740991', '9007199254740992', '9007199254740993',
  '18446744073709551615', '18446744073709551616', '1e300', '1e400', '-1e400', '123456789012345678901234567890',
];
const rawNumberArb = fc.oneof(fc.constantFrom(...NUMBER_TEXTS), fc.integer({ min: -4, max: 200 }).map(String));
export const rawValueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: rawNumberArb },
  { weight: 1, arbitrary: fc.constantFrom('null', 'true', 'false', '""', '"F32"', '"f32"', '"8"', '{}', '[]', '[[]]', '[[1]]', '{"a":1}') },
  { weight: 2, arbitrary: fc.array(rawNumberArb, { maxLength: 4 }).map((items) => `[${items.join(',')}]`) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
);
const dtypeTextArb = fc.oneof(
  fc.constantFrom(...DTYPES).map((d) => JSON.stringify(d)),
  fc.constantFrom('"f32"', '"F128"', '"FLOAT"', '"F32 "', '"Q4_0"', '""', '"F8_E4M3FN"', '"__proto__"', '"toString"', '32', 'null', '["F32"]'),
);

export type Mutation =
  | { kind: 'field'; index: number; field: 'dtype' | 'shape' | 'data_offsets'; raw: string }
  | { kind: 'dropField'; index: number; field: 'dtype' | 'shape' | 'data_offsets' }
  | { kind: 'duplicateField'; index: number; field: string; raw: string }
  | { kind: 'extraField'; index: number; field: string; raw: string }
  | { kind: 'entryRaw'; index: number; raw: string }
  | { kind: 'duplicateName'; index: number; sameValue: boolean }
  | { kind: 'rename'; index: number; name: string }
  | { kind: 'removeTensor'; index: number }
  | { kind: 'swapOffsets'; a: number; b: number }
  | { kind: 'shiftOffsets'; index: number; delta: number }
  | { kind: 'metadata'; raw: string }
  | { kind: 'dataLength'; delta: number };

const fieldArb = fc.constantFrom('dtype' as const, 'shape' as const, 'data_offsets' as const);
const indexArb = fc.nat(7);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('field' as const), index: indexArb, field: fc.constant('data_offsets' as const), raw: rawValueArb }),
  fc.record({ kind: fc.constant('field' as const), index: indexArb, field: fc.constant('shape' as const), raw: rawValueArb }),
  fc.record({ kind: fc.constant('field' as const), index: indexArb, field: fc.constant('dtype' as const), raw: dtypeTextArb }),
  fc.record({ kind: fc.constant('dropField' as const), index: indexArb, field: fieldArb }),
  fc.record({ kind: fc.constant('duplicateField' as const), index: indexArb, field: fieldArb, raw: rawValueArb }),
  fc.record({ kind: fc.constant('extraField' as const), index: indexArb, field: fc.constantFrom('extra', 'offsets', 'dtype ', '__proto__'), raw: rawValueArb }),
  fc.record({ kind: fc.constant('entryRaw' as const), index: indexArb, raw: rawValueArb }),
  fc.record({ kind: fc.constant('duplicateName' as const), index: indexArb, sameValue: fc.boolean() }),
  fc.record({ kind: fc.constant('rename' as const), index: indexArb, name: nameArb }),
  fc.record({ kind: fc.constant('removeTensor' as const), index: indexArb }),
  fc.record({ kind: fc.constant('swapOffsets' as const), a: indexArb, b: indexArb }),
  fc.record({ kind: fc.constant('shiftOffsets' as const), index: indexArb, delta: fc.integer({ min: -9, max: 9 }) }),
  fc.record({ kind: fc.constant('metadata' as const), raw: fc.oneof(rawValueArb, fc.constant('{"a":"b","c":1}'), fc.constant('{"a":["b"]}')) }),
  fc.record({ kind: fc.constant('dataLength' as const), delta: fc.integer({ min: -9, max: 9 }) }),
);

function cloneModel(model: FileModel): FileModel {
  return {
    ...model,
    header: model.header.map(([key, value]) => [key, 'fields' in value ? { fields: value.fields.map(([f, r]) => [f, r] as [string, string]) } : { raw: value.raw }]),
  };
}

/** Applies mutations to a copy of `model` (indices wrap around the tensors present; no tensor: no-op). */
export function mutate(model: FileModel, mutations: readonly Mutation[]): FileModel {
  const out = cloneModel(model);
  for (const m of mutations) {
    const entries = out.header.filter(([key]) => key !== '__metadata__');
    const pick = (index: number): [string, HeaderValue] | undefined => (entries.length === 0 ? undefined : entries[index % entries.length]);
    const fieldsOf = (index: number): EntryFields | undefined => {
      const pair = pick(index);
      return pair !== undefined && 'fields' in pair[1] ? pair[1].fields : undefined;
    };
    switch (m.kind) {
      case 'field': {
        const fields = fieldsOf(m.index);
        const at = fields?.findIndex(([f]) => f === m.field) ?? -1;
        if (fields && at >= 0) fields[at] = [m.field, m.raw];
        break;
      }
      case 'dropField': {
        const fields = fieldsOf(m.index);
        const at = fields?.findIndex(([f]) => f === m.field) ?? -1;
        if (fields && at >= 0) fields.splice(at, 1);
        break;
      }
      case 'duplicateField':
      case 'extraField':
        fieldsOf(m.index)?.push([m.field, m.raw]);
        break;
      case 'entryRaw': {
        const pair = pick(m.index);
        if (pair) pair[1] = { raw: m.raw };
        break;
      }
      case 'duplicateName': {
        const pair = pick(m.index);
        if (pair) out.header.push([pair[0], m.sameValue ? cloneModel({ ...out, header: [pair] }).header[0]![1] : { raw: '{}' }]);
        break;
      }
      case 'rename': {
        const pair = pick(m.index);
        if (pair) pair[0] = m.name;
        break;
      }
      case 'removeTensor': {
        const pair = pick(m.index);
        if (pair) out.header.splice(out.header.indexOf(pair), 1);
        break;
      }
      case 'swapOffsets': {
        const a = fieldsOf(m.a);
        const b = fieldsOf(m.b);
        const ia = a?.findIndex(([f]) => f === 'data_offsets') ?? -1;
        const ib = b?.findIndex(([f]) => f === 'data_offsets') ?? -1;
        if (a && b && ia >= 0 && ib >= 0) [a[ia], b[ib]] = [b[ib]!, a[ia]!];
        break;
      }
      case 'shiftOffsets': {
        const fields = fieldsOf(m.index);
        const at = fields?.findIndex(([f]) => f === 'data_offsets') ?? -1;
        if (fields && at >= 0) {
          const value = safeParse(fields[at]![1]);
          if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) {
            fields[at] = ['data_offsets', `[${value[0] + m.delta},${value[1] + m.delta}]`];
          }
        }
        break;
      }
      case 'metadata': {
        const at = out.header.findIndex(([key]) => key === '__metadata__');
        if (at >= 0) out.header[at] = ['__metadata__', { raw: m.raw }];
        else out.header.push(['__metadata__', { raw: m.raw }]);
        break;
      }
      case 'dataLength':
        out.dataLength = Math.max(0, out.dataLength + m.delta);
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------------------------

export function headerText(model: FileModel): string {
  const pairs = model.header.map(([key, value]) => {
    const text = 'fields' in value ? `{${value.fields.map(([f, raw]) => `${JSON.stringify(f)}:${raw}`).join(',')}}` : value.raw;
    return `${JSON.stringify(key)}:${text}`;
  });
  return `${model.padBefore}{${pairs.join(',')}}${model.padAfter}`;
}

/** The file's bytes: 8-byte length (the true one unless `declaredLength`), header, data (pattern bytes). */
export function renderModel(model: FileModel, declaredLength?: bigint): Uint8Array {
  const header = new TextEncoder().encode(headerText(model));
  const bytes = new Uint8Array(8 + header.length + model.dataLength);
  new DataView(bytes.buffer).setBigUint64(0, declaredLength ?? BigInt(header.length), true);
  bytes.set(header, 8);
  for (let i = 8 + header.length; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 0xff;
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// The oracle: the format's rules, written plainly over the model
// ---------------------------------------------------------------------------------------------

function safeParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return Symbol.for('unparseable');
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Whether a file written from `model` (with its true header length) is valid safetensors. */
export function oracleAccepts(model: FileModel): boolean {
  const headerBytes = new TextEncoder().encode(headerText(model)).length;
  if (headerBytes > MAX_HEADER_LENGTH) return false;
  const seen = new Set<string>();
  const spans: Array<[number, number]> = [];
  for (const [key, value] of model.header) {
    if (seen.has(key)) return false; // a duplicate name, __metadata__ included
    seen.add(key);
    if (key === '__metadata__') {
      if ('fields' in value) {
        // An entry renamed to __metadata__: valid metadata only if its fields are distinct strings.
        const names = new Set(value.fields.map(([field]) => field));
        if (names.size !== value.fields.length || !value.fields.every(([, raw]) => typeof safeParse(raw) === 'string')) return false;
        continue;
      }
      const metadata = safeParse(value.raw);
      if (metadata === null) continue;
      if (!isPlainObject(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) return false;
      continue;
    }
    let fields: Map<string, unknown>;
    if ('fields' in value) {
      fields = new Map();
      for (const [field, raw] of value.fields) {
        if (fields.has(field)) return false; // a duplicate key inside the entry
        fields.set(field, safeParse(raw));
      }
    } else {
      const entry = safeParse(value.raw);
      if (!isPlainObject(entry)) return false;
      fields = new Map(Object.entries(entry));
    }
    const dtype = fields.get('dtype');
    const shape = fields.get('shape');
    const offsets = fields.get('data_offsets');
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTE_SIZES, dtype)) return false;
    if (!Array.isArray(shape) || !shape.every(isCount)) return false;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) return false;
    const [begin, end] = offsets as [number, number];
    if (end < begin) return false;
    let bytes = DTYPE_BYTE_SIZES[dtype as SafetensorsDType];
    let elements = 1;
    for (const dim of shape as number[]) {
      elements *= dim;
      if (elements > Number.MAX_SAFE_INTEGER) return false;
    }
    bytes *= elements;
    if (bytes > Number.MAX_SAFE_INTEGER || end - begin !== bytes) return false;
    spans.push([begin, end]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end] of spans) {
    if (begin !== covered) return false;
    covered = end;
  }
  return covered === model.dataLength;
}

// ---------------------------------------------------------------------------------------------
// What every parse must satisfy
// ---------------------------------------------------------------------------------------------

export type ParseOutcome = { accepted: true; file: SafetensorsFile } | { accepted: false; code: string };

/**
 * Parses `bytes` and checks: nothing but a SafetensorsError (with a known code and a message) is
 * thrown; an accepted file's tensors tile its data section exactly, inside the bytes; every
 * reader returns exactly the tensor's bytes or elements, equal to an independent decoding.
 */
export function checkParse(bytes: Uint8Array): ParseOutcome {
  let file: SafetensorsFile;
  try {
    file = parseSafetensors(bytes);
  } catch (error) {
    if (!(error instanceof SafetensorsError)) {
      throw new Error(`parseSafetensors threw ${describeError(error)} instead of a SafetensorsError`, { cause: error });
    }
    if (!ERROR_CODES.has(error.code)) throw new Error(`unknown SafetensorsError code ${error.code}`);
    if (typeof error.message !== 'string' || !error.message.startsWith('safetensors:')) throw new Error(`bad message: ${error.message}`);
    return { accepted: false, code: error.code };
  }
  const dataStart = 8 + file.headerLength;
  if (!(dataStart <= bytes.length)) throw new Error(`header length ${file.headerLength} runs past the file`);
  let at = dataStart;
  for (const info of file.tensors.values()) {
    const elements = info.shape.reduce((p, d) => p * d, 1);
    if (info.byteOffset !== at) throw new Error(`tensor "${info.name}" starts at ${info.byteOffset}, expected ${at}`);
    if (info.byteLength !== elements * DTYPE_BYTE_SIZES[info.dtype]) throw new Error(`tensor "${info.name}" byteLength ${info.byteLength} != shape × size`);
    at += info.byteLength;
    if (at > bytes.length) throw new Error(`tensor "${info.name}" ends at ${at}, past the ${bytes.length}-byte file`);
    const raw = readTensorBytes(file, info.name);
    if (raw.length !== info.byteLength) throw new Error(`readTensorBytes("${info.name}") gave ${raw.length} bytes, expected ${info.byteLength}`);
    if (FLOAT_DTYPES.has(info.dtype)) {
      const values = readFloat32(file, info.name);
      if (values.length !== elements) throw new Error(`readFloat32("${info.name}") gave ${values.length} values, expected ${elements}`);
      if (info.dtype === 'F32') {
        const view = new DataView(bytes.buffer, bytes.byteOffset + info.byteOffset, info.byteLength);
        for (let i = 0; i < elements; i++) {
          const expected = view.getFloat32(4 * i, true);
          if (!Object.is(values[i], expected) && !(Number.isNaN(values[i]) && Number.isNaN(expected))) {
            throw new Error(`readFloat32("${info.name}")[${i}] = ${values[i]}, but the file holds ${expected}`);
          }
        }
      }
    } else if (info.dtype === 'I64') {
      const values = readBigInt64(file, info.name);
      if (values.length !== elements) throw new Error(`readBigInt64("${info.name}") gave ${values.length} values, expected ${elements}`);
    } else {
      try {
        readFloat32(file, info.name);
        throw new Error(`readFloat32 accepted the ${info.dtype} tensor "${info.name}"`);
      } catch (error) {
        if (!(error instanceof SafetensorsError) || error.code !== 'UNSUPPORTED_DTYPE') throw error;
      }
    }
  }
  if (at !== bytes.length) throw new Error(`tensors end at ${at} but the file has ${bytes.length} bytes`);
  return { accepted: true, file };
}

/** `bytes` copied into a larger buffer at `offset`, surrounded by 0xFF bytes (NaN if read as float). */
export function embedInLargerBuffer(bytes: Uint8Array, offset: number): Uint8Array {
  const buffer = new Uint8Array(offset + bytes.length + 16).fill(0xff);
  buffer.set(bytes, offset);
  return buffer.subarray(offset, offset + bytes.length);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.slice(0, 200)}`;
  return String(error);
}
