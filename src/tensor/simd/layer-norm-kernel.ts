/**
 * "Add & Norm" for the SIMD backend, four float32 lanes at a time:
 *
 *   out = LayerNorm(x + residual) = (v − mean(v)) / √(var(v) + eps) · γ + β,   v = x + residual
 *
 * the fused step of `layer-norm.ts` (`addLayerNorm`), which closes both halves of every BERT
 * layer. Why it exists: once GELU and softmax had moved into the kernel module, that JavaScript
 * loop (float64 sums) was the largest step left on the calling thread, 7-10% of a forward pass
 * on short sentences. The plain one stays the reference and the JS backends' Add & Norm.
 *
 * Precision: v is rounded to float32 (stored in `out` on the first pass), and mean and variance
 * are float32 sums in 4 lanes (dim/4 terms each), two passes as in `layer-norm.ts` (no
 * E[v²] − E[v]² cancellation). Outputs stay within 5e-7 of the float64 version, relative to
 * max(|y|, 1) (tested: < 1e-6 on widths 4 to 4096).
 *
 * addLayerNorm(out, x, residual, gamma, beta, rows, dim, eps): every pointer a byte address of
 * [rows, dim] (γ, β: [dim]) float32 values, 4-byte aligned; dim a multiple of 4. `out` may be
 * `x` or `residual` (each value is read before it is written).
 */

import { type Bytes, type Local, FunctionBuilder, f32, f32x4, i32, local, v128, valueType, type FunctionDefinition } from './wasm-assembler.ts';
import { addLayerNormExportName } from './kernel-interface.ts';

export function buildAddLayerNorm(): FunctionDefinition {
  const { i32: I32, f32: F32, v128: V128 } = valueType;
  const fn = new FunctionBuilder([
    { name: 'out', type: I32 },
    { name: 'x', type: I32 },
    { name: 'residual', type: I32 },
    { name: 'gamma', type: I32 },
    { name: 'beta', type: I32 },
    { name: 'rows', type: I32 },
    { name: 'dim', type: I32 },
    { name: 'eps', type: F32 },
  ]);
  const get = local.get;
  const out = fn.param('out'), x = fn.param('x'), residual = fn.param('residual');
  const gamma = fn.param('gamma'), beta = fn.param('beta'), rows = fn.param('rows'), dim = fn.param('dim');
  const eps = fn.param('eps');
  const rowBytes = fn.local('rowBytes', I32); //  dim · 4
  const outEnd = fn.local('outEnd', I32); //      &out[rows][0]
  const offset = fn.local('offset', I32); //      byte offset of the vector in the row
  const inverseDim = fn.local('inverseDim', F32); // 1 / dim
  const sumLanes = fn.local('sumLanes', V128); // running sums, per lane
  const mean = fn.local('mean', V128); //         in all lanes
  const inverseStd = fn.local('inverseStd', V128); // 1/√(var + eps), in all lanes
  const v = fn.local('v', V128);

  /** `body` for each vector of the row: offset = 0, 16, …, rowBytes − 16. */
  const overRow = (name: string, body: () => void): void => {
    fn.set(offset, i32.const(0));
    fn.loop(name, () => {
      body();
      fn.set(offset, i32.add(get(offset), i32.const(16)));
      fn.brIf(name, i32.ne(get(offset), get(rowBytes)));
    });
  };
  const lanesSum = (vector: Local): Bytes =>
    f32.add(f32.add(f32x4.extractLane(get(vector), 0), f32x4.extractLane(get(vector), 1)), f32.add(f32x4.extractLane(get(vector), 2), f32x4.extractLane(get(vector), 3)));
  const at = (base: Local): Bytes => i32.add(get(base), get(offset));

  fn.set(rowBytes, i32.mul(get(dim), i32.const(4)));
  fn.set(outEnd, i32.add(get(out), i32.mul(get(rows), get(rowBytes))));
  fn.set(inverseDim, f32.div(f32.const(1), f32.fromI32(get(dim))));
  fn.block('rowsDone', () => {
    fn.brIf('rowsDone', i32.eq(get(out), get(outEnd)));
    fn.loop('rows', () => {
      // 1. v = x + residual, into out; its sum
      fn.set(sumLanes, f32x4.const(0));
      overRow('add', () => {
        fn.set(v, f32x4.add(v128.load(at(x), 0, 2), v128.load(at(residual), 0, 2)));
        fn.emit(v128.store(at(out), get(v), 0, 2));
        fn.set(sumLanes, f32x4.add(get(sumLanes), get(v)));
      });
      fn.set(mean, f32x4.splat(f32.mul(lanesSum(sumLanes), get(inverseDim))));
      // 2. the sum of squared deviations
      fn.set(sumLanes, f32x4.const(0));
      overRow('deviations', () => {
        fn.set(v, f32x4.sub(v128.load(at(out), 0, 2), get(mean)));
        fn.set(sumLanes, f32x4.add(get(sumLanes), f32x4.mul(get(v), get(v))));
      });
      const variance = f32.mul(lanesSum(sumLanes), get(inverseDim));
      fn.set(inverseStd, f32x4.splat(f32.div(f32.const(1), f32.sqrt(f32.add(variance, get(eps))))));
      // 3. normalise, scale, shift
      overRow('normalize', () => {
        const normalized = f32x4.mul(f32x4.sub(v128.load(at(out), 0, 2), get(mean)), get(inverseStd));
        fn.emit(v128.store(at(out), f32x4.add(f32x4.mul(normalized, v128.load(at(gamma), 0, 2)), v128.load(at(beta), 0, 2)), 0, 2));
      });
      fn.set(out, i32.add(get(out), get(rowBytes)));
      fn.set(x, i32.add(get(x), get(rowBytes)));
      fn.set(residual, i32.add(get(residual), get(rowBytes)));
      fn.brIf('rows', i32.ne(get(out), get(outEnd)));
    });
  });
  return fn.finish(addLayerNormExportName);
}
