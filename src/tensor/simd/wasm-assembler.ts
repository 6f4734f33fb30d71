/**
 * A tiny WebAssembly assembler: just enough of the binary format to write the SIMD matmul kernel
 * in readable TypeScript instead of committing an opaque `.wasm` blob.
 *
 * It covers, following the WebAssembly core specification 2.0 (section numbers below are its own;
 * chapter 5 is "Binary Format") and the SIMD proposal's `BinarySIMD.md`:
 *   - LEB128 integers (unsigned and signed), vectors, names, sections;
 *   - a module made of: a type section, one imported memory (plain or shared), functions, exports;
 *   - the instructions the kernel uses, as "folded" expressions like WebAssembly text:
 *       i32.add(local.get(a), i32.const(4))   →   bytes of `local.get a; i32.const 4; i32.add`
 *     Each helper takes its operands' bytes and appends its own opcode, so the TypeScript reads
 *     in the same nested order as `(i32.add (local.get $a) (i32.const 4))`;
 *   - structured control flow (block, loop, if, br_if) with named labels, via `FunctionBuilder`.
 *
 * Left out on purpose: everything the kernel does not need (tables, globals, data and element
 * segments, multiple memories, a start function, custom sections, validation: the engine's
 * `WebAssembly.validate` is the validator). Opcodes are listed only for the instructions used.
 */

// ---------------------------------------------------------------------------------------------
// Integers and basic encodings (spec 5.2)
// ---------------------------------------------------------------------------------------------

/** Bytes of an instruction sequence, a section body or a whole module. */
export type Bytes = readonly number[];

/**
 * Unsigned LEB128 (spec 5.2.2, `u32`): 7 bits per byte, least significant group first, the high
 * bit of each byte set when more bytes follow. 624485 → E5 8E 26.
 */
export function encodeU32(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`encodeU32: ${value} is not an unsigned 32-bit integer`);
  }
  const bytes: number[] = [];
  let rest = value;
  do {
    const low7 = rest % 128;
    rest = Math.floor(rest / 128);
    bytes.push(rest === 0 ? low7 : low7 | 0x80);
  } while (rest !== 0);
  return bytes;
}

/**
 * Signed LEB128 (spec 5.2.2, `i32`): two's complement in 7-bit groups; stop once the remaining
 * value is all sign bits and the last group's bit 6 (its sign bit) agrees. −123456 → C0 BB 78.
 */
export function encodeI32(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
    throw new RangeError(`encodeI32: ${value} is not a signed 32-bit integer`);
  }
  const bytes: number[] = [];
  let rest = value;
  for (;;) {
    const low7 = rest & 0x7f;
    rest >>= 7; // arithmetic shift keeps the sign
    const signBitOfGroup = (low7 & 0x40) !== 0;
    const done = (rest === 0 && !signBitOfGroup) || (rest === -1 && signBitOfGroup);
    bytes.push(done ? low7 : low7 | 0x80);
    if (done) return bytes;
  }
}

/** A vector (spec 5.1.3): its length as u32, then the items. */
export function encodeVector(items: readonly Bytes[]): number[] {
  return [...encodeU32(items.length), ...items.flat()];
}

/** A name (spec 5.2.4): UTF-8 bytes as a vector. */
export function encodeName(text: string): number[] {
  return encodeVector([...new TextEncoder().encode(text)].map((byte) => [byte]));
}

/** Section ids (spec 5.5.2) of the sections this assembler writes. */
export const sectionId = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;

/** A section (spec 5.5.2): id byte, body size as u32, body. */
export function encodeSection(id: number, body: Bytes): number[] {
  return [id, ...encodeU32(body.length), ...body];
}

// ---------------------------------------------------------------------------------------------
// Types (spec 5.3)
// ---------------------------------------------------------------------------------------------

/** Value types: numbers (spec 5.3.1) and the SIMD vector type v128 (0x7B). */
export const valueType = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValueType = (typeof valueType)[keyof typeof valueType];

export interface FunctionType {
  readonly params: readonly ValueType[];
  readonly results: readonly ValueType[];
}

/** A function type (spec 5.3.6): 0x60, parameter vector, result vector. */
export function encodeFunctionType(type: FunctionType): number[] {
  return [
    0x60,
    ...encodeVector(type.params.map((t) => [t])),
    ...encodeVector(type.results.map((t) => [t])),
  ];
}

/** Memory size limits in 64 KiB pages. A shared memory (threads proposal) must have a maximum. */
export interface MemoryLimits {
  readonly minimumPages: number;
  readonly maximumPages?: number;
  readonly shared: boolean;
}

/**
 * Limits (spec 5.3.7, plus the threads proposal's shared flag):
 *   0x00 min  |  0x01 min max  |  0x03 min max (shared).
 */
export function encodeLimits(limits: MemoryLimits): number[] {
  const { minimumPages, maximumPages, shared } = limits;
  if (maximumPages === undefined) {
    if (shared) throw new RangeError('encodeLimits: a shared memory needs maximumPages');
    return [0x00, ...encodeU32(minimumPages)];
  }
  return [shared ? 0x03 : 0x01, ...encodeU32(minimumPages), ...encodeU32(maximumPages)];
}

// ---------------------------------------------------------------------------------------------
// Module (spec 5.5)
// ---------------------------------------------------------------------------------------------

export interface MemoryImport extends MemoryLimits {
  readonly module: string;
  readonly name: string;
}

export interface FunctionDefinition {
  readonly type: FunctionType;
  /** Locals after the parameters, in index order. */
  readonly locals: readonly ValueType[];
  /** The instructions, without the final `end`. */
  readonly body: Bytes;
  /** Exported under this name, or not exported. */
  readonly exportName?: string;
}

export interface ModuleDefinition {
  readonly memory: MemoryImport;
  /** Function index i is functions[i] (no functions are imported). */
  readonly functions: readonly FunctionDefinition[];
}

const magicAndVersion = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]; // "\0asm", version 1

/** Encodes a whole module: magic, version, then the type, import, function, export, code sections. */
export function encodeModule(module: ModuleDefinition): Uint8Array<ArrayBuffer> {
  // Distinct function types, in order of first use.
  const typeKeys: string[] = [];
  const types: FunctionType[] = [];
  const typeIndexOf = (type: FunctionType): number => {
    const key = JSON.stringify(type);
    let index = typeKeys.indexOf(key);
    if (index < 0) {
      index = typeKeys.push(key) - 1;
      types.push(type);
    }
    return index;
  };
  const functionTypeIndices = module.functions.map((f) => encodeU32(typeIndexOf(f.type)));

  const memoryImport = [
    ...encodeName(module.memory.module),
    ...encodeName(module.memory.name),
    0x02, // import kind: memory
    ...encodeLimits(module.memory),
  ];
  const exports = module.functions.flatMap((f, index) =>
    f.exportName === undefined ? [] : [[...encodeName(f.exportName), 0x00 /* kind: func */, ...encodeU32(index)]],
  );
  const bodies = module.functions.map(encodeFunctionBody);

  return new Uint8Array([
    ...magicAndVersion,
    ...encodeSection(sectionId.type, encodeVector(types.map(encodeFunctionType))),
    ...encodeSection(sectionId.import, encodeVector([memoryImport])),
    ...encodeSection(sectionId.function, encodeVector(functionTypeIndices)),
    ...(exports.length > 0 ? encodeSection(sectionId.export, encodeVector(exports)) : []),
    ...encodeSection(sectionId.code, encodeVector(bodies)),
  ]);
}

/** A code entry (spec 5.5.13): size, locals grouped into runs of one type, body, `end`. */
function encodeFunctionBody(definition: FunctionDefinition): number[] {
  const runs: { count: number; type: ValueType }[] = [];
  for (const type of definition.locals) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.type === type) last.count++;
    else runs.push({ count: 1, type });
  }
  const code = [
    ...encodeVector(runs.map((run) => [...encodeU32(run.count), run.type])),
    ...definition.body,
    opcode.end,
  ];
  return [...encodeU32(code.length), ...code];
}

// ---------------------------------------------------------------------------------------------
// Instructions (spec 5.4; SIMD: BinarySIMD.md)
// ---------------------------------------------------------------------------------------------

/** One-byte opcodes of the core instructions used here. */
export const opcode = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  brIf: 0x0d, call: 0x10, select: 0x1b,
  localGet: 0x20, localSet: 0x21,
  f32Load: 0x2a, f32Store: 0x38,
  i32Const: 0x41, f32Const: 0x43,
  i32Eq: 0x46, i32Ne: 0x47, i32LtU: 0x49, i32LeU: 0x4d, i32GeU: 0x4f,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71,
  f32Sqrt: 0x91, f32Add: 0x92, f32Mul: 0x94, f32Div: 0x95, f32Max: 0x97,
  f32ConvertI32S: 0xb2,
} as const;

/** SIMD instructions are the prefix byte 0xFD followed by this sub-opcode as a u32 LEB128. */
export const simdPrefix = 0xfd;
export const simdOpcode = {
  v128Load: 0x00, v128Load32Splat: 0x09, v128Store: 0x0b, v128Const: 0x0c, v128Load32Zero: 0x5c,
  f32x4Splat: 0x13, f32x4ExtractLane: 0x1f,
  f32x4Lt: 0x43, f32x4Gt: 0x44,
  v128And: 0x4e, v128Bitselect: 0x52,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab,
  f32x4Abs: 0xe0, f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Div: 0xe7, f32x4Min: 0xe8, f32x4Max: 0xe9,
} as const;

/** Block type "no result" (spec 5.4.1). */
const emptyBlockType = 0x40;

/** A memory access immediate (spec 5.4.6): log2 of the promised alignment, then a byte offset. */
function memarg(alignLog2: number, offset: number): number[] {
  return [...encodeU32(alignLog2), ...encodeU32(offset)];
}

function simd(sub: number): number[] {
  return [simdPrefix, ...encodeU32(sub)];
}

/** A local variable or parameter, by index. */
export interface Local {
  readonly index: number;
  readonly type: ValueType;
  readonly name: string;
}

export const local = {
  get: (l: Local): Bytes => [opcode.localGet, ...encodeU32(l.index)],
  set: (l: Local, value: Bytes): Bytes => [...value, opcode.localSet, ...encodeU32(l.index)],
};

export const i32 = {
  const: (value: number): Bytes => [opcode.i32Const, ...encodeI32(value)],
  add: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.i32Add],
  sub: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.i32Sub],
  mul: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.i32Mul],
  and: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.i32And],
  eq: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.i32Eq],
  ne: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.i32Ne],
  ltU: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.i32LtU],
  leU: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.i32LeU],
  geU: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.i32GeU],
};

/** `select(a, b, condition)`: a if condition ≠ 0, else b. */
export function select(a: Bytes, b: Bytes, condition: Bytes): Bytes {
  return [...a, ...b, ...condition, opcode.select];
}

export const f32 = {
  /** `f32.const`: the IEEE 754 single-precision bits, little-endian (spec 5.2.3). */
  const: (value: number): Bytes => {
    const bits = new DataView(new ArrayBuffer(4));
    bits.setFloat32(0, value, true);
    return [opcode.f32Const, ...new Uint8Array(bits.buffer)];
  },
  load: (address: Bytes, offset = 0): Bytes => [...address, opcode.f32Load, ...memarg(2, offset)],
  store: (address: Bytes, value: Bytes, offset = 0): Bytes => [
    ...address, ...value, opcode.f32Store, ...memarg(2, offset),
  ],
  add: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.f32Add],
  mul: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.f32Mul],
  div: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.f32Div],
  max: (a: Bytes, b: Bytes): Bytes => [...a, ...b, opcode.f32Max],
  sqrt: (a: Bytes): Bytes => [...a, opcode.f32Sqrt],
  /** The float32 nearest to a signed 32-bit integer. */
  fromI32: (a: Bytes): Bytes => [...a, opcode.f32ConvertI32S],
};

/**
 * v128 memory access. `alignLog2` is a promise to the engine about the address (4: 16-byte aligned,
 * 2: 4-byte aligned). It is only a hint: a wrong promise is still correct, at worst slower.
 */
export const v128 = {
  load: (address: Bytes, offset = 0, alignLog2 = 4): Bytes => [
    ...address, ...simd(simdOpcode.v128Load), ...memarg(alignLog2, offset),
  ],
  /** Loads one f32 and copies it to all four lanes. */
  load32Splat: (address: Bytes, offset = 0): Bytes => [
    ...address, ...simd(simdOpcode.v128Load32Splat), ...memarg(2, offset),
  ],
  /** Loads one f32 into lane 0 and zeros the other three lanes. */
  load32Zero: (address: Bytes, offset = 0): Bytes => [
    ...address, ...simd(simdOpcode.v128Load32Zero), ...memarg(2, offset),
  ],
  store: (address: Bytes, value: Bytes, offset = 0, alignLog2 = 4): Bytes => [
    ...address, ...value, ...simd(simdOpcode.v128Store), ...memarg(alignLog2, offset),
  ],
};

export const f32x4 = {
  /** `v128.const` with the same float32 in all four lanes. */
  const: (value: number): Bytes => {
    const lanes = new DataView(new ArrayBuffer(16));
    for (let lane = 0; lane < 4; lane++) lanes.setFloat32(lane * 4, value, true);
    return [...simd(simdOpcode.v128Const), ...new Uint8Array(lanes.buffer)];
  },
  splat: (value: Bytes): Bytes => [...value, ...simd(simdOpcode.f32x4Splat)],
  extractLane: (vector: Bytes, lane: number): Bytes => {
    if (!Number.isInteger(lane) || lane < 0 || lane > 3) throw new RangeError(`f32x4.extractLane: lane ${lane}`);
    return [...vector, ...simd(simdOpcode.f32x4ExtractLane), lane];
  },
  add: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(simdOpcode.f32x4Add)],
  sub: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(simdOpcode.f32x4Sub)],
  mul: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(simdOpcode.f32x4Mul)],
  div: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(simdOpcode.f32x4Div)],
  min: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(simdOpcode.f32x4Min)],
  max: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(simdOpcode.f32x4Max)],
  abs: (a: Bytes): Bytes => [...a, ...simd(simdOpcode.f32x4Abs)],
  /** Rounds each lane to the nearest integer, ties to even. */
  nearest: (a: Bytes): Bytes => [...a, ...simd(simdOpcode.f32x4Nearest)],
  /** Lane masks: all ones where a < b (resp. a > b), all zeros elsewhere. */
  lt: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(simdOpcode.f32x4Lt)],
  gt: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(simdOpcode.f32x4Gt)],
};

export const i32x4 = {
  /** `v128.const` with the same 32-bit integer in all four lanes. */
  const: (value: number): Bytes => {
    const lanes = new DataView(new ArrayBuffer(16));
    for (let lane = 0; lane < 4; lane++) lanes.setInt32(lane * 4, value | 0, true);
    return [...simd(simdOpcode.v128Const), ...new Uint8Array(lanes.buffer)];
  },
  /** Shifts each 32-bit lane left by `count` bits (an i32 operand). */
  shl: (a: Bytes, count: Bytes): Bytes => [...a, ...count, ...simd(simdOpcode.i32x4Shl)],
};

/** Bitwise operations on the 128 bits, whatever the lanes hold. */
export const bits128 = {
  and: (a: Bytes, b: Bytes): Bytes => [...a, ...b, ...simd(simdOpcode.v128And)],
  /** `v128.bitselect`: the bits of ifSet where mask is 1, of ifClear where it is 0 (a lane-wise select with compare masks). */
  select: (ifSet: Bytes, ifClear: Bytes, mask: Bytes): Bytes => [...ifSet, ...ifClear, ...mask, ...simd(simdOpcode.v128Bitselect)],
};

/** `call f(args...)`. */
export function call(functionIndex: number, args: readonly Bytes[]): Bytes {
  return [...args.flat(), opcode.call, ...encodeU32(functionIndex)];
}

// ---------------------------------------------------------------------------------------------
// Function builder: locals by name, structured control flow with named labels
// ---------------------------------------------------------------------------------------------

/**
 * Builds one function body. Straight-line code is appended with `emit(expression...)`; blocks,
 * loops and ifs take a callback that emits their inside. Branches name their target label and
 * the builder turns the name into the relative depth the binary format wants (spec 2.4.8:
 * `br_if 0` targets the innermost enclosing block).
 */
export class FunctionBuilder {
  private readonly params: Local[] = [];
  private readonly locals: Local[] = [];
  private readonly code: number[] = [];
  private readonly labels: string[] = []; // enclosing labels, innermost last

  constructor(
    paramSpecs: readonly { name: string; type: ValueType }[],
    private readonly results: readonly ValueType[] = [],
  ) {
    for (const { name, type } of paramSpecs) this.params.push({ index: this.params.length, type, name });
  }

  /** The parameter called `name`. */
  param(name: string): Local {
    const found = this.params.find((p) => p.name === name);
    if (found === undefined) throw new Error(`FunctionBuilder: no parameter "${name}"`);
    return found;
  }

  /** Declares a new local variable (zero-initialised by the engine). */
  local(name: string, type: ValueType): Local {
    const declared: Local = { index: this.params.length + this.locals.length, type, name };
    this.locals.push(declared);
    return declared;
  }

  /** Appends instructions. */
  emit(...instructions: Bytes[]): void {
    for (const instruction of instructions) this.code.push(...instruction);
  }

  /** Appends `l = value` (local.set). */
  set(l: Local, value: Bytes): void {
    this.emit(local.set(l, value));
  }

  /** Appends `l = l + by` for an i32 local (a pointer or counter step). */
  increment(l: Local, by: Bytes): void {
    this.set(l, i32.add(local.get(l), by));
  }

  /** `block $label ... end`: `br $label` jumps to after the end. */
  block(label: string, body: () => void): void {
    this.structured(opcode.block, label, body);
  }

  /** `loop $label ... end`: `br $label` jumps back to the start. */
  loop(label: string, body: () => void): void {
    this.structured(opcode.loop, label, body);
  }

  /** `if ... else ... end` on an i32 condition (its label cannot be a branch target here). */
  ifElse(condition: Bytes, then: () => void, otherwise?: () => void): void {
    this.emit(condition, [opcode.if, emptyBlockType]);
    this.labels.push('');
    then();
    if (otherwise !== undefined) {
      this.code.push(opcode.else);
      otherwise();
    }
    this.labels.pop();
    this.code.push(opcode.end);
  }

  /** `br_if $label` on an i32 condition. */
  brIf(label: string, condition: Bytes): void {
    this.emit(condition, [opcode.brIf, ...encodeU32(this.depthOf(label))]);
  }

  /** The finished function, ready for `encodeModule`. */
  finish(exportName?: string): FunctionDefinition {
    if (this.labels.length !== 0) throw new Error('FunctionBuilder: unclosed block');
    return {
      type: { params: this.params.map((p) => p.type), results: this.results },
      locals: this.locals.map((l) => l.type),
      body: [...this.code],
      ...(exportName === undefined ? {} : { exportName }),
    };
  }

  private structured(kind: number, label: string, body: () => void): void {
    this.code.push(kind, emptyBlockType);
    this.labels.push(label);
    body();
    this.labels.pop();
    this.code.push(opcode.end);
  }

  private depthOf(label: string): number {
    const position = this.labels.lastIndexOf(label);
    if (position < 0 || label === '') throw new Error(`FunctionBuilder: no enclosing label "${label}"`);
    return this.labels.length - 1 - position;
  }
}
