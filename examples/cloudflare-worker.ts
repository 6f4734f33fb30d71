/**
 * Sentence embeddings from a Cloudflare Worker, with the model kept in an R2 bucket.
 *
 *   POST /            {"texts": ["first sentence", "second"]}
 *   → 200             {"model": "all-MiniLM-L6-v2", "dimension": 384, "embeddings": [[...], [...]]}
 *
 * Set-up (wrangler.toml binds the bucket as MODEL):
 *
 *   [[r2_buckets]]
 *   binding = "MODEL"
 *   bucket_name = "minilm"
 *
 *   npx wrangler r2 object put minilm/all-MiniLM-L6-v2/model.safetensors --file model.safetensors
 *   npx wrangler r2 object put minilm/all-MiniLM-L6-v2/config.json --file config.json
 *   npx wrangler r2 object put minilm/all-MiniLM-L6-v2/vocab.txt --file vocab.txt
 *
 * The engine needs nothing of the platform: no file system, no eval, no WebAssembly, no
 * SharedArrayBuffer. It takes the weights as bytes (an ArrayBuffer from R2 here; from KV, a
 * fetch, or a bundled asset elsewhere) and builds the model once per isolate; later requests
 * reuse it. See docs/runtimes.md for memory and CPU limits.
 *
 * In your own project import from 'minilm-ts'; this file imports the source so that the
 * repository's tests can run it.
 */

import { SentenceEncoder } from '../src/index.ts';

/** The two members of Cloudflare's R2 types used here (the full ones are in @cloudflare/workers-types). */
interface R2ObjectBody {
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}
interface R2Bucket {
  get(key: string): Promise<R2ObjectBody | null>;
}

export interface Env {
  MODEL: R2Bucket;
  /** Folder of the model files in the bucket. Default "all-MiniLM-L6-v2/". */
  MODEL_PREFIX?: string;
}

/** Most texts per request: one request should not hold the isolate's CPU for long. */
const MAX_TEXTS = 64;

/** The encoder of this isolate, built by the first request and shared by the following ones. */
let encoder: Promise<SentenceEncoder> | null = null;

async function loadEncoder(env: Env): Promise<SentenceEncoder> {
  const prefix = env.MODEL_PREFIX ?? 'all-MiniLM-L6-v2/';
  const get = async (name: string): Promise<R2ObjectBody> => {
    const object = await env.MODEL.get(prefix + name);
    if (object === null) throw new Error(`the R2 bucket bound as MODEL has no ${prefix}${name}`);
    return object;
  };
  const [weights, config, vocab] = await Promise.all([
    get('model.safetensors').then((object) => object.arrayBuffer()),
    get('config.json').then((object) => object.text()),
    get('vocab.txt').then((object) => object.text()),
  ]);
  // The ArrayBuffer is used in place: the weight tensors are views into it, not copies.
  return SentenceEncoder.fromParts({ config, weights, vocab });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method !== 'POST') return json({ error: 'POST {"texts": ["..."]} to get sentence embeddings' }, 405);
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return json({ error: 'the body must be JSON: {"texts": ["..."]}' }, 400);
    }
    const texts = (body as { texts?: unknown } | null)?.texts;
    if (!Array.isArray(texts) || !texts.every((text) => typeof text === 'string')) {
      return json({ error: '"texts" must be an array of strings' }, 400);
    }
    if (texts.length > MAX_TEXTS) return json({ error: `at most ${MAX_TEXTS} texts per request, got ${texts.length}` }, 413);

    // A failed load (missing object, bad file) is not cached: the next request tries again.
    encoder ??= loadEncoder(env).catch((error: unknown) => {
      encoder = null;
      throw error;
    });
    let model: SentenceEncoder;
    try {
      model = await encoder;
    } catch (error) {
      return json({ error: `model not available: ${(error as Error).message}` }, 503);
    }
    const rows = await model.embed(texts as string[]);
    return json({ model: 'all-MiniLM-L6-v2', dimension: model.dimension, embeddings: rows.map((row) => Array.from(row)) });
  },
};
