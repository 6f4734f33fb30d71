/**
 * GELU, the exact form BERT uses: gelu(x) = 0.5 · x · (1 + erf(x / √2)), and the erf and erfc
 * it needs.
 *
 * JavaScript has no Math.erf, so `erf` is written here. The popular one-line approximations
 * (Abramowitz–Stegun 7.1.26, error ~1e-7) are not enough: we want the function correct to
 * float64 rounding so that every remaining error in the model comes from float32 storage.
 *
 * Method (the classic one of Sun's fdlibm `s_erf.c`, re-derived here from its published
 * coefficients): split |x| into ranges and use a rational approximation in each:
 *   |x| < 0.84375        erf(x)  = x + x·R(x²)
 *   0.84375 ≤ |x| < 1.25  erf(x)  = erx + P(s)/Q(s),          s = |x| − 1
 *   1.25 ≤ |x| < 28      erfc(x) = exp(−x² − 0.5625 + R(1/x²)/S(1/x²)) / x
 *   |x| ≥ 6              erf(x)  = ±1 (to float64 precision); erfc(x) underflows from 28 on
 * erf and erfc share these pieces; each picks the form that avoids cancellation (erfc(x) for
 * x near 0 is 1 − erf(x), but for large x it must come from the tail formula directly).
 *
 * GELU uses erf where 1 + erf(t) is safe and the complement where it is not (t = x/√2):
 *   gelu(x) = 0.5 · x · (1 + erf(t))      t > −0.84375
 *           = 0.5 · x · erfc(−t)          t ≤ −0.84375
 * The two lines are the same function; the second avoids computing 1 + erf(t) as 1 − 0.99…9
 * when erf(t) is close to −1, which would leave few or no correct bits in gelu(−6) ≈ −6e−9.
 *
 * Plain and fast versions: `gelu(x)` is the plain one, the composition above with `erf` and
 * `erfc`. `geluInPlace`, the loop every backend runs over the 1536-wide feed-forward layer, is
 * the fast one: the same arithmetic, operation for operation, unfolded into one loop body that
 * calls only the small range helpers (`erfNearZeroRatio`, `erfNearOneRatio`, `erfcTail`), which
 * the engine inlines. Calling `gelu` per element cost more than the arithmetic: `erf` is too
 * large for V8 to inline, and every call that passes or returns a float64 boxes it into a heap
 * number. Unfolded, the loop runs without calls or allocations, about 1.5–3× faster; its float32
 * results are bit-identical to Math.fround(gelu(x)) (the tests sweep float32 inputs).
 *
 * The tanh approximation of GELU is a different function: it is not used.
 */

// Coefficients of the rational approximations, from fdlibm's s_erf.c (public domain).
// erf(x) on [0, 0.84375): x + x·pp(x²)/qq(x²)
const pp0 = 1.28379167095512558561e-1, pp1 = -3.25042107247001499370e-1, pp2 = -2.84817495755985104766e-2,
  pp3 = -5.77027029648944159157e-3, pp4 = -2.37630166566501626084e-5;
const qq1 = 3.97917223959155352819e-1, qq2 = 6.50222499887672944485e-2, qq3 = 5.08130628187576562776e-3,
  qq4 = 1.32494738004321644526e-4, qq5 = -3.96022827877536812320e-6;
// erf(x) on [0.84375, 1.25): erx + pa(s)/qa(s), s = x − 1; erx = erf(1) rounded to float32 precision
const erx = 8.45062911510467529297e-1;
const pa0 = -2.36211856075265944077e-3, pa1 = 4.14856118683748331666e-1, pa2 = -3.72207876035701323847e-1,
  pa3 = 3.18346619901161753674e-1, pa4 = -1.10894694282396677476e-1, pa5 = 3.54783043256182359371e-2,
  pa6 = -2.16637559486879084300e-3;
const qa1 = 1.06420880400844228286e-1, qa2 = 5.40397917702171048937e-1, qa3 = 7.18286544141962662868e-2,
  qa4 = 1.26171219808761642112e-1, qa5 = 1.36370839120290507362e-2, qa6 = 1.19844998467991074170e-2;
// erfc(x) on [1.25, 1/0.35): exp(−x² − 0.5625 + ra(1/x²)/sa(1/x²)) / x
const ra0 = -9.86494403484714822705e-3, ra1 = -6.93858572707181764372e-1, ra2 = -1.05586262253232909814e1,
  ra3 = -6.23753324503260060396e1, ra4 = -1.62396669462573470355e2, ra5 = -1.84605092906711035994e2,
  ra6 = -8.12874355063065934246e1, ra7 = -9.81432934416914548592;
const sa1 = 1.96512716674392571292e1, sa2 = 1.37657754143519042600e2, sa3 = 4.34565877475229228821e2,
  sa4 = 6.45387271733267880336e2, sa5 = 4.29008140027567833386e2, sa6 = 1.08635005541779435134e2,
  sa7 = 6.57024977031928170135, sa8 = -6.04244152148580987438e-2;
// erfc(x) on [1/0.35, 28): same form with rb/sb
const rb0 = -9.86494292470009928597e-3, rb1 = -7.99283237680523006574e-1, rb2 = -1.77579549177547519889e1,
  rb3 = -1.60636384855821916062e2, rb4 = -6.37566443368389627722e2, rb5 = -1.02509513161107724954e3,
  rb6 = -4.83519191608651397019e2;
const sb1 = 3.03380607434824582924e1, sb2 = 3.25792512996573918826e2, sb3 = 1.53672958608443695994e3,
  sb4 = 3.19985821950859553908e3, sb5 = 2.55305040643316442583e3, sb6 = 4.74528541206955367215e2,
  sb7 = -2.24409524465858183362e1;

// Range boundaries (of |x| for erf and erfc, of |x/√2| for gelu).
const NEAR_ZERO_END = 0.84375;
const NEAR_ONE_END = 1.25;
const ERF_IS_ONE = 6; // 1 − erf(6) < 2.2e-17: below float64's resolution at 1
const ERFC_UNDERFLOWS = 28; // erfc(28) < 1e-342: below the smallest float64

/** pp(z)/qq(z), z = x²: erf(x) = x + x·ratio on |x| < 0.84375. */
function erfNearZeroRatio(z: number): number {
  const r = pp0 + z * (pp1 + z * (pp2 + z * (pp3 + z * pp4)));
  const s = 1 + z * (qq1 + z * (qq2 + z * (qq3 + z * (qq4 + z * qq5))));
  return r / s;
}

/** pa(s)/qa(s), s = |x| − 1: erf(|x|) = erx + ratio on 0.84375 ≤ |x| < 1.25. */
function erfNearOneRatio(s: number): number {
  const p = pa0 + s * (pa1 + s * (pa2 + s * (pa3 + s * (pa4 + s * (pa5 + s * pa6)))));
  const q = 1 + s * (qa1 + s * (qa2 + s * (qa3 + s * (qa4 + s * (qa5 + s * qa6)))));
  return p / q;
}

/** R(s)/S(s), s = 1/ax²: erfc(ax) = exp(−ax² − 0.5625 + ratio) / ax on 1.25 ≤ ax < 28. */
function erfcTailRatio(ax: number): number {
  const s = 1 / (ax * ax);
  if (ax < 1 / 0.35) {
    const r = ra0 + s * (ra1 + s * (ra2 + s * (ra3 + s * (ra4 + s * (ra5 + s * (ra6 + s * ra7))))));
    const q = 1 + s * (sa1 + s * (sa2 + s * (sa3 + s * (sa4 + s * (sa5 + s * (sa6 + s * (sa7 + s * sa8)))))));
    return r / q;
  }
  const r = rb0 + s * (rb1 + s * (rb2 + s * (rb3 + s * (rb4 + s * (rb5 + s * rb6)))));
  const q = 1 + s * (sb1 + s * (sb2 + s * (sb3 + s * (sb4 + s * (sb5 + s * (sb6 + s * sb7))))));
  return r / q;
}

/** erfc(ax) for 1.25 ≤ ax < 28, computed directly (no 1 − erf cancellation). */
function erfcTail(ax: number): number {
  // z = ax with its low 32 bits of mantissa cleared (fdlibm's SET_LOW_WORD(z, 0)), so z² is
  // exact: exp(−ax² − …) = exp(−z² − 0.5625) · exp((z − ax)(z + ax) + R/S) keeps full accuracy.
  // Clearing those bits keeps the 21 leading significant bits: floor(ax · 2^(20−e)) / 2^(20−e)
  // with 2^e ≤ ax < 2^(e+1), done with arithmetic rather than a round trip through memory.
  const scale = ax < 2 ? 1048576 : ax < 4 ? 524288 : ax < 8 ? 262144 : ax < 16 ? 131072 : 65536; // 2^(20−e)
  const z = Math.floor(ax * scale) / scale;
  return (Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + erfcTailRatio(ax))) / ax;
}

/** The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt, accurate to about 1 ulp of float64. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < NEAR_ZERO_END) return x + x * erfNearZeroRatio(x * x);
  if (ax < NEAR_ONE_END) {
    const e = erx + erfNearOneRatio(ax - 1);
    return x < 0 ? -e : e;
  }
  if (ax < ERF_IS_ONE) {
    const e = 1 - erfcTail(ax);
    return x < 0 ? -e : e;
  }
  if (ax >= ERF_IS_ONE) return x < 0 ? -1 : 1;
  return NaN; // only NaN fails every comparison above
}

/**
 * The complementary error function erfc(x) = 1 − erf(x), accurate to about 1 ulp of float64 of
 * its own value even where that is tiny (until it underflows, near x = 27).
 */
export function erfc(x: number): number {
  const ax = Math.abs(x);
  if (ax < NEAR_ZERO_END) {
    const y = erfNearZeroRatio(x * x);
    // fdlibm: below 1/4, 1 − erf(x) directly; above, 0.5 − (x·y + (x − 0.5)), x − 0.5 being exact.
    return x < 0.25 ? 1 - (x + x * y) : 0.5 - (x * y + (x - 0.5));
  }
  if (ax < NEAR_ONE_END) {
    const ratio = erfNearOneRatio(ax - 1);
    return x < 0 ? 1 + (erx + ratio) : (1 - erx) - ratio;
  }
  if (ax < ERFC_UNDERFLOWS) {
    const c = erfcTail(ax);
    return x < 0 ? 2 - c : c;
  }
  if (ax >= ERFC_UNDERFLOWS) return x < 0 ? 2 : 0;
  return NaN;
}

/**
 * gelu(x) = 0.5 · x · (1 + erf(x / √2)), the exact GELU of BERT (not the tanh approximation),
 * accurate to a few ulp of float64 relative to the result, for every x. The plain version;
 * `geluInPlace` below is the same arithmetic, inlined.
 */
export function gelu(x: number): number {
  const t = x * Math.SQRT1_2;
  // While erf(t) > −0.77, 1 + erf(t) loses at most two bits; below, erfc(−t) keeps them all.
  if (t > -NEAR_ZERO_END) return 0.5 * x * (1 + erf(t));
  if (x === -Infinity) return -0; // the limit; 0.5 · x · erfc(∞) would be −∞ · 0 = NaN
  return 0.5 * x * erfc(-t); // NaN for NaN
}

/**
 * Applies gelu to the first `length` elements of `data`, in place (each result rounded to
 * float32). The hot loop of the feed-forward layer.
 *
 * Fast path: the loop body is `gelu` with `erf` and `erfc` unfolded into the range tests, so
 * that only the small range helpers are called, and the engine inlines those. The arithmetic is
 * the same, operation for operation: every result is bit-identical to Math.fround(gelu(x)) (the
 * tests check this over a dense sweep of float32 inputs). Why: calling `gelu` per element cost
 * more than its arithmetic. V8 inlines only small functions (`erf` and `erfc` are too big), and
 * every call that passes or returns a float64 boxes it into a heap number.
 */
export function geluInPlace(data: Float32Array, length: number = data.length): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > data.length) {
    throw new RangeError(`geluInPlace: length ${length} is not an integer in [0, ${data.length}]`);
  }
  for (let i = 0; i < length; i++) {
    const x = data[i];
    const t = x * Math.SQRT1_2; // gelu(x) = 0.5·x·(1 + erf(t)) = 0.5·x·erfc(−t)
    const at = Math.abs(t);
    let y: number; // gelu(x)
    if (at < NEAR_ZERO_END) {
      y = 0.5 * x * (1 + (t + t * erfNearZeroRatio(t * t))); // erf(t) = t + t·ratio
    } else if (at < NEAR_ONE_END) {
      const ratio = erfNearOneRatio(at - 1);
      y = x >= 0 ? 0.5 * x * (1 + (erx + ratio)) : 0.5 * x * ((1 - erx) - ratio); // erf(t) or erfc(−t)
    } else if (x >= 0 ? at < ERF_IS_ONE : at < ERFC_UNDERFLOWS) {
      const tail = erfcTail(at); // erfc(|t|)
      y = x >= 0 ? 0.5 * x * (1 + (1 - tail)) : 0.5 * x * tail; // erf(t) = 1 − erfc(t), or erfc(−t)
    } else {
      y = x >= 0 ? x : x < 0 ? -0 : NaN; // erf(t) = 1, or erfc(−t) = 0, or x is NaN
    }
    data[i] = y;
  }
}
