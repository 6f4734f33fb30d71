/**
 * Writes `src/tensor/simd/matmul-kernel.wasm.ts`: the SIMD matmul kernel assembled from its
 * TypeScript description in `src/tensor/simd/matmul-kernel.ts`. Run after changing the kernel or
 * the assembler:
 *
 *   npm run build:simd
 *
 * The output is deterministic; `test/tensor/simd-backend.test.ts` fails when the committed file
 * differs from what this script would write.
 */

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedKernelPath, renderGeneratedKernelFile } from '../src/tensor/simd/matmul-kernel.ts';

const repositoryRoot = new URL('../', import.meta.url);
const target = fileURLToPath(new URL(generatedKernelPath, repositoryRoot));
const text = renderGeneratedKernelFile();
writeFileSync(target, text);
console.log(`wrote ${generatedKernelPath} (${text.length} characters)`);
