/**
 * The checkpoint read straight into the SIMD backend's WebAssembly memory, for
 * `loadSentenceEncoder` with `backend: 'simd'` (or `'auto'` where SIMD compiles).
 *
 * The SIMD kernel for the linear layers reads the weights as the checkpoint stores them
 * (tensor/simd/matmul-rows-kernel.ts), and the backend uses any weight or bias that already lies
 * in its memory where it is. So the file is read into the memory, from byte 64 on (see
 * `fileOffsetInMemory` for where exactly, and why), and the backend allocates its workspace above it:
 *
 *   memory: [64-79 unused bytes][ model.safetensors … ][ block tables, bias slots, activations … ]
 *
 * Loading then copies nothing: the weights are held once (as with the JS backends), and no time
 * goes into moving 42 MB of linear weights into the memory. The memory is shared (a
 * SharedArrayBuffer underneath, always available in Node): growing it for the workspace never
 * detaches the model's views of the checkpoint, and workers use it as it is.
 *
 * The backend is created once the read has started, when the file's size is known: the memory is
 * made by `allocate`, called by the checkpoint reader with that size.
 */

import type { LinearBackend } from '../tensor/backend.ts';
import { resolveBackend, workerOptions, type BackendOptions } from '../model/backend-choice.ts';
import { fileOffsetInMemory, MAX_WASM_PAGES, memoryForFile } from './read-large-file.ts';
import { createSimdBackend, simdSupported } from '../tensor/simd/simd-backend.ts';
import { createThreadedSimdBackend } from '../tensor/threaded-backend.ts';

export interface SimdWeightMemory {
  /**
   * For the checkpoint reader: `size` zeroed bytes of a new shared memory, where the file goes,
   * placed so that its byte `alignedByte` (the first tensor's) is 16-byte aligned, and with it
   * every tensor whose size is a multiple of 16 bytes (all of BERT's float32 tensors). Measured:
   * weights 8 bytes off that alignment made single-sentence latency 20-45% slower.
   */
  allocate(size: number, alignedByte: number): Uint8Array;
  /** The SIMD backend over that memory (the usual choice where SIMD does not compile); settles after `allocate` was called. */
  backend: Promise<LinearBackend>;
}

/**
 * A SimdWeightMemory when the encoder may run on the SIMD backend (`backend` 'simd' or 'auto');
 * null otherwise. Whether SIMD compiles here is asked once the memory exists, and where it does
 * not, the backend is the usual choice's (JS for 'auto', a clear error for 'simd'), over weights
 * that then simply lie in a WebAssembly memory.
 */
export function simdWeightMemory(options: BackendOptions): SimdWeightMemory | null {
  const { backend = 'js', threads = 1 } = options;
  if (backend !== 'simd' && backend !== 'auto') return null;
  if (!Number.isInteger(threads) || threads < 1) return null; // reported by the usual backend choice
  if (typeof WebAssembly !== 'object') return null;

  let placeFile!: (placed: { memory: WebAssembly.Memory; firstFreeByte: number }) => void;
  const placed = new Promise<{ memory: WebAssembly.Memory; firstFreeByte: number }>((resolve) => (placeFile = resolve));
  const created = placed.then(async ({ memory, firstFreeByte }): Promise<LinearBackend> => {
    if (!simdSupported()) return resolveBackend(options);
    if (threads === 1) return createSimdBackend({ sharedMemory: true, memory, firstFreeByte });
    return createThreadedSimdBackend({ threads, memory, firstFreeByte, ...workerOptions(options) });
  });
  return {
    allocate(size: number, alignedByte: number): Uint8Array {
      let placed: ReturnType<typeof memoryForFile>;
      try {
        // A shared memory must declare a maximum: the wasm32 limit (address space only, it grows for the workspace).
        placed = memoryForFile(size, alignedByte, { shared: true, maximumPages: MAX_WASM_PAGES });
      } catch (error) {
        throw new Error(`could not create a WebAssembly memory of ${fileOffsetInMemory(alignedByte) + size} bytes for the weights: ${(error as Error).message}`);
      }
      placeFile({ memory: placed.memory, firstFreeByte: placed.end });
      return placed.bytes;
    },
    backend: created,
  };
}
