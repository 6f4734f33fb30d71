/**
 * The fast attention kernel against the plain one (bit for bit) and against attention written
 * straight from the formula (within 1e-6), over many shapes, masks and sequence offsets.
 */
import { describe, expect, it } from 'vitest';
import {
  AttentionShapeError,
  createAttentionScratch,
  multiHeadSelfAttention,
  type AttentionScratch,
} from '../../src/tensor/attention.ts';
import { multiHeadSelfAttentionFast } from '../../src/tensor/attention-fast.ts';
import { mulberry32 } from '../../src/model/synthetic.ts';
import { maxRelativeError, randomArray } from '../helpers/random.ts';

/** Per head, P = softmax(QKᵀ/√d + mask), out = PV, in float64 from the definition. */
function naiveAttention(qkv: Float32Array, start: number, length: number, heads: number, d: number, mask: Float32Array | null): Float64Array {
  const H = heads * d;
  const out = new Float64Array(length * H); // [L, H], rows of this sequence only
  const at = (t: number, part: number, h: number, c: number) => qkv[(start + t) * 3 * H + part * H + h * d + c]!;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < length; i++) {
      const s: number[] = [];
      for (let j = 0; j < length; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += at(i, 0, h, c) * at(j, 1, h, c);
        s.push(dot / Math.sqrt(d) + (mask ? mask[j]! : 0));
      }
      const max = Math.max(...s);
      const e = s.map((v) => Math.exp(v - max));
      const z = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < d; c++) {
        let sum = 0;
        for (let j = 0; j < length; j++) sum += (e[j]! / z) * at(j, 2, h, c);
        out[i * H + h * d + c] = sum;
      }
    }
  }
  return out;
}

/** A mask of 0s with −∞ on a random third of the keys (never all of them) and small finite values elsewhere. */
function randomMask(length: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const mask = new Float32Array(length + 3).fill(123); // longer than needed: only [0, L) may be read
  for (let j = 0; j < length; j++) {
    const u = next() / 4294967296;
    mask[j] = u < 0.33 && j > 0 ? -Infinity : u < 0.66 ? 0 : -2 * u;
  }
  return mask;
}

interface Case {
  heads: number;
  d: number;
  start: number;
  length: number;
  masked: boolean;
}

function run(kernel: typeof multiHeadSelfAttention, c: Case, qkv: Float32Array, mask: Float32Array | null, scratch: AttentionScratch) {
  const tokens = c.start + c.length + 2; // two rows after the sequence, which must stay untouched
  const context = new Float32Array(tokens * c.heads * c.d).fill(7);
  kernel(context, qkv, c.start, c.length, { numHeads: c.heads, headSize: c.d }, scratch, mask);
  return context;
}

/** Every probability the kernel reports, [A, L, L] in float64, and the context it computes meanwhile. */
function observedProbabilities(kernel: typeof multiHeadSelfAttention, c: Case, qkv: Float32Array, mask: Float32Array | null, scratch: AttentionScratch) {
  const L = c.length;
  const probabilities = new Float64Array(c.heads * L * L).fill(NaN);
  const context = new Float32Array((c.start + L) * c.heads * c.d);
  kernel(context, qkv, c.start, L, { numHeads: c.heads, headSize: c.d }, scratch, mask, (h, q, probs, n) => {
    expect(n).toBe(L);
    probabilities.set(probs.subarray(0, L), (h * L + q) * L);
  });
  return { probabilities, context };
}

/** Number of positions where two float arrays differ (Object.is: −0 ≠ 0, NaN = NaN). */
function countDifferences(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let differences = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) differences++;
  return differences;
}

const lengths = [1, 2, 3, 5, 17, 128, 300];
const layouts = [[1, 1], [4, 8], [12, 32], [3, 5]] as const; // [heads, d]; d = 5 leaves a partial value panel

describe('multiHeadSelfAttentionFast', () => {
  it('is bit-identical to the plain kernel for every length, head layout, mask and offset', () => {
    let seed = 1;
    for (const length of lengths) {
      for (const [heads, d] of layouts) {
        for (const masked of [false, true]) {
          const c: Case = { heads, d, start: (length % 3) + 1, length, masked };
          const H = heads * d;
          const qkv = randomArray((c.start + length + 2) * 3 * H, seed++, 2);
          const mask = masked ? randomMask(length, seed++) : null;
          const scratch = createAttentionScratch(length + 5, d); // longer than needed, like the model's
          const label = `L=${length} ${heads}x${d} mask=${masked}`;
          const plain = run(multiHeadSelfAttention, c, qkv, mask, scratch);
          const fast = run(multiHeadSelfAttentionFast, c, qkv, mask, scratch);
          expect(countDifferences(fast, plain), label).toBe(0);
          // The float64 probabilities too, which float32 rounding of the output could hide.
          const plainObserved = observedProbabilities(multiHeadSelfAttention, c, qkv, mask, scratch);
          const fastObserved = observedProbabilities(multiHeadSelfAttentionFast, c, qkv, mask, scratch);
          expect(countDifferences(fastObserved.probabilities, plainObserved.probabilities), label).toBe(0);
          expect(countDifferences(fastObserved.context, plainObserved.context), label).toBe(0);
          const H0 = c.start * H, H1 = (c.start + length) * H;
          expect(fast.subarray(0, H0).every((v) => v === 7), 'rows before the sequence untouched').toBe(true);
          expect(fast.subarray(H1).every((v) => v === 7), 'rows after the sequence untouched').toBe(true);
        }
      }
    }
  });

  it('matches attention from the definition within 1e-6', () => {
    let seed = 500;
    for (const length of [1, 2, 3, 5, 17, 40]) {
      for (const [heads, d] of layouts) {
        for (const masked of [false, true]) {
          const c: Case = { heads, d, start: 2, length, masked };
          const qkv = randomArray((c.start + length + 2) * 3 * heads * d, seed++, 2);
          const mask = masked ? randomMask(length, seed++) : null;
          const fast = run(multiHeadSelfAttentionFast, c, qkv, mask, createAttentionScratch(length, d));
          const rows = fast.subarray(c.start * heads * d, (c.start + length) * heads * d);
          expect(maxRelativeError(rows, naiveAttention(qkv, c.start, length, heads, d, mask)), `L=${length} ${heads}x${d}`).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('gives the same result with a reused scratch after a longer sequence (no stale padding)', () => {
    const heads = 2, d = 6, H = heads * d;
    const scratch = createAttentionScratch(64, d);
    const shape = { numHeads: heads, headSize: d };
    for (const length of [61, 7, 64, 1, 30]) {
      const qkv = randomArray(length * 3 * H, length, 3);
      const fresh = new Float32Array(length * H);
      const reused = new Float32Array(length * H);
      multiHeadSelfAttention(fresh, qkv, 0, length, shape, createAttentionScratch(length, d));
      multiHeadSelfAttentionFast(reused, qkv, 0, length, shape, scratch);
      expect(reused).toEqual(fresh);
    }
  });

  it('reports the same probabilities to an observer as the plain kernel, in the same order', () => {
    const heads = 3, d = 4, length = 9;
    const qkv = randomArray(length * 3 * heads * d, 77, 2);
    const mask = randomMask(length, 78);
    const record = (kernel: typeof multiHeadSelfAttention) => {
      const calls: string[] = [];
      kernel(new Float32Array(length * heads * d), qkv, 0, length, { numHeads: heads, headSize: d }, createAttentionScratch(length, d), mask,
        (h, q, probs, n) => calls.push(`${h}/${q}: ${Array.from(probs.subarray(0, n)).join(',')}`));
      return calls;
    };
    const fast = record(multiHeadSelfAttentionFast);
    expect(fast).toHaveLength(heads * length);
    expect(fast).toEqual(record(multiHeadSelfAttention));
  });

  it('refuses bad shapes and buffers with an AttentionShapeError naming the culprit', () => {
    const shape = { numHeads: 2, headSize: 4 };
    const qkv = new Float32Array(5 * 24);
    const context = new Float32Array(5 * 8);
    const scratch = createAttentionScratch(5, 4);
    const call = (overrides: Partial<{ context: Float32Array; qkv: Float32Array; start: number; length: number; headSize: number; scratch: AttentionScratch; mask: Float32Array }>) => () =>
      multiHeadSelfAttentionFast(
        overrides.context ?? context,
        overrides.qkv ?? qkv,
        overrides.start ?? 0,
        overrides.length ?? 5,
        { ...shape, headSize: overrides.headSize ?? 4 },
        overrides.scratch ?? scratch,
        overrides.mask ?? null,
      );
    expect(call({})).not.toThrow();
    expect(call({ qkv: new Float32Array(100) })).toThrow(/qkv has 100 floats/);
    expect(call({ context: new Float32Array(39) })).toThrow(/context has 39 floats/);
    expect(call({ start: 1 })).toThrow(/qkv/);
    expect(call({ length: 0 })).toThrow(AttentionShapeError);
    expect(call({ length: 2.5 })).toThrow(/length/);
    expect(call({ scratch: createAttentionScratch(4, 4) })).toThrow(/scratch was made for ≤ 4 tokens/);
    expect(call({ scratch: createAttentionScratch(5, 8) })).toThrow(/head size 8/);
    expect(call({ headSize: 0 })).toThrow(/headSize/);
    expect(call({ mask: new Float32Array(4) })).toThrow(/mask has 4 entries/);
    const shared = new Float32Array(5 * 32);
    expect(call({ context: shared.subarray(0, 40), qkv: shared.subarray(20) })).toThrow(/overlaps/);
    expect(() => createAttentionScratch(0, 4)).toThrow(/maxLength/);
  });
});
