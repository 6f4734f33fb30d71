/**
 * The checkpoint read straight into the SIMD backend's WebAssembly memory, for
 * `loadSentenceEncoder` with `backend: 'simd'` (or `'auto'` where SIMD compiles).
 *
 * The SIMD kernel for the linear layers reads the weights as the checkpoint stores them
 * (tensor/simd/matmul-rows-kernel.ts), and the backend uses any weight or bias that already lies
 * in its memory where it is. So the file is read into the memory, from byte 16 on (address 0
 * stays unused), and the backend allocates its workspace above it:
 *
 *   memory: [16-31 unused bytes][ model.safetensors … ][ block tables, bias slots, activations … ]
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
import { workerOptions, type BackendOptions } from '../model/backend-choice.ts';

/** The file starts at this address or up to 15 bytes later (address 0 never names a buffer). */
const MIN_FILE_ADDRESS = 16;
const PAGE_BYTES = 65536;
/** A shared memory must declare a maximum: the wasm32 limit, 4 GiB (address space only). */
const MAXIMUM_PAGES = 65536;

export interface SimdWeightMemory {
  /**
   * For the checkpoint reader: `size` zeroed bytes of a new shared memory, where the file goes,
   * placed so that its byte `alignedByte` (the first tensor's) is 16-byte aligned, and with it
   * every tensor whose size is a multiple of 16 bytes (all of BERT's float32 tensors). Measured:
   * weights 8 bytes off that alignment made single-sentence latency 20-45% slower.
   */
  allocate(size: number, alignedByte: number): Uint8Array;
  /** The SIMD backend over that memory; settles after `allocate` was called. */
  backend: Promise<LinearBackend>;
}

/**
 * A SimdWeightMemory when the encoder will run on the SIMD backend (`backend` 'simd', or 'auto'
 * where SIMD compiles); null otherwise, including 'simd' where it cannot compile (the encoder's
 * usual backend choice then reports that).
 */
export async function simdWeightMemory(options: BackendOptions): Promise<SimdWeightMemory | null> {
  const { backend = 'js', threads = 1 } = options;
  if (backend !== 'simd' && backend !== 'auto') return null;
  if (!Number.isInteger(threads) || threads < 1) return null; // reported by the usual backend choice
  const simd = await import('../tensor/simd/simd-backend.ts');
  if (!simd.simdSupported()) return null;

  let placeFile!: (placed: { memory: WebAssembly.Memory; firstFreeByte: number }) => void;
  const placed = new Promise<{ memory: WebAssembly.Memory; firstFreeByte: number }>((resolve) => (placeFile = resolve));
  const created = placed.then(async ({ memory, firstFreeByte }): Promise<LinearBackend> => {
    if (threads === 1) return simd.createSimdBackend({ sharedMemory: true, memory, firstFreeByte });
    const { createThreadedSimdBackend } = await import('../tensor/threaded-backend.ts');
    return createThreadedSimdBackend({ threads, memory, firstFreeByte, ...workerOptions(options) });
  });
  return {
    allocate(size: number, alignedByte: number): Uint8Array {
      const fileAddress = MIN_FILE_ADDRESS + ((16 - (alignedByte % 16)) % 16);
      const firstFreeByte = fileAddress + size;
      let memory: WebAssembly.Memory;
      try {
        memory = new WebAssembly.Memory({ initial: Math.ceil(firstFreeByte / PAGE_BYTES), maximum: MAXIMUM_PAGES, shared: true });
      } catch (error) {
        throw new Error(`could not create a WebAssembly memory of ${firstFreeByte} bytes for the weights: ${(error as Error).message}`);
      }
      placeFile({ memory, firstFreeByte });
      return new Uint8Array(memory.buffer, fileAddress, size);
    },
    backend: created,
  };
}
