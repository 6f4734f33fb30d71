/**
 * Property tests of the safetensors parser beyond random byte flips: structured mutations of
 * valid files (offsets, shapes, dtypes, missing and repeated fields, duplicate and tricky names,
 * metadata, the header length field, truncation, trailing bytes), each checked against a plain
 * validator (the oracle) and against the invariants every parse must keep: only SafetensorsError
 * is thrown, and an accepted file's tensors lie exactly inside its bytes, even when the file is a
 * view into a larger buffer. Plus regressions for what the fuzz script found.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_HEADER_LENGTH, parseSafetensors, SafetensorsError } from '../../src/model/safetensors.ts';
import {
  checkParse, embedInLargerBuffer, headerText, mutate, mutationArb, oracleAccepts, renderModel, tensorEntry, validModelArb,
  type FileModel,
} from './safetensors-fuzz-model.ts';

const RUNS = 1500;

describe('safetensors: valid files', () => {
  it('every generated valid file is accepted, with its tensors, whatever its alignment in memory', () => {
    fc.assert(
      fc.property(validModelArb, fc.integer({ min: 0, max: 7 }), (model, offset) => {
        expect(oracleAccepts(model)).toBe(true);
        const outcome = checkParse(embedInLargerBuffer(renderModel(model), offset));
        expect(outcome.accepted).toBe(true);
        if (!outcome.accepted) return;
        const names = model.header.filter(([key]) => key !== '__metadata__').map(([key]) => key);
        expect([...outcome.file.tensors.keys()].sort()).toEqual([...names].sort());
      }),
      { numRuns: RUNS },
    );
  });
});

describe('safetensors: structured mutations', () => {
  it('accepted exactly when the oracle accepts; never anything but SafetensorsError', () => {
    fc.assert(
      fc.property(validModelArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 3 }), (model, mutations, offset) => {
        const mutated = mutate(model, mutations);
        const outcome = checkParse(embedInLargerBuffer(renderModel(mutated), offset));
        if (outcome.accepted !== oracleAccepts(mutated)) {
          throw new Error(
            `parser ${outcome.accepted ? 'accepted' : `rejected (${outcome.code})`} but the oracle ${oracleAccepts(mutated) ? 'accepts' : 'rejects'}: ${headerText(mutated)} + ${mutated.dataLength} data bytes`,
          );
        }
      }),
      { numRuns: 4 * RUNS },
    );
  });

  it('a wrong header length field: rejected or consistent, never out of bounds', () => {
    fc.assert(
      fc.property(
        validModelArb,
        fc.oneof(
          fc.integer({ min: -16, max: 16 }).map((delta) => ({ delta })),
          fc.constantFrom(0n, 1n, 7n, BigInt(MAX_HEADER_LENGTH), BigInt(MAX_HEADER_LENGTH) + 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n).map((value) => ({ value })),
        ),
        (model, change) => {
          const headerLength = BigInt(new TextEncoder().encode(headerText(model)).length);
          const declared = 'value' in change ? change.value : headerLength + BigInt(change.delta);
          if (declared < 0n) return;
          checkParse(renderModel(model, declared));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('truncated anywhere, or with bytes appended: rejected or consistent', () => {
    fc.assert(
      fc.property(validModelArb, fc.nat(), fc.uint8Array({ maxLength: 9 }), (model, cutSeed, extra) => {
        const bytes = renderModel(model);
        const cut = cutSeed % (bytes.length + 1);
        checkParse(bytes.slice(0, cut));
        const longer = new Uint8Array(bytes.length + extra.length);
        longer.set(bytes);
        longer.set(extra, bytes.length);
        const outcome = checkParse(longer);
        if (extra.length > 0) expect(outcome.accepted).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('random byte edits inside the header and the length field', () => {
    fc.assert(
      fc.property(validModelArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (model, edits) => {
        const bytes = renderModel(model);
        const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
        for (const [at, value] of edits) bytes[at % headerEnd] = value;
        checkParse(bytes);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('safetensors: regressions from fuzzing', () => {
  /** A file with this exact header text and no data. */
  const file = (header: string): Uint8Array => {
    const text = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + text.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
    bytes.set(text, 8);
    return bytes;
  };

  // Deeply nested JSON in a field made the error message's description of the value overflow
  // the stack (RangeError instead of SafetensorsError).
  const deep = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
  it.each([
    ['shape', (d: string) => `{"t":{"dtype":"F32","shape":${d},"data_offsets":[0,0]}}`, 'INVALID_SHAPE'],
    ['data_offsets', (d: string) => `{"t":{"dtype":"F32","shape":[1],"data_offsets":${d}}}`, 'INVALID_OFFSETS'],
    ['dtype', (d: string) => `{"t":{"dtype":${d},"shape":[1],"data_offsets":[0,4]}}`, 'UNKNOWN_DTYPE'],
    ['the entry itself', (d: string) => `{"t":${d}}`, 'INVALID_TENSOR_ENTRY'],
    ['a metadata value', (d: string) => `{"__metadata__":{"k":${d}}}`, 'INVALID_METADATA'],
  ])('a deeply nested value in %s is a SafetensorsError', (_where, header, code) => {
    for (const depth of [10, 5_000, 100_000]) {
      let error: unknown;
      try {
        parseSafetensors(file(header(deep(depth))));
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(SafetensorsError);
      expect((error as SafetensorsError).code).toBe(code);
    }
  });

  it('prototype-named tensors are ordinary tensors', () => {
    const model: FileModel = {
      header: [
        ['__proto__', tensorEntry('F32', [1], 0, 4)],
        ['constructor', tensorEntry('U8', [2], 4, 6)],
        ['toString', tensorEntry('I64', [], 6, 14)],
      ],
      dataLength: 14,
      padBefore: '',
      padAfter: '',
    };
    const outcome = checkParse(renderModel(model));
    expect(outcome.accepted).toBe(true);
    if (outcome.accepted) expect([...outcome.file.tensors.keys()]).toEqual(['__proto__', 'constructor', 'toString']);
  });
});
