/**
 * The manifest of known models (weights/manifest.json): for each Hub model id, a pinned revision
 * and the size and sha256 of every file the loader downloads at that revision.
 *
 *   { "version": 1,
 *     "models": { "sentence-transformers/all-MiniLM-L6-v2": {
 *         "revision": "1110a243…",
 *         "files": { "model.safetensors": { "size": 90868376, "sha256": "53aa5117…" }, … } } } }
 *
 * A known model downloads at its pinned revision and every file is checked; others download at
 * 'main' with no hash to check against. Tests inject their own manifest.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HubError } from './errors.ts';

export interface ManifestFile {
  size: number;
  sha256: string;
}

export interface ManifestModel {
  revision: string;
  /** Path in the repository → expected size and sha256. */
  files: Record<string, ManifestFile>;
}

export interface Manifest {
  models: Record<string, ManifestModel>;
}

export const MANIFEST_PATH = fileURLToPath(new URL('../../../weights/manifest.json', import.meta.url));

let shipped: Manifest | null = null;

/** The manifest shipped with the package (read once). */
export function defaultManifest(): Manifest {
  if (shipped === null) {
    let text: string;
    try {
      text = readFileSync(MANIFEST_PATH, 'utf8');
    } catch (error) {
      throw new HubError(`cannot read the model manifest ${MANIFEST_PATH}: ${(error as Error).message}`);
    }
    shipped = parseManifest(JSON.parse(text) as unknown, MANIFEST_PATH);
  }
  return shipped;
}

/** Checks the shape of a manifest object (every size an integer, every sha256 64 hex digits). */
export function parseManifest(value: unknown, where = 'manifest'): Manifest {
  const models = (value as { models?: unknown } | null)?.models;
  if (typeof models !== 'object' || models === null) throw new HubError(`${where}: expected { "models": { … } }`);
  for (const [id, model] of Object.entries(models as Record<string, unknown>)) {
    const { revision, files } = (model ?? {}) as { revision?: unknown; files?: unknown };
    if (typeof revision !== 'string' || typeof files !== 'object' || files === null) {
      throw new HubError(`${where}: model "${id}" needs a "revision" string and a "files" object`);
    }
    for (const [file, entry] of Object.entries(files as Record<string, unknown>)) {
      const { size, sha256 } = (entry ?? {}) as { size?: unknown; sha256?: unknown };
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
        throw new HubError(`${where}: "${id}" file "${file}" needs an integer "size" and a 64-hex-digit "sha256"`);
      }
    }
  }
  return value as Manifest;
}
