/**
 * Checks on the real all-MiniLM-L6-v2 weights. Not part of CI (it cannot download them): run
 * `npm run test:real` after putting the Hub's model.safetensors (pinned revision
 * 1110a243fdf4706b3f48f1d95db1a4f5529b4d41) in weights/all-MiniLM-L6-v2/.
 *
 * Expected values are published by others, not produced by this code: the first components of
 * "This is an example sentence" come from Transformers.js's model card for its export of the model.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSentenceEncoder } from '../src/node.ts';
import type { SentenceEncoder } from '../src/index.ts';

const MODEL_DIR = fileURLToPath(new URL('../weights/all-MiniLM-L6-v2/', import.meta.url));
const WEIGHTS = `${MODEL_DIR}model.safetensors`;
const EXPECTED_SIZE = 90_868_376;
const EXPECTED_SHA256 = '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db';

if (!existsSync(WEIGHTS)) {
  throw new Error(
    `test:real needs the real weights at ${WEIGHTS}\n` +
      'Download https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/1110a243fdf4706b3f48f1d95db1a4f5529b4d41/model.safetensors there ' +
      '(or run `npm start -- download --dir weights/all-MiniLM-L6-v2`).',
  );
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0); // unit vectors

describe('real all-MiniLM-L6-v2 weights', () => {
  let encoder: SentenceEncoder;
  beforeAll(async () => {
    encoder = await loadSentenceEncoder(MODEL_DIR);
  });

  it('is the pinned file (size and sha256)', async () => {
    expect(statSync(WEIGHTS).size).toBe(EXPECTED_SIZE);
    expect(await sha256File(WEIGHTS)).toBe(EXPECTED_SHA256);
  });

  it('embeds "This is an example sentence" to the published vector (first values, within 2e-3)', async () => {
    const [embedding] = await encoder.embed(['This is an example sentence']);
    const published = [0.0459, 0.0733, 0.054];
    console.log('first values:', Array.from(embedding!.subarray(0, 5), (v) => v.toFixed(4)).join(', '));
    for (let i = 0; i < published.length; i++) expect(Math.abs(embedding![i]! - published[i]!)).toBeLessThan(2e-3);
    const norm = Math.sqrt(embedding!.reduce((s, v) => s + v * v, 0));
    expect(Math.abs(norm - 1)).toBeLessThan(1e-6);
  });

  it('keeps semantic order: eating food is closer to eating bread than to riding a horse', async () => {
    const [food, bread, horse] = await encoder.embed([
      'A man is eating food.', 'A man is eating a piece of bread.', 'A man is riding a horse.',
    ]);
    const close = cosine(food!, bread!), far = cosine(food!, horse!);
    console.log(`cos(food, bread) = ${close.toFixed(4)}, cos(food, horse) = ${far.toFixed(4)}`);
    expect(close).toBeGreaterThan(far);
  });
});
