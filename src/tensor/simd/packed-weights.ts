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
  for (let p = 0; p < panels; p++) {
    const panelStart = p * inFeatures * featuresPerPanel;
    for (let j = 0; j < featuresPerPanel; j++) {
      const n = p * featuresPerPanel + j;
      if (n >= outFeatures) {
        for (let k = 0; k < inFeatures; k++) packed[panelStart + k * featuresPerPanel + j] = 0;
        continue;
      }
      const weightRow = n * inFeatures;
      for (let k = 0; k < inFeatures; k++) packed[panelStart + k * featuresPerPanel + j] = weight[weightRow + k]!;
    }
  }
}
