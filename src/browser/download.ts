/**
 * Downloading a file with progress, and keeping it in the browser's Cache Storage.
 *
 * `downloadBytes` reads a fetch Response body chunk by chunk into one buffer, calling back with
 * the byte count as it goes. When the server sends Content-Length the buffer is allocated once at
 * that size, so a 90 MB checkpoint is held once, not once in chunks and again when joined.
 *
 * `WeightsCache` is a thin layer over the Cache Storage API (`caches`), which exists in windows
 * and workers of secure contexts (https, or http on localhost). Without it every method does
 * nothing and says so; a page works the same, it only downloads again.
 *
 * Uses only web platform APIs (fetch, ReadableStream, Response, CacheStorage), so it also runs in
 * Deno and in service workers. Left out: resuming an interrupted download (Range requests) and
 * integrity checks beyond the byte count (the safetensors parser validates the content).
 */

/** The Cache Storage bucket that holds downloaded weights. */
export const WEIGHTS_CACHE_NAME = 'minilm-ts-weights-v1';

export class DownloadError extends Error {
  override name = 'DownloadError';
}

/** Called as bytes arrive: bytes so far, and the expected total when the server said it. */
export type ByteProgress = (loaded: number, total: number | null) => void;

/**
 * Fetches `url` and returns its body as bytes, reporting progress. Throws DownloadError with the
 * URL and the status on an HTTP error, and when the body is shorter than its Content-Length.
 */
export async function downloadBytes(url: string, onProgress?: ByteProgress, fetchImpl: typeof fetch = fetch): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchImpl(url);
  } catch (error) {
    throw new DownloadError(`cannot download ${url}: ${(error as Error).message} (offline, blocked by CORS, or a wrong address?)`);
  }
  if (!response.ok) throw new DownloadError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  return readBody(response, url, onProgress);
}

/** Reads a Response body into one Uint8Array, calling `onProgress` as chunks arrive. */
export async function readBody(response: Response, url: string, onProgress?: ByteProgress): Promise<Uint8Array> {
  const total = declaredLength(response);
  if (response.body === null) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.(bytes.length, bytes.length);
    return bytes;
  }
  // Preallocate when the size is known; otherwise (or if the server sent more than it said,
  // e.g. a compressed Content-Length) grow by doubling.
  let buffer = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  const reader = response.body.getReader();
  onProgress?.(0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > buffer.length) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, loaded + value.length));
      grown.set(buffer.subarray(0, loaded));
      buffer = grown;
    }
    buffer.set(value, loaded);
    loaded += value.length;
    onProgress?.(loaded, total);
  }
  if (total !== null && loaded < total) {
    throw new DownloadError(`download of ${url} ended after ${loaded} of ${total} bytes`);
  }
  return loaded === buffer.length ? buffer : buffer.slice(0, loaded);
}

/** The Content-Length of an uncompressed response, or null when absent or meaningless. */
function declaredLength(response: Response): number | null {
  // With Content-Encoding, Content-Length counts compressed bytes, not what the body yields.
  if (response.headers.get('content-encoding')) return null;
  const header = response.headers.get('content-length');
  if (header === null) return null;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : null;
}

/** Downloaded weights kept across visits, keyed by URL. */
export class WeightsCache {
  private constructor(private readonly cache: Cache | null) {}

  /** Opens the cache; one that does nothing when this context has no Cache Storage. */
  static async open(name: string = WEIGHTS_CACHE_NAME): Promise<WeightsCache> {
    if (typeof caches === 'undefined') return new WeightsCache(null);
    try {
      return new WeightsCache(await caches.open(name));
    } catch {
      return new WeightsCache(null); // e.g. storage disabled by the browser's privacy settings
    }
  }

  get available(): boolean {
    return this.cache !== null;
  }

  /** The cached bytes of `url`, or null. */
  async read(url: string, onProgress?: ByteProgress): Promise<Uint8Array | null> {
    const response = await this.cache?.match(url);
    if (response === undefined) return null;
    return readBody(response, url, onProgress);
  }

  /** Byte size of the cached copy of `url`, or null when there is none. */
  async size(url: string): Promise<number | null> {
    const response = await this.cache?.match(url);
    if (response === undefined) return null;
    const length = Number(response.headers.get('content-length'));
    return Number.isSafeInteger(length) ? length : null;
  }

  /** Stores `bytes` as the content of `url`. Resolves to why not, or null on success. */
  async store(url: string, bytes: Uint8Array): Promise<string | null> {
    if (this.cache === null) return 'this page has no Cache Storage (not a secure context?)';
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) };
    try {
      // The Response takes a copy-free view; Cache Storage writes it to disk.
      await this.cache.put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
      return null;
    } catch (error) {
      return `could not store in Cache Storage: ${(error as Error).message}`; // quota, or a non-http URL
    }
  }

  async delete(url: string): Promise<boolean> {
    return (await this.cache?.delete(url)) ?? false;
  }
}
