/**
 * The few parts of the peers' APIs the runners use, written out so the bench type-checks
 * without the peers installed (they live in `bench/peers/node_modules`, outside the root
 * install). onnxruntime-node and onnxruntime-web share the onnxruntime-common API.
 */

export interface OrtTensor {
  readonly dims: readonly number[];
  readonly type: string;
  readonly data: unknown;
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface OrtSessionOptions {
  executionProviders?: string[];
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface OrtModule {
  InferenceSession: { create(path: string, options?: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: readonly number[]) => OrtTensor;
  env: {
    versions?: Record<string, string>;
    wasm?: { numThreads?: number; simd?: boolean; proxy?: boolean };
  };
}

/** Transformers.js: `pipeline('feature-extraction', ...)` and its settings. */
export interface TransformersTensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export type FeatureExtractor = ((
  texts: string[],
  options: { pooling: 'mean'; normalize: boolean },
) => Promise<TransformersTensor>) & {
  tokenizer: (texts: string[], options: { padding: boolean; truncation: boolean }) => { input_ids: { dims: readonly number[]; data: BigInt64Array } };
  dispose(): Promise<void>;
};

export interface TransformersModule {
  pipeline(
    task: 'feature-extraction',
    model: string,
    options: { dtype: 'fp32'; device?: string; session_options?: OrtSessionOptions; local_files_only?: boolean },
  ): Promise<FeatureExtractor>;
  env: { version: string; allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string; useFSCache?: boolean; useBrowserCache?: boolean };
}
