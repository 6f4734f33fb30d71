/**
 * The weight layout the SIMD matmul kernel reads: "panels" of 8 output features.
 *
 * Dimensions (as in `linear.ts`):
 *   inFeatures   K  length of each input vector
 *   outFeatures  N  length of each output vector
 *   panels       P  = ceil(N / 8), groups of 8 consecutive output features
 *
 * The checkpoint stores W as [N, K] (row n = the weights of output feature n). The kernel's inner
 * step, for one k, wants the 8 weights W[n0..n0+7, k] side by side so that two 16-byte loads give
 * two f32x4 vectors. So each panel is stored transposed, k-major:
 *
 *   packed[p, k, j] = W[8p + j, k]        packed: [P, K, 8]
 *
 * and the kernel walks one panel from start to end with a single pointer. When N is not a
 * multiple of 8, the last panel's missing features are zeros: the kernel computes them and then
 * does not store them. Left out: any blocking of K (the kernel streams whole rows; see
 * `matmul-kernel.ts` for why that is enough for K ≤ 1536).
 */

/** Output features per panel: two f32x4 vectors. */
export const featuresPerPanel = 8;

/** Number of panels for `outFeatures` output features. */
export function panelCount(outFeatures: number): number {
  return Math.ceil(outFeatures / featuresPerPanel);
}

/** Length in floats of the packed form of a [outFeatures, inFeatures] weight. */
export function packedWeightLength(outFeatures: number, inFeatures: number): number {
  return panelCount(outFeatures) * inFeatures * featuresPerPanel;
}

/**
 * Writes `weight` in panel order into `packed`, zero-filling the padding features.
 * Loop order: the writes go in order through `packed` (k-major within a panel), the reads take
 * 8 rows of `weight` side by side. Measured against walking one weight row at a time (reads in
 * order, writes 8 floats apart): 53 vs 109 ms for the model's 36 matrices in a fresh process,
 * which is most of the SIMD backend's load time; about equal once the JIT has warmed up.
 * @param packed  [P, K, 8]  written, at least `packedWeightLength(N, K)` long
 * @param weight  [N, K]     PyTorch `nn.Linear` layout
 */
export function packWeightPanels(
  packed: Float32Array,
  weight: Float32Array,
  outFeatures: number,
  inFeatures: number,
): void {
  const panels = panelCount(outFeatures);
  let out = 0; // next float of `packed`: packed[p, k, 0]
  for (let p = 0; p < panels; p++) {
    const firstFeature = p * featuresPerPanel;
    const realFeatures = Math.min(featuresPerPanel, outFeatures - firstFeature); // < 8 only in the last panel
    for (let k = 0; k < inFeatures; k++) {
      let at = firstFeature * inFeatures + k; // weight[firstFeature, k]
      for (let j = 0; j < realFeatures; j++, at += inFeatures) packed[out + j] = weight[at]!;
      for (let j = realFeatures; j < featuresPerPanel; j++) packed[out + j] = 0;
      out += featuresPerPanel;
    }
  }
}
