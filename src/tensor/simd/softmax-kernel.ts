/**
 * Softmax over the rows of the SIMD attention's score matrix, four float32 lanes at a time, in
 * place: softmax(s)_j = exp(s_j − max s) / Σ_k exp(s_k − max s), as `softmax.ts` does.
 *
 * Why it exists: with the matmuls of attention in SIMD, `softmaxInPlace` (JavaScript, Math.exp
 * and float64 sums) took 11-12% of a forward pass on passages (L ≈ 128: 12 heads × L² exps per
 * sequence and layer). The plain one stays the reference, and the JS backends' softmax.
 *
 * Precision: exp is `emitExp` (about 1 ulp), its argument s − max is rounded to float32, and the
 * sum is accumulated in float32, in 4 lanes (each adds L/4 terms, then the lanes are added). For
 * the lengths attention runs (≤ 512), probabilities above 1e-6 stay within 4e-7 relative of the
 * float64 softmax (tested: < 1e-6), smaller ones within 1e-11; `softmaxInPlace`'s float32
 * outputs are within one rounding.
 *
 * softmax(address, rows, length): rows × length float32 values at `address` (4-byte aligned),
 * row after row. Every row must have a finite maximum (attention's rows do: no masked keys in a
 * packed batch). Per row: the maximum (vectors, then the last length mod 4 values one at a
 * time, splatted), the exponentials and their sum, then a multiplication by 1/sum.
 */

import { type Local, FunctionBuilder, f32, f32x4, i32, local, v128, valueType, type FunctionDefinition } from './wasm-assembler.ts';
import { softmaxExportName } from './kernel-interface.ts';
import { emitExp } from './vector-math.ts';

export function buildSoftmax(): FunctionDefinition {
  const { i32: I32, f32: F32, v128: V128 } = valueType;
  const fn = new FunctionBuilder([
    { name: 'address', type: I32 },
    { name: 'rows', type: I32 },
    { name: 'length', type: I32 },
  ]);
  const get = local.get;
  const address = fn.param('address');
  const rows = fn.param('rows');
  const length = fn.param('length');
  const rowStart = fn.local('rowStart', I32); //   &row[0]
  const rowEnd = fn.local('rowEnd', I32); //       &row[length]
  const vectorsEnd = fn.local('vectorsEnd', I32); // &row[length − length mod 4]
  const rowsEnd = fn.local('rowsEnd', I32); //     &rows[rows][0]
  const at = fn.local('at', I32); //               the value (or vector) being processed
  const maxLanes = fn.local('maxLanes', V128); //  running maximum, per lane
  const max = fn.local('max', V128); //            the row's maximum, in all lanes
  const sumLanes = fn.local('sumLanes', V128); //  running sum of exponentials, per lane
  const tailSum = fn.local('tailSum', F32); //     sum of the last length mod 4 exponentials
  const inverse = fn.local('inverse', F32); //     1 / sum
  const value = fn.local('value', V128);
  const expRegisters = { n: fn.local('expN', V128), r: fn.local('expR', V128) };

  /** A loop of `body` over the row's whole vectors, then of `tail` over its last values. */
  const overRow = (name: string, body: () => void, tail: () => void): void => {
    fn.set(at, get(rowStart));
    fn.block(`${name}VectorsDone`, () => {
      fn.brIf(`${name}VectorsDone`, i32.eq(get(at), get(vectorsEnd)));
      fn.loop(`${name}Vectors`, () => {
        body();
        fn.set(at, i32.add(get(at), i32.const(16)));
        fn.brIf(`${name}Vectors`, i32.ne(get(at), get(vectorsEnd)));
      });
    });
    fn.block(`${name}TailDone`, () => {
      fn.brIf(`${name}TailDone`, i32.eq(get(at), get(rowEnd)));
      fn.loop(`${name}Tail`, () => {
        tail();
        fn.set(at, i32.add(get(at), i32.const(4)));
        fn.brIf(`${name}Tail`, i32.ne(get(at), get(rowEnd)));
      });
    });
  };
  const lane = (vector: Local, i: number) => f32x4.extractLane(get(vector), i);

  fn.set(rowStart, get(address));
  fn.set(rowsEnd, i32.add(get(address), i32.mul(i32.mul(get(rows), get(length)), i32.const(4))));
  fn.block('rowsDone', () => {
    fn.brIf('rowsDone', i32.eq(get(rowStart), get(rowsEnd)));
    fn.loop('rows', () => {
      fn.set(rowEnd, i32.add(get(rowStart), i32.mul(get(length), i32.const(4))));
      fn.set(vectorsEnd, i32.add(get(rowStart), i32.mul(i32.and(get(length), i32.const(-4)), i32.const(4))));

      // 1. the maximum
      fn.set(maxLanes, f32x4.const(-Infinity));
      overRow(
        'max',
        () => fn.set(maxLanes, f32x4.max(get(maxLanes), v128.load(get(at), 0, 2))),
        () => fn.set(maxLanes, f32x4.max(get(maxLanes), v128.load32Splat(get(at)))),
      );
      fn.set(max, f32x4.splat(f32.max(f32.max(lane(maxLanes, 0), lane(maxLanes, 1)), f32.max(lane(maxLanes, 2), lane(maxLanes, 3)))));

      // 2. exp(s − max), stored, and summed
      fn.set(sumLanes, f32x4.const(0));
      fn.set(tailSum, f32.const(0));
      overRow(
        'exp',
        () => {
          emitExp(fn, expRegisters, value, f32x4.sub(v128.load(get(at), 0, 2), get(max)));
          fn.emit(v128.store(get(at), get(value), 0, 2));
          fn.set(sumLanes, f32x4.add(get(sumLanes), get(value)));
        },
        () => {
          emitExp(fn, expRegisters, value, f32x4.sub(v128.load32Splat(get(at)), get(max)));
          fn.emit(f32.store(get(at), lane(value, 0)));
          fn.set(tailSum, f32.add(get(tailSum), lane(value, 0)));
        },
      );
      const sum = f32.add(f32.add(f32.add(lane(sumLanes, 0), lane(sumLanes, 1)), f32.add(lane(sumLanes, 2), lane(sumLanes, 3))), get(tailSum));
      fn.set(inverse, f32.div(f32.const(1), sum));

      // 3. divide by the sum
      fn.set(value, f32x4.splat(get(inverse)));
      overRow(
        'scale',
        () => fn.emit(v128.store(get(at), f32x4.mul(v128.load(get(at), 0, 2), get(value)), 0, 2)),
        () => fn.emit(f32.store(get(at), f32.mul(f32.load(get(at)), get(inverse)))),
      );

      fn.set(rowStart, get(rowEnd));
      fn.brIf('rows', i32.ne(get(rowStart), get(rowsEnd)));
    });
  });
  return fn.finish(softmaxExportName);
}
